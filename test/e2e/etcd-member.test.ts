/**
 * A removed control plane's etcd member, for real: a 3-member etcd cluster with TLS on 127.0.0.1
 * (distinct ports; kubeadm's pki layout under K8SP_ROOT, the client being kubeadm's healthcheck
 * certificate as on a control plane), the program's scripts/etcd-member.sh run against it as the
 * bootstrap control plane runs it when a control plane leaves `nodes` (components/clusterMember.ts).
 * One member stopped stands for a host that died: its removal must leave `etcdctl member list`
 * without it and the cluster healthy; a second run changes nothing; a member of a control plane
 * still in config is never removed; a removal that would lose quorum is refused before anything
 * changes. Built like test/e2e/etcd-backup.test.ts, per pairing of the etcd a minor's kubeadm runs
 * with the etcdctl the program installs for it (1.35: both v3.6.6; 1.37: etcd v3.7.0 with etcdctl
 * v3.6.14), their binaries linked under their plain names on a PATH of their own.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ETCD_TOOLS, KUBEADM_IMAGES } from "../../config/versions";
import { assertPairingVersions, ETCD_PAIRINGS, EtcdPairing, makeEtcdPki, pairingBin, skipForPairing } from "./etcdPairings";
import { freePort } from "./tools";

const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "etcd-member.sh");
const NAMES = ["cp1", "cp2", "cp3"] as const;
type Name = (typeof NAMES)[number];

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
    const r = spawnSync(cmd, args, { encoding: "utf8", env, cwd, timeout: 120_000 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

interface Member {
    readonly name: Name;
    readonly clientPort: number;
    readonly peerPort: number;
    child?: ChildProcess;
}

for (const p of ETCD_PAIRINGS) {
    const skip = skipForPairing(p);
    describe(`a removed control plane's etcd member on ${p.minor}: scripts/etcd-member.sh against a real 3-member etcd ${KUBEADM_IMAGES[p.minor].etcd}, etcdctl ${ETCD_TOOLS[p.minor].version}`, { skip }, () => suite(p));
}

function suite(p: EtcdPairing): void {
    let root = "";
    let bin = "";
    /** The pairing's binaries first on PATH, under the names the script and this test call. */
    const env = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${bin}:${process.env.PATH}` });
    const members: Record<string, Member> = {};
    const pki = () => path.join(root, "etc/kubernetes/pki/etcd");
    const url = (port: number) => `https://127.0.0.1:${port}`;

    function start(m: Member, cluster: string): void {
        const log = fs.openSync(path.join(root, `${m.name}.log`), "a");
        m.child = spawn(
            "etcd",
            [
                "--name", m.name, "--data-dir", path.join(root, `data-${m.name}`),
                "--listen-client-urls", url(m.clientPort), "--advertise-client-urls", url(m.clientPort),
                "--listen-peer-urls", url(m.peerPort), "--initial-advertise-peer-urls", url(m.peerPort),
                "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", "e2e-etcd-member",
                "--client-cert-auth", "--trusted-ca-file", `${pki()}/ca.crt`,
                "--cert-file", `${pki()}/server.crt`, "--key-file", `${pki()}/server.key`,
                "--peer-client-cert-auth", "--peer-trusted-ca-file", `${pki()}/ca.crt`,
                "--peer-cert-file", `${pki()}/server.crt`, "--peer-key-file", `${pki()}/server.key`,
                "--listen-metrics-urls", "",
            ],
            { stdio: ["ignore", log, log], env: env() },
        );
        fs.closeSync(log);
    }

    async function stop(m: Member): Promise<void> {
        const child = m.child;
        if (child && child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((r) => child.once("exit", r));
            // A host that died: no graceful leave.
            child.kill("SIGKILL");
            await exited;
        }
        m.child = undefined;
    }

    /** etcdctl as the bootstrap control plane (cp1) runs it, with kubeadm's healthcheck client. */
    function ctl(args: string[], endpoint = url(members.cp1.clientPort)) {
        return sh("etcdctl", [`--endpoints=${endpoint}`, `--cacert=${pki()}/ca.crt`, `--cert=${pki()}/healthcheck-client.crt`, `--key=${pki()}/healthcheck-client.key`, ...args], env());
    }

    /** The member names `etcdctl member list` shows, sorted. */
    function listed(): string[] {
        const out = ctl(["member", "list", "-w", "simple"]);
        assert.equal(out.status, 0, out.stderr);
        return out.stdout.trim().split("\n").map((l) => l.split(", ")[2]).sort();
    }

    /** The removal step's script, run on cp1 (K8SP_ROOT) about `node` with its peer port. */
    function step(action: "check-removal" | "remove", node: string, peerPort: number, keep: string[]) {
        return sh("bash", [SCRIPT], {
            ...env(),
            K8SP_ROOT: root,
            ACTION: action,
            NODE_NAME: node,
            NODE_IP: "127.0.0.1",
            ETCD_PEER_PORT: String(peerPort),
            KEEP_MEMBERS: keep.join(" "),
            ETCD_ENDPOINT: url(members.cp1.clientPort),
        });
    }

    before(async () => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-etcd-member-"));
        bin = pairingBin(p);
        assertPairingVersions(p, bin);
        makeEtcdPki(pki(), "etcd");
        for (const name of NAMES) {
            members[name] = { name, clientPort: await freePort(), peerPort: await freePort() };
        }
        const cluster = NAMES.map((n) => `${n}=${url(members[n].peerPort)}`).join(",");
        for (const name of NAMES) {
            start(members[name], cluster);
        }
        const deadline = Date.now() + 60_000;
        while (ctl(["endpoint", "health", "--cluster"]).status !== 0) {
            if (Date.now() > deadline) {
                throw new Error(`etcd cluster not healthy in 60 s:\n${NAMES.map((n) => fs.readFileSync(path.join(root, `${n}.log`), "utf8").slice(-1500)).join("\n")}`);
            }
            await new Promise((r) => setTimeout(r, 500));
        }
        assert.deepEqual(listed(), ["cp1", "cp2", "cp3"]);
    });
    after(async () => {
        for (const m of Object.values(members)) {
            await stop(m);
        }
        for (const dir of [root, bin]) {
            if (dir) {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
    });

    it("never removes the member of a control plane still in config: by name, or by its peer URL under another node's name", () => {
        const named = step("remove", "cp2", members.cp2.peerPort, ["cp1", "cp2", "cp3"]);
        assert.notEqual(named.status, 0);
        assert.match(named.stderr, /cp2 is still a control plane in config \(KEEP_MEMBERS\): its etcd member is not removed/);
        // A removed node whose IP (peer URL) a configured control plane now has: that member stays.
        const reused = step("remove", "cp9", members.cp2.peerPort, ["cp1", "cp2", "cp3"]);
        assert.equal(reused.status, 0, reused.stderr);
        assert.match(reused.stderr, /cp9 \(https:\/\/127\.0\.0\.1:\d+\) is not an etcd member: nothing to do/);
        assert.deepEqual(listed(), ["cp1", "cp2", "cp3"]);
    });

    it("a member unknown to etcd (never joined, or already gone): nothing to do, success", async () => {
        const unknown = step("remove", "cp4", await freePort(), ["cp1", "cp2", "cp3"]);
        assert.equal(unknown.status, 0, unknown.stderr);
        assert.match(unknown.stderr, /cp4 .* is not an etcd member: nothing to do/);
        assert.deepEqual(listed(), ["cp1", "cp2", "cp3"]);
    });

    // kubeadm join adds the new control plane's member as a learner before it starts etcd
    // (cmd/kubeadm/app/phases/etcd/local.go CreateStackedEtcdStaticPodManifestFile, v1.35.4:
    // AddMemberAsLearner, then the manifest, then MemberPromote): a join stopped in between leaves
    // an unstarted learner with no name, which the step found before the join
    // (components/clusterMember.ts, -etcd-member-leftover) removes when that node leaves config.
    it("a join stopped after kubeadm added its learner (unstarted, no name yet): removed by its peer URL, which lets the next learner in", async () => {
        const peer = await freePort();
        // etcd refuses a reconfiguration until every member has been connected for its health
        // interval (5 s, server/etcdserver/server.go mayAddMember → "unhealthy cluster"): the
        // cluster has just started.
        let added = ctl(["member", "add", "cp4", "--learner", `--peer-urls=${url(peer)}`]);
        for (const deadline = Date.now() + 30_000; added.status !== 0 && /unhealthy cluster/.test(added.stderr) && Date.now() < deadline; ) {
            await new Promise((r) => setTimeout(r, 500));
            added = ctl(["member", "add", "cp4", "--learner", `--peer-urls=${url(peer)}`]);
        }
        assert.equal(added.status, 0, added.stderr);
        assert.deepEqual(listed(), ["", "cp1", "cp2", "cp3"], "listed unstarted, without a name");
        // One learner at a time (etcd's --max-learners, default 1: server/etcdserver/api/membership
        // cluster_opts.go DefaultMaxLearners): while it is listed, every later control-plane join fails.
        const next = ctl(["member", "add", "cp5", "--learner", `--peer-urls=${url(await freePort())}`]);
        assert.notEqual(next.status, 0);
        assert.match(next.stderr, /too many learner members in cluster/);
        const removed = step("remove", "cp4", peer, ["cp1", "cp2", "cp3"]);
        assert.equal(removed.status, 0, removed.stderr);
        assert.deepEqual(listed(), ["cp1", "cp2", "cp3"]);
        assert.equal(ctl(["endpoint", "health", "--cluster"]).status, 0, "the cluster is healthy");
        const again = step("remove", "cp4", peer, ["cp1", "cp2", "cp3"]);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, /cp4 .* is not an etcd member: nothing to do/);
    });

    it("cp3's host dies: removing cp2 is refused before anything changes (it would leave cp1 and the dead cp3, no quorum)", async () => {
        // The dead member is the leader: the survivors elect another one, and etcdctl logs its
        // retries ("etcdserver: leader changed") on standard error, which the script must not read
        // as members (seen with etcd 3.7.0).
        const cp3 = ctl(["member", "list", "-w", "simple"]).stdout.split("\n").find((l) => l.split(", ")[2] === "cp3")!.split(", ")[0];
        const all = NAMES.map((n) => url(members[n].clientPort)).join(",");
        const moved = ctl(["move-leader", cp3], all);
        assert.equal(moved.status, 0, `${moved.stdout}${moved.stderr}`);
        await stop(members.cp3);
        for (const action of ["check-removal", "remove"] as const) {
            const refused = step(action, "cp2", members.cp2.peerPort, ["cp1", "cp3"]);
            assert.notEqual(refused.status, 0, `${action} must refuse`);
            assert.match(refused.stderr, /removing cp2's etcd member would leave 2 voting members of which 1 are healthy \(unhealthy: cp3\), below their quorum of 2/);
            assert.match(refused.stderr, action === "check-removal" ? /Nothing was changed \(the removal stops before the drain\)/ : /The member was not removed and the node not reset/);
        }
        assert.deepEqual(listed(), ["cp1", "cp2", "cp3"]);
    });

    it("removing the dead cp3 (its host unreachable) from cp1: checked, removed, gone from the list; the cluster is healthy", () => {
        const check = step("check-removal", "cp3", members.cp3.peerPort, ["cp1", "cp2"]);
        assert.equal(check.status, 0, check.stderr);
        assert.match(check.stderr, /etcd keeps quorum without cp3: 2 of 2 voting members healthy, quorum 2/);
        assert.deepEqual(listed(), ["cp1", "cp2", "cp3"], "the check changes nothing");

        const removed = step("remove", "cp3", members.cp3.peerPort, ["cp1", "cp2"]);
        assert.equal(removed.status, 0, removed.stderr);
        assert.match(removed.stderr, /removing etcd member [0-9a-f]+ \(cp3, https:\/\/127\.0\.0\.1:\d+\)/);
        assert.match(removed.stderr, /cp3's etcd member is gone/);
        assert.deepEqual(listed(), ["cp1", "cp2"]);
        const health = ctl(["endpoint", "health", "--cluster"]);
        assert.equal(health.status, 0, `${health.stdout}${health.stderr}`);
        assert.equal((health.stdout.match(/is healthy/g) ?? []).length, 2);
    });

    it("run again after the member is gone: nothing to do, nothing changes", () => {
        const again = step("remove", "cp3", members.cp3.peerPort, ["cp1", "cp2"]);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, /cp3 \(https:\/\/127\.0\.0\.1:\d+\) is not an etcd member: nothing to do/);
        assert.doesNotMatch(again.stderr, /removing etcd member/);
        assert.deepEqual(listed(), ["cp1", "cp2"]);
    });

}
