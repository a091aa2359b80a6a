/**
 * Day-2 changes that need state, under the real Pulumi engine on simulated hosts (issue 19,
 * assertion 7; README "Changing a running stack"): one stack of one control plane and two
 * workers, changed case after case (the cases build on each other, in order):
 *   (refused) a node's IP, and the settings kubeadm init fixed: the program fails with the key,
 *             the recorded and the new value and the procedure; no SSH session is opened on any
 *             host (the automation API's `up` runs with --skip-preview);
 *   (rename)  `pulumi stack rename`: nothing to replace, create or delete, and `up` runs nothing;
 *   (SANs)    kubernetes.apiServerCertSANs: the API server certificate step runs on the control
 *             plane, the certificate carries the new names, a second `up` runs nothing; emptied
 *             again, the names are dropped;
 *   (key)     sshPrivateKey rotation: every command with a create step runs once more, with the
 *             new key; after the old key is revoked on every host, removing a worker (delete
 *             steps recorded before the rotation) still works: nothing uses the old key.
 * The upgrade (kubernetes.version) has a stack of its own: test/e2e/engine-upgrade.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { changedSteps as changed, EngineWorld, nameOf, now, simNode, StepSeen } from "./hosts/engineStack";
import { missingForEngineTests, SimNode } from "./hosts/simHosts";
import { SECRET_SIG } from "./engine";

const SUBNET = "10.213.73";
const [CP, W1, W2] = ["cp1", "w1", "w2"].map((n) => simNode(SUBNET, n));
const ALL = [CP, W1, W2];
const ADMIN = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
const world = new EngineWorld(SUBNET, ALL, "e2e-day2");
const { h, e, sessions, callCounts, callsSince, nodesReady, waitReady, assertRefused } = world;
let keyDir = "";
/** What the stack is configured with now (each case changes some of it, and puts it back). */
const current: {
    nodes: SimNode[];
    kubernetes: Record<string, unknown>;
    sshPrivateKey: string;
    images?: Record<string, unknown>;
    imagesPassword?: string;
    /** imagesHostPasswords as JSON text (a secret). */
    imagesHostPasswords?: string;
} = {
    nodes: ALL,
    kubernetes: {},
    sshPrivateKey: "",
};

async function configure(change: Partial<typeof current> = {}): Promise<void> {
    Object.assign(current, change);
    await world.configure(
        { kubernetes: current.kubernetes, ...(current.images ? { images: current.images } : {}) },
        current.nodes,
        current.sshPrivateKey,
        {
            ...(current.imagesPassword !== undefined ? { imagesPassword: current.imagesPassword } : {}),
            ...(current.imagesHostPasswords !== undefined ? { imagesHostPasswords: current.imagesHostPasswords } : {}),
        },
    );
}
const described = (steps: StepSeen[]): string[] => steps.map((s) => `${s.op} ${nameOf(s.urn)}`).sort();

/** A secret of `stack export --show-secrets` ({<sig>, plaintext: "<JSON>"}) opened, recursively. */
function plain(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(plain);
    }
    if (typeof value === "object" && value !== null) {
        const v = value as Record<string, unknown>;
        if (SECRET_SIG in v && "plaintext" in v) {
            return plain(JSON.parse(String(v.plaintext)));
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    }
    return value;
}
/** Every remote command in state: the host it connects to, whether it has a create step. */
function commandsInState(): Map<string, { host: string; create: boolean; update: boolean; privateKey: string }> {
    const state = JSON.parse(e().exportWithSecrets()) as { deployment: { resources: { urn: string; type: string; inputs?: Record<string, unknown> }[] } };
    const commands = new Map<string, { host: string; create: boolean; update: boolean; privateKey: string }>();
    for (const r of state.deployment.resources.filter((x) => x.type === "command:remote:Command")) {
        const inputs = plain(r.inputs ?? {}) as { connection?: { host?: string; privateKey?: string }; create?: string; update?: string };
        commands.set(nameOf(r.urn), { host: String(inputs.connection?.host), create: Boolean(inputs.create), update: Boolean(inputs.update), privateKey: String(inputs.connection?.privateKey) });
    }
    return commands;
}
const nodeAt = (ip: string): string => ALL.find((n) => n.ip === ip)?.name ?? ip;

const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The subject alternative names of a PEM certificate, as openssl prints them. */
function sans(pem: string): string[] {
    const r = spawnSync("openssl", ["x509", "-noout", "-ext", "subjectAltName"], { input: pem, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").slice(1).join(",").split(",").map((s) => s.trim().replace(/^(DNS|IP Address):/, "")).filter(Boolean);
}
/** The certificate the API server at `ip`:6443 serves now. */
function servedCertificate(ip: string): string {
    const r = spawnSync("openssl", ["s_client", "-connect", `${ip}:6443`, "-showcerts"], { input: "", encoding: "utf8", timeout: 30_000 });
    return /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(r.stdout)?.[0] ?? "";
}
function fingerprint(publicKeyFile: string): string {
    const r = spawnSync("ssh-keygen", ["-l", "-E", "sha256", "-f", publicKeyFile], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split(" ")[1];
}

describe("day-2 changes under the real engine: 1 control plane + 2 workers on simulated hosts", { skip: missingForEngineTests(), timeout: 3_600_000 }, () => {
    before(async () => {
        keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-keys-"));
        await world.start();
        current.sshPrivateKey = h().sshPrivateKey;
        await configure();
    });
    after(() => {
        world.stop();
        if (keyDir) {
            fs.rmSync(keyDir, { recursive: true, force: true });
        }
    });

    test("up builds the cluster; preview --expect-no-changes passes", async () => {
        await e().up();
        await waitReady(ALL.map((n) => n.name));
        await e().preview({ expectNoChanges: true });
    });

    test("nodes[].ip changed: refused naming the node, the old and the new IP and the move procedure; nothing runs", async () => {
        const moved = { ...W1, ip: `${SUBNET}.31` };
        await configure({ nodes: [CP, moved, W2] });
        await assertRefused([
            new RegExp(`k8s-platform:nodes: the IP of w1 changed from ${literal(W1.ip)} to ${literal(moved.ip)}[\\s\\S]*remove it from nodes and \`pulumi up\`[\\s\\S]*add it with the new IP`),
        ]);
        for (const n of ALL) {
            const block = h().file(n.name, "/etc/hosts") ?? "";
            assert.ok(new RegExp(`^${literal(W1.ip)}\\s+w1$`, "m").test(block) && !block.includes(moved.ip), `${n.name}'s /etc/hosts still has w1 at ${W1.ip}`);
        }
        await configure({ nodes: ALL });
        // Nothing was recorded by the refused runs: the state is as the first up left it.
        await e().preview({ expectNoChanges: true });
    });

    test("kubernetes.controlPlaneEndpoint, podSubnet, serviceSubnet and dnsDomain changed: each refused with the recorded value and the procedure; nothing runs", async () => {
        const endpoint = `${SUBNET}.50:6443`;
        await configure({ kubernetes: { controlPlaneEndpoint: endpoint, podSubnet: "10.100.0.0/16", serviceSubnet: "10.112.0.0/12", dnsDomain: "other.local" } });
        const refused = (key: string, recorded: string, wanted: string, procedure: string) =>
            new RegExp(`k8s-platform:kubernetes\\.${key}: the cluster was initialised with "${literal(recorded)}", the config now gives "${literal(wanted)}"[^\\n]*${procedure}`);
        const rebuild = "pulumi destroy, then pulumi up";
        // Every refusal is named in the one error (components/refusals.ts settleRefusals).
        await assertRefused([
            refused("controlPlaneEndpoint", `${CP.ip}:6443`, endpoint, literal(`set kubernetes.controlPlaneEndpoint: "${CP.ip}:6443" to keep it`)),
            refused("podSubnet", "10.244.0.0/16", "10.100.0.0/16", rebuild),
            refused("serviceSubnet", "10.96.0.0/12", "10.112.0.0/12", rebuild),
            refused("dnsDomain", "cluster.local", "other.local", rebuild),
        ]);
        await configure({ kubernetes: {} });
        await e().preview({ expectNoChanges: true });
    });

    test("pulumi stack rename: no replace, create or delete; up runs no remote command", async () => {
        const before = commandsInState();
        await e().rename("e2e-day2-renamed");
        const renamed = e().exportText();
        assert.match(renamed, /"urn:pulumi:e2e-day2-renamed::/, "the state's URNs carry the new name");
        assert.doesNotMatch(renamed, /"urn:pulumi:e2e-day2::/, "and none the old one");
        const plan = await e().preview();
        assert.deepEqual(described(changed(plan.steps)), [], "every resource stays as it is");
        assert.equal(plan.steps.filter((s) => s.type === "command:remote:Command").length, before.size, "every command is in the plan, unchanged");
        const [s0, c0] = [sessions(), callCounts()];
        const up = await e().up();
        assert.deepEqual(described(changed(up.steps)), [], "the up changes nothing");
        assert.deepEqual(sessions(), s0, "no SSH session was opened on any host");
        assert.deepEqual(callCounts(), c0, "no stubbed command ran on any host");
        // Names derived from the stack's name come from the one recorded at the first up.
        assert.match(h().file(W1.name, "/etc/hosts") ?? "", /# BEGIN k8s-platform e2e-day2\n/, "the hosts block keeps its name");
    });

    test("kubernetes.apiServerCertSANs added: the certificate step runs on the control plane, the certificate carries the names; a second up runs nothing", async () => {
        const added = ["api.day2.example", `${SUBNET}.100`];
        await configure({ kubernetes: { apiServerCertSANs: added } });
        const plan = await e().preview();
        // The names are in the init configuration too: init's step re-runs and leaves the node alone.
        assert.deepEqual(described(changed(plan.steps)), ["update cluster-apiserver-certs", "update cluster-init"], "only init's and the certificate step change");
        const [s0, t0] = [sessions(), now()];
        const up = await e().up();
        assert.deepEqual(described(changed(up.steps)), ["update cluster-apiserver-certs", "update cluster-init"]);
        const s1 = sessions();
        assert.deepEqual(
            { cp1: s1.cp1 - s0.cp1, w1: s1.w1 - s0.w1, w2: s1.w2 - s0.w2 },
            { cp1: 2, w1: 0, w2: 0 },
            "two sessions on the control plane (init's step, the certificate step), none on the workers",
        );
        const ran = callsSince(t0);
        assert.ok(ran.cp1.some((c) => c.startsWith("kubeadm init phase certs apiserver")), `the certificate was signed again: ${ran.cp1.join("; ")}`);
        assert.ok(ran.cp1.some((c) => c.startsWith("kubeadm init phase upload-config kubeadm")), "the ClusterConfiguration was stored for later joins");
        assert.ok(!ran.cp1.some((c) => /^kubeadm (init(?! phase)|reset|join)/.test(c)), `no init, reset or join: ${ran.cp1.join("; ")}`);
        assert.deepEqual({ w1: ran.w1, w2: ran.w2 }, { w1: [], w2: [] }, "nothing ran on the workers");
        const onDisk = sans(h().file(CP.name, "/etc/kubernetes/pki/apiserver.crt") ?? "");
        for (const name of [...added, CP.ip, CP.name, "kubernetes.default.svc.cluster.local"]) {
            assert.ok(onDisk.includes(name), `the certificate names ${name}: ${onDisk.join(" ")}`);
        }
        assert.ok(h().file(CP.name, "/etc/kubernetes/k8s-platform-previous-apiserver/apiserver.crt"), "the previous certificate is kept");
        assert.match(h().ssh(CP.name, `${ADMIN} -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}'`), /api\.day2\.example/);
        // The simulated control plane is not restarted (no kubelet): the real kube-apiserver reloads
        // its serving certificate from the file (k8s.io/apiserver pkg/server/dynamiccertificates/
        // dynamic_serving_content.go: DynamicCertKeyPairContent "can dynamically react to new file content", fsnotify).
        let served: string[] = [];
        for (let i = 0; i < 40 && !served.includes(added[0]); i++) {
            served = sans(servedCertificate(CP.ip) || "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----");
            if (!served.includes(added[0])) {
                await new Promise((r) => setTimeout(r, 2000));
            }
        }
        assert.ok(served.includes(added[0]), `the API server serves the new certificate: ${served.join(" ")}`);

        const [s2, c2] = [sessions(), callCounts()];
        const second = await e().up();
        assert.deepEqual(described(changed(second.steps)), [], "the second up changes nothing");
        assert.deepEqual(sessions(), s2, "no SSH session was opened by the second up");
        assert.deepEqual(callCounts(), c2, "no stubbed command ran");
    });

    test("kubernetes.apiServerCertSANs emptied again: the certificate step drops the names it had added", async () => {
        await configure({ kubernetes: {} });
        const [s0, t0] = [sessions(), now()];
        const up = await e().up();
        assert.deepEqual(described(changed(up.steps)), ["update cluster-apiserver-certs", "update cluster-init"]);
        const s1 = sessions();
        assert.deepEqual({ cp1: s1.cp1 - s0.cp1, w1: s1.w1 - s0.w1, w2: s1.w2 - s0.w2 }, { cp1: 2, w1: 0, w2: 0 });
        assert.ok(callsSince(t0).cp1.some((c) => c.startsWith("kubeadm init phase certs apiserver")), "the certificate was signed again");
        const onDisk = sans(h().file(CP.name, "/etc/kubernetes/pki/apiserver.crt") ?? "");
        assert.ok(!onDisk.includes("api.day2.example") && !onDisk.includes(`${SUBNET}.100`), `the removed names are gone: ${onDisk.join(" ")}`);
        assert.ok(onDisk.includes(CP.ip) && onDisk.includes(CP.name), "kubeadm's own names stay");
        await e().preview({ expectNoChanges: true });
    });

    test("sshPrivateKey rotated: every command with a create step runs once more, with the new key; no init, join or reset", async () => {
        const newKey = path.join(keyDir, "id_new");
        assert.equal(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rotated", "-f", newKey]).status, 0);
        const [oldPrint, newPrint] = [fingerprint(`${h().stateDir}/id_ed25519.pub`), fingerprint(`${newKey}.pub`)];
        // README: the new public key goes into authorized_keys on every host first.
        const newPublic = fs.readFileSync(`${newKey}.pub`, "utf8").trim();
        for (const n of ALL) {
            h().ssh(n.name, `echo '${newPublic}' >> /root/.ssh/authorized_keys`);
        }
        await configure({ sshPrivateKey: fs.readFileSync(newKey, "utf8") });
        const commands = commandsInState();
        const plan = await e().preview();
        const planned = changed(plan.steps);
        assert.deepEqual(
            planned.filter((s) => s.type !== "command:remote:Command" || s.op !== "update").map((s) => `${s.op} ${nameOf(s.urn)}`),
            [],
            "nothing but in-place updates of remote commands",
        );
        assert.deepEqual(planned.map((s) => nameOf(s.urn)).sort(), [...commands.keys()].sort(), "every remote command is updated");
        // A command with a create or an update step opens one session on its host (the update-only
        // upgrade steps run kubeadm-upgrade.sh, which finds the node at its version); a delete-only one none.
        const expected: Record<string, number> = Object.fromEntries(ALL.map((n) => [n.name, 0]));
        for (const c of commands.values()) {
            if (c.create || c.update) {
                expected[nodeAt(c.host)] += 1;
            }
        }
        const keysBefore = Object.fromEntries(ALL.map((n) => [n.name, h().sessionKeys(n.name).length]));
        const t0 = now();
        await e().up();
        for (const n of ALL) {
            const used = h().sessionKeys(n.name).slice(keysBefore[n.name]);
            assert.equal(used.length, expected[n.name], `${n.name}: one session per command with a create step`);
            assert.deepEqual([...new Set(used)], [newPrint], `${n.name}: every session used the new key`);
        }
        for (const [node, ran] of Object.entries(callsSince(t0))) {
            assert.ok(!ran.some((c) => /^kubeadm (init(?! phase)|join|reset|upgrade)/.test(c)), `${node} ran no init, join, reset or upgrade: ${ran.join("; ")}`);
        }
        for (const [name, c] of commandsInState()) {
            assert.equal(c.privateKey.trim(), current.sshPrivateKey.trim(), `${name} holds the new key in state`);
        }
        // The key's body without its first line (the same "openssh-key-v1 … ssh-ed25519" header in every key).
        const keyBody = (key: string) => key.split("\n").filter((l) => l && !l.startsWith("-----")).slice(1).join("");
        const state = e().exportWithSecrets().replace(/\\+n/g, "");
        assert.ok(state.includes(keyBody(current.sshPrivateKey)), "the search finds the new key in state");
        assert.ok(!state.includes(keyBody(h().sshPrivateKey)), "the old key is nowhere in state");
        await waitReady(ALL.map((n) => n.name));
        await e().preview({ expectNoChanges: true });

        // The old key is revoked on every host; from now on only the new key gets in.
        for (const n of ALL) {
            h().ssh(n.name, `echo '${newPublic}' > /root/.ssh/authorized_keys`);
        }
        h().useIdentity(newKey);
        assert.ok(oldPrint !== newPrint);
    });

    test("after the rotation (old key revoked), removing a worker runs its delete steps with the new key: drain, reset, Node deletion", async () => {
        const oldPrint = fingerprint(`${h().stateDir}/id_ed25519.pub`);
        const keysBefore = Object.fromEntries(ALL.map((n) => [n.name, h().sessionKeys(n.name).length]));
        const t0 = now();
        await configure({ nodes: [CP, W1] });
        await e().up();
        const onCp = h().timedCalls(CP.name).filter((c) => c.at >= t0);
        assert.ok(onCp.some((c) => /^kubectl drain w2\b/.test(c.call)), "cp1 drained w2");
        assert.ok(onCp.some((c) => /^kubectl delete node w2\b/.test(c.call)), "cp1 deleted w2's Node");
        assert.ok(h().timedCalls(W2.name).some((c) => c.at >= t0 && c.call.startsWith("kubeadm reset")), "w2 ran kubeadm reset");
        for (const n of ALL) {
            assert.ok(!h().sessionKeys(n.name).slice(keysBefore[n.name]).includes(oldPrint), `${n.name}: the old key was not used`);
        }
        assert.equal(nodesReady().w2, undefined, "w2's Node is gone");
        await e().preview({ expectNoChanges: true });
    });

    test("images.caCert, images.username and imagesPassword set, the password changed, both removed: only each node's preparation runs; the files containerd reads follow; no restart; no password in state", async () => {
        const nodes = [CP, W1];
        const pki = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-mirror-ca-"));
        const ca = (name: string) => {
            const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3650", "-subj", `/CN=${name}`, "-keyout", path.join(pki, "k.pem"), "-out", path.join(pki, "c.pem")], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
            return fs.readFileSync(path.join(pki, "c.pem"), "utf8");
        };
        const [caPem, password, password2] = [ca("Mirror Test CA"), "mirror-pw-7c41d9e0b2", "mirror-pw-second-55aa01"];
        fs.rmSync(pki, { recursive: true, force: true });
        const file = (n: SimNode, f: string) => h().file(n.name, `/etc/containerd/certs.d/registry.k8s.io/${f}`);
        const mode = (n: SimNode, f: string) => h().ssh(n.name, `stat -c %a /etc/containerd/certs.d/registry.k8s.io/${f}`).trim();
        const basic = (pw: string) => `Authorization = "Basic ${Buffer.from(`robot:${pw}`).toString("base64")}"`;
        const restarts = (t0: number) => Object.values(callsSince(t0)).flat().filter((c) => c.startsWith("systemctl restart containerd"));
        // The reachability checks are create-only commands keyed on the preparation's parameters:
        // they run again by replacement (engine-upgrade.test.ts); the password is no parameter.
        const reach = (n: SimNode) => [`create-replacement cluster-${n.name}-reachable`, `delete-replaced cluster-${n.name}-reachable`, `replace cluster-${n.name}-reachable`];
        const prepares = (withReach: boolean) => nodes.flatMap((n) => [`update cluster-${n.name}-prepare`, ...(withReach ? reach(n) : [])]).sort();
        // The mirror first (its own change re-runs kubeadm's steps and the charts too: test/airgap.test.ts).
        await configure({ images: { registry: "harbor.example.com/mirror" } });
        await e().up();

        let t0 = now();
        await configure({ images: { registry: "harbor.example.com/mirror", caCert: caPem, username: "robot" }, imagesPassword: password });
        let up = await e().up();
        assert.deepEqual(described(changed(up.steps)), prepares(true));
        for (const n of nodes) {
            assert.equal(file(n, "mirror-ca.crt"), `${caPem.trimEnd()}\n`, `${n.name}: the CA beside hosts.toml, as given`);
            assert.match(file(n, "hosts.toml") ?? "", /^ {2}ca = "\/etc\/containerd\/certs\.d\/registry\.k8s\.io\/mirror-ca\.crt"$/m);
            assert.ok((file(n, "hosts.toml") ?? "").includes(basic(password)), `${n.name}: the credentials in hosts.toml`);
            assert.equal(mode(n, "hosts.toml"), "600");
            // The mirror host's own file, for the references rewritten onto it.
            const own = h().file(n.name, "/etc/containerd/certs.d/harbor.example.com/hosts.toml") ?? "";
            assert.ok(own.includes(basic(password)) && own.includes('ca = "/etc/containerd/certs.d/harbor.example.com/mirror-ca.crt"'), `${n.name}: ${own}`);
        }
        assert.deepEqual(restarts(t0), [], "containerd reads hosts.toml per pull: no restart");
        assert.ok(!up.output.includes(password), "the password is in no engine output");

        t0 = now();
        await configure({ imagesPassword: password2 });
        up = await e().up();
        assert.deepEqual(described(changed(up.steps)), prepares(false), "only the preparations' (secret) standard input changed");
        for (const n of nodes) {
            assert.ok((file(n, "hosts.toml") ?? "").includes(basic(password2)), `${n.name}: the new password`);
        }
        assert.deepEqual(restarts(t0), []);
        const exported = e().exportText();
        for (const form of [password, password2, Buffer.from(password2).toString("base64"), Buffer.from(`robot:${password2}`).toString("base64")]) {
            assert.ok(!exported.includes(form), `stack export holds ${form.slice(0, 12)}… in plain text`);
        }
        await e().preview({ expectNoChanges: true });

        t0 = now();
        await configure({ images: { registry: "harbor.example.com/mirror" }, imagesPassword: undefined });
        up = await e().up();
        assert.deepEqual(described(changed(up.steps)), prepares(true));
        for (const n of nodes) {
            assert.equal(file(n, "mirror-ca.crt"), undefined, `${n.name}: the CA file is gone`);
            assert.ok(!(file(n, "hosts.toml") ?? "").includes("Authorization"), `${n.name}: no credentials`);
            assert.equal(mode(n, "hosts.toml"), "644");
        }
        assert.deepEqual(restarts(t0), []);
        await configure({ images: undefined });
        await e().up();
        await e().preview({ expectNoChanges: true });
    });

    test("images.hosts (Harbor's own CA and account, its password in imagesHostPasswords) and a plain-HTTP docker.io mirror set, the host password changed, all removed: only each node's preparation runs; the files follow; no restart; no host password in state", async () => {
        const nodes = [CP, W1];
        const pki = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-mirror-host-ca-"));
        const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3650", "-subj", "/CN=Harbor CA", "-keyout", path.join(pki, "k.pem"), "-out", path.join(pki, "c.pem")], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const caPem = fs.readFileSync(path.join(pki, "c.pem"), "utf8");
        fs.rmSync(pki, { recursive: true, force: true });
        const [password, password2] = ["harbor-pw-0f3b9a71c2", "harbor-pw-second-8d22e4"];
        const file = (n: SimNode, source: string, f: string) => h().file(n.name, `/etc/containerd/certs.d/${source}/${f}`);
        const mode = (n: SimNode, source: string) => h().ssh(n.name, `stat -c %a /etc/containerd/certs.d/${source}/hosts.toml`).trim();
        const basic = (pw: string) => `Authorization = "Basic ${Buffer.from(`robot:${pw}`).toString("base64")}"`;
        const restarts = (t0: number) => Object.values(callsSince(t0)).flat().filter((c) => c.startsWith("systemctl restart containerd"));
        const reach = (n: SimNode) => [`create-replacement cluster-${n.name}-reachable`, `delete-replaced cluster-${n.name}-reachable`, `replace cluster-${n.name}-reachable`];
        const prepares = (withReach: boolean) => nodes.flatMap((n) => [`update cluster-${n.name}-prepare`, ...(withReach ? reach(n) : [])]).sort();
        // The lab registry on HTTPS first: switching it to plain HTTP then moves no image reference.
        const mirror = { registry: "harbor.example.com/mirror", mirrors: { "docker.io": "lab.example.com:5000/hub" } };
        await configure({ images: mirror });
        await e().up();

        // Harbor's own CA and account; docker.io from a plain-HTTP lab registry. Only the
        // preparations: no image reference carries the scheme.
        let t0 = now();
        const site = { registry: "harbor.example.com/mirror", mirrors: { "docker.io": "http://lab.example.com:5000/hub" }, hosts: { "harbor.example.com": { caCert: caPem, username: "robot" } } };
        await configure({ images: site, imagesHostPasswords: JSON.stringify({ "harbor.example.com": password }) });
        let up = await e().up();
        assert.deepEqual(described(changed(up.steps)), prepares(true));
        for (const n of nodes) {
            assert.equal(file(n, "registry.k8s.io", "mirror-ca.crt"), `${caPem.trimEnd()}\n`);
            assert.ok((file(n, "registry.k8s.io", "hosts.toml") ?? "").includes(basic(password)), `${n.name}: Harbor's credentials`);
            assert.equal(mode(n, "registry.k8s.io"), "600");
            assert.ok((file(n, "harbor.example.com", "hosts.toml") ?? "").includes(basic(password)), `${n.name}: Harbor's own file`);
            assert.match(file(n, "lab.example.com:5000", "hosts.toml") ?? "", /^server = "http:\/\/lab\.example\.com:5000"$/m);
            const lab = file(n, "docker.io", "hosts.toml") ?? "";
            assert.match(lab, /^\[host\."http:\/\/lab\.example\.com:5000\/v2\/hub"\]$/m, lab);
            assert.ok(!/ca =|skip_verify|Authorization/.test(lab), `${n.name}: the plain-HTTP host has no TLS settings and no account`);
            assert.equal(file(n, "docker.io", "mirror-ca.crt"), undefined);
        }
        assert.deepEqual(restarts(t0), [], "containerd reads hosts.toml per pull: no restart");
        assert.ok(!up.output.includes(password), "the host password is in no engine output");

        t0 = now();
        await configure({ imagesHostPasswords: JSON.stringify({ "harbor.example.com": password2 }) });
        up = await e().up();
        assert.deepEqual(described(changed(up.steps)), prepares(false), "only the preparations' (secret) standard input changed");
        for (const n of nodes) {
            assert.ok((file(n, "registry.k8s.io", "hosts.toml") ?? "").includes(basic(password2)), `${n.name}: the new password`);
        }
        assert.deepEqual(restarts(t0), []);
        const exported = e().exportText();
        for (const form of [password, password2, Buffer.from(password2).toString("base64"), Buffer.from(`harbor.example.com=${password2}`).toString("base64"), Buffer.from(`robot:${password2}`).toString("base64")]) {
            assert.ok(!exported.includes(form), `stack export holds ${form.slice(0, 12)}… in plain text`);
        }
        await e().preview({ expectNoChanges: true });

        t0 = now();
        await configure({ images: mirror, imagesHostPasswords: undefined });
        up = await e().up();
        assert.deepEqual(described(changed(up.steps)), prepares(true));
        for (const n of nodes) {
            assert.equal(file(n, "registry.k8s.io", "mirror-ca.crt"), undefined, `${n.name}: the CA file is gone`);
            assert.ok(!(file(n, "registry.k8s.io", "hosts.toml") ?? "").includes("Authorization"), `${n.name}: no credentials`);
            assert.equal(mode(n, "registry.k8s.io"), "644");
            assert.match(file(n, "docker.io", "hosts.toml") ?? "", /^\[host\."https:\/\/lab\.example\.com:5000\/v2\/hub"\]$/m);
            assert.match(file(n, "lab.example.com:5000", "hosts.toml") ?? "", /^server = "https:\/\/lab\.example\.com:5000"$/m);
            assert.ok(!(file(n, "harbor.example.com", "hosts.toml") ?? "").includes("Authorization"));
        }
        assert.deepEqual(restarts(t0), []);
        await configure({ images: undefined });
        await e().up();
        await e().preview({ expectNoChanges: true });
    });
});
