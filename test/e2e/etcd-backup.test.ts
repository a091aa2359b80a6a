/**
 * etcd backup and restore for real, per pairing of the etcd a Kubernetes minor's kubeadm runs
 * (KUBEADM_IMAGES[minor].etcd) with the etcdctl/etcdutl the program installs on that minor's
 * control planes (ETCD_TOOLS[minor]): 1.35 runs etcd v3.6.6 with tools of the same release; 1.37
 * runs etcd v3.7.0 with tools v3.6.14, a minor behind (no reviewed v3.7.0 release sums to pin),
 * so that pairing is what must be shown to work. A real etcd with TLS and client-certificate auth
 * on 127.0.0.1, laid out as kubeadm lays out a control plane under a temporary root (K8SP_ROOT:
 * pki/etcd, the etcd static pod manifest, /var/lib/etcd); keys written with the real etcdctl; a
 * snapshot taken by the program's scripts/etcd-backup.sh; etcd stopped and its data wiped;
 * scripts/etcd-restore.sh restores with the real etcdutl; etcd started on the restored data
 * directory; the keys read back. Built from their Go modules (test/e2e/tools/etcd*,
 * build-tools.sh); each pairing's binaries are linked under their plain names on a PATH of its own.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ETCD_TOOLS, KUBEADM_IMAGES } from "../../config/versions";
import { assertPairingVersions, ETCD_PAIRINGS, EtcdPairing, makeEtcdPki, pairingBin, skipForPairing } from "./etcdPairings";
import { freePort, onPath } from "./tools";

const SCRIPTS = path.resolve(__dirname, "..", "..", "scripts");

/** Every pairing; the cases beyond the round trips (retention, NFS, a bad snapshot) on the first only. */
const PAIRINGS: readonly (EtcdPairing & { readonly full: boolean })[] = ETCD_PAIRINGS.map((p, i) => ({ ...p, full: i === 0 }));

function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    const r = spawnSync(cmd, args, { encoding: "utf8", env: opts.env ?? process.env, cwd: opts.cwd, timeout: 120_000 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function mustRun(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
    const r = sh(cmd, args, opts);
    assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

class Etcd {
    private child?: ChildProcess;
    constructor(
        private readonly root: string,
        readonly clientPort: number,
        readonly peerPort: number,
        /** The environment etcd and etcdctl run in (PATH leading to the pairing's binaries). */
        private readonly env: NodeJS.ProcessEnv,
        /** registry.k8s.io/etcd's tag kubeadm of the minor writes in the manifest. */
        private readonly imageTag: string,
    ) {}

    get endpoint(): string {
        return `https://127.0.0.1:${this.clientPort}`;
    }
    get peerUrl(): string {
        return `https://127.0.0.1:${this.peerPort}`;
    }
    private get pki(): string {
        return path.join(this.root, "etc/kubernetes/pki/etcd");
    }

    /** The static pod manifest, with the flags kubeadm writes (phases/etcd/local.go) that the restore reads. */
    manifest(): string {
        return [
            "apiVersion: v1",
            "kind: Pod",
            "metadata:",
            "  name: etcd",
            "  namespace: kube-system",
            "spec:",
            "  containers:",
            "  - command:",
            "    - etcd",
            `    - --advertise-client-urls=${this.endpoint}`,
            "    - --cert-file=/etc/kubernetes/pki/etcd/server.crt",
            "    - --client-cert-auth=true",
            "    - --data-dir=/var/lib/etcd",
            `    - --initial-advertise-peer-urls=${this.peerUrl}`,
            `    - --initial-cluster=cp1=${this.peerUrl}`,
            "    - --key-file=/etc/kubernetes/pki/etcd/server.key",
            `    - --listen-client-urls=${this.endpoint}`,
            `    - --listen-peer-urls=${this.peerUrl}`,
            "    - --name=cp1",
            `    image: registry.k8s.io/etcd:${this.imageTag}`,
            "",
        ].join("\n");
    }

    async start(): Promise<void> {
        const log = fs.openSync(path.join(this.root, "etcd.log"), "a");
        this.child = spawn(
            "etcd",
            [
                "--name", "cp1", "--data-dir", path.join(this.root, "var/lib/etcd"),
                "--listen-client-urls", this.endpoint, "--advertise-client-urls", this.endpoint,
                "--listen-peer-urls", this.peerUrl, "--initial-advertise-peer-urls", this.peerUrl,
                "--initial-cluster", `cp1=${this.peerUrl}`,
                "--client-cert-auth", "--trusted-ca-file", `${this.pki}/ca.crt`,
                "--cert-file", `${this.pki}/server.crt`, "--key-file", `${this.pki}/server.key`,
                "--peer-client-cert-auth", "--peer-trusted-ca-file", `${this.pki}/ca.crt`,
                "--peer-cert-file", `${this.pki}/server.crt`, "--peer-key-file", `${this.pki}/server.key`,
                "--listen-metrics-urls", "",
            ],
            { stdio: ["ignore", log, log], env: this.env },
        );
        fs.closeSync(log);
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
            if (this.ctl(["endpoint", "health"]).status === 0) {
                return;
            }
            await new Promise((r) => setTimeout(r, 500));
        }
        throw new Error(`etcd not healthy in 60 s:\n${fs.readFileSync(path.join(this.root, "etcd.log"), "utf8").slice(-3000)}`);
    }

    async stop(): Promise<void> {
        const child = this.child;
        if (child && child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(timer);
        }
        this.child = undefined;
    }

    ctl(args: string[]) {
        return sh("etcdctl", [
            `--endpoints=${this.endpoint}`, `--cacert=${this.pki}/ca.crt`,
            `--cert=${this.pki}/healthcheck-client.crt`, `--key=${this.pki}/healthcheck-client.key`, ...args,
        ], { env: this.env });
    }

    get(key: string): string | undefined {
        const out = this.ctl(["get", key, "--print-value-only"]);
        assert.equal(out.status, 0, out.stderr);
        return out.stdout.trim() === "" ? undefined : out.stdout.trim();
    }
}

for (const pairing of PAIRINGS) {
    pairingSuite(pairing);
}

function pairingSuite(p: EtcdPairing & { readonly full: boolean }): void {
    const title = `etcd backup and restore on ${p.minor}: etcd ${KUBEADM_IMAGES[p.minor].etcd} with the program's etcdctl/etcdutl ${ETCD_TOOLS[p.minor].version}`;
    describe(title, { skip: skipForPairing(p) }, () => {
        let root = "";
        let toolsDir = "";
        let etcd: Etcd;
        const toolPath = () => `${toolsDir}:${process.env.PATH}`;
        const env = () => ({ ...process.env, PATH: toolPath(), K8SP_ROOT: root, NODE_NAME: "cp1", ETCD_ENDPOINT: etcd.endpoint });

        before(async () => {
            // A host with crictl would have the restore wait for containers this test does not run.
            assert.equal(onPath("crictl"), undefined, "crictl on PATH: this test runs etcd itself, not through the kubelet");
            toolsDir = pairingBin(p);
            root = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-etcd-backup-"));
            makeEtcdPki(path.join(root, "etc/kubernetes/pki/etcd"), "cp1");
            etcd = new Etcd(root, await freePort(), await freePort(), { ...process.env, PATH: toolPath() }, KUBEADM_IMAGES[p.minor].etcd);
            fs.mkdirSync(path.join(root, "etc/kubernetes/manifests"), { recursive: true });
            fs.writeFileSync(path.join(root, "etc/kubernetes/manifests/etcd.yaml"), etcd.manifest());
            fs.writeFileSync(path.join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"), "apiVersion: v1\nkind: Pod\n");
            await etcd.start();
        });
        after(async () => {
            await etcd?.stop();
            for (const dir of [root, toolsDir]) {
                if (dir) {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            }
        });

        it("runs the etcd kubeadm of this minor deploys and the tools the program installs for it", () => {
            assertPairingVersions(p, toolsDir);
        });

        it("snapshots with etcd-backup.sh, restores a wiped member with etcd-restore.sh, and the keys come back", async () => {
            for (const [k, v] of [["/registry/a", "one"], ["/registry/b", "two"]]) {
                assert.equal(etcd.ctl(["put", k, v]).status, 0);
            }
            const backups = path.join(root, "var/backups/etcd");
            // Older snapshots: retention keeps the newest 2 of this node and reason, and nothing else.
            fs.mkdirSync(backups, { recursive: true });
            for (const old of ["etcd-cp1-20250101T000000Z-scheduled.db", "etcd-cp1-20250102T000000Z-scheduled.db", "etcd-cp1-20250101T000000Z-before-removal-of-cp2.db"]) {
                fs.writeFileSync(path.join(backups, old), "old");
            }
            const backup = sh("bash", [path.join(SCRIPTS, "etcd-backup.sh")], { env: { ...env(), DIRECTORY: "/var/backups/etcd", RETENTION: "2" } });
            assert.equal(backup.status, 0, backup.stderr);
            const published = backup.stdout.trim();
            assert.match(published, /^\/var\/backups\/etcd\/etcd-cp1-\d{8}T\d{6}Z-scheduled\.db$/);
            assert.match(backup.stderr, /checking the snapshot \(etcdutl snapshot status\)/);
            assert.deepEqual(fs.readdirSync(backups).sort(), [
                "etcd-cp1-20250101T000000Z-before-removal-of-cp2.db",
                "etcd-cp1-20250102T000000Z-scheduled.db",
                path.basename(published),
            ].sort(), "no .partial file left, the oldest scheduled one pruned, the other reason kept");
            assert.equal(fs.statSync(backups).mode & 0o777, 0o700);

            // Written after the snapshot: the restore rolls it back.
            assert.equal(etcd.ctl(["put", "/registry/c", "after"]).status, 0);
            await etcd.stop();
            fs.rmSync(path.join(root, "var/lib/etcd"), { recursive: true, force: true });

            const restore = sh("bash", [path.join(SCRIPTS, "etcd-restore.sh")], { env: { ...env(), SNAPSHOT: path.join(root, published) } });
            assert.equal(restore.status, 0, restore.stderr);
            assert.ok(fs.existsSync(path.join(root, "etc/kubernetes/manifests/etcd.yaml")), "etcd's manifest is back");
            assert.ok(fs.existsSync(path.join(root, "etc/kubernetes/manifests/kube-apiserver.yaml")), "the API server's manifest is back");
            assert.ok(!fs.existsSync(path.join(root, "etc/kubernetes/k8s-platform-restore")));

            await etcd.start();
            assert.equal(etcd.get("/registry/a"), "one");
            assert.equal(etcd.get("/registry/b"), "two");
            assert.equal(etcd.get("/registry/c"), undefined, "a key written after the snapshot is not in the restored member");
            // --bump-revision: the restored revision is far past the snapshot's, so watchers resync.
            const status = JSON.parse(etcd.ctl(["endpoint", "status", "-w", "json"]).stdout);
            assert.ok(status[0].Status.header.revision > 1_000_000_000);
        });

        it("a restore over existing data moves that data aside instead of deleting it", async () => {
            const backup = sh("bash", [path.join(SCRIPTS, "etcd-backup.sh")], { env: { ...env(), DIRECTORY: "/var/backups/etcd", RETENTION: "7", REASON: "manual" } });
            assert.equal(backup.status, 0, backup.stderr);
            await etcd.stop();
            const restore = sh("bash", [path.join(SCRIPTS, "etcd-restore.sh")], { env: { ...env(), SNAPSHOT: path.join(root, backup.stdout.trim()) } });
            assert.equal(restore.status, 0, restore.stderr);
            const aside = fs.readdirSync(path.join(root, "var/lib")).filter((d) => d.startsWith("etcd.before-restore-"));
            assert.equal(aside.length, 1, `the old data directory is kept: ${fs.readdirSync(path.join(root, "var/lib"))}`);
            assert.ok(fs.existsSync(path.join(root, "var/lib", aside[0], "member")));
            await etcd.start();
            assert.equal(etcd.get("/registry/a"), "one");
        });

        const previous = PAIRINGS[PAIRINGS.indexOf(p) - 1];
        it(
            `a snapshot the previous minor's etcd took before an upgrade restores on this one's`,
            { skip: previous === undefined ? "no previous pairing" : skipForPairing(previous) },
            async () => {
                // The way back from a failed upgrade (README "Restore etcd"): the before-upgrade
                // snapshot was saved by the old minor's etcd and tools; this minor's etcdutl restores
                // it and this minor's etcd starts on it.
                await etcd.stop();
                fs.rmSync(path.join(root, "var/lib"), { recursive: true, force: true });
                const oldBin = pairingBin(previous!);
                const oldEnv = { ...process.env, PATH: `${oldBin}:${process.env.PATH}` };
                const old = new Etcd(root, etcd.clientPort, etcd.peerPort, oldEnv, KUBEADM_IMAGES[previous!.minor].etcd);
                try {
                    await old.start();
                    assert.equal(old.ctl(["put", "/registry/before-upgrade", "kept"]).status, 0);
                    const backup = sh("bash", [path.join(SCRIPTS, "etcd-backup.sh")], {
                        env: { ...env(), PATH: oldEnv.PATH, DIRECTORY: "/var/backups/etcd", RETENTION: "1", REASON: `before-upgrade-to-${p.minor}` },
                    });
                    assert.equal(backup.status, 0, backup.stderr);
                    await old.stop();
                    const restore = sh("bash", [path.join(SCRIPTS, "etcd-restore.sh")], { env: { ...env(), SNAPSHOT: path.join(root, backup.stdout.trim()) } });
                    assert.equal(restore.status, 0, restore.stderr);
                    await etcd.start();
                    assert.equal(etcd.get("/registry/before-upgrade"), "kept");
                    assert.match(mustRun("etcd", ["--version"], { env: { ...process.env, PATH: toolPath() } }), /^etcd Version: /m);
                } finally {
                    await old.stop();
                    fs.rmSync(oldBin, { recursive: true, force: true });
                }
            },
        );

        it("with NFS_TARGET the snapshot is also published on the share, pruned there the same way", { skip: (!p.full && "run for the first pairing only") || (process.getuid?.() !== 0 && "needs root (a private mount namespace)") }, () => {
            // mount(8) of an NFS export, imitated: `mount -t nfs [-o …] SERVER:/EXPORT DIR` bind-mounts the
            // server's exported directory on DIR (in the private mount namespace the script runs in).
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-etcd-nfs-bin-"));
            const server = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-etcd-nfs-server-"));
            fs.writeFileSync(
                path.join(bin, "mount"),
                '#!/bin/sh\n[ "$1 $2" = "-t nfs" ] || exec /usr/bin/mount "$@"\nshift 2\n[ "$1" != -o ] || shift 2\nexec /usr/bin/mount --bind "$FAKE_NFS_SERVER${1#*:}" "$2"\n',
                { mode: 0o755 },
            );
            const remote = path.join(server, "share_storage/etcd-backups/cp1");
            fs.mkdirSync(remote, { recursive: true });
            fs.writeFileSync(path.join(remote, "etcd-cp1-20250101T000000Z-nfs-test.db"), "old");
            try {
                const r = sh("unshare", ["-m", "--propagation", "private", "bash", path.join(SCRIPTS, "etcd-backup.sh")], {
                    env: { ...env(), PATH: `${bin}:${toolPath()}`, FAKE_NFS_SERVER: server, NFS_TARGET: "10.0.0.5:/share_storage", DIRECTORY: "/var/backups/etcd", RETENTION: "1", REASON: "nfs-test" },
                });
                assert.equal(r.status, 0, r.stderr);
                const name = path.basename(r.stdout.trim());
                assert.deepEqual(fs.readdirSync(remote), [name], "published on the share, the older one pruned (retention 1), no .partial left");
                assert.ok(fs.readFileSync(path.join(remote, name)).equals(fs.readFileSync(path.join(root, "var/backups/etcd", name))));
                assert.deepEqual(fs.readdirSync(path.join(root, "run")).filter((d) => d.startsWith("k8s-platform-etcd-nfs.")), [], "mount point removed");
            } finally {
                fs.rmSync(bin, { recursive: true, force: true });
                fs.rmSync(server, { recursive: true, force: true });
            }
        });

        it("a snapshot that does not read back is never published", { skip: !p.full && "run for the first pairing only" }, () => {
            // etcdutl refuses a file that is not a bbolt database; a stand-in etcdctl "saves" one.
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-etcd-fake-"));
            fs.writeFileSync(path.join(bin, "etcdctl"), '#!/bin/sh\nfor a; do f="$a"; done\necho garbage >"$f"\n', { mode: 0o755 });
            fs.symlinkSync(onPath(p.etcdutl)!, path.join(bin, "etcdutl"));
            const before = fs.readdirSync(path.join(root, "var/backups/etcd")).sort();
            const r = sh("bash", [path.join(SCRIPTS, "etcd-backup.sh")], {
                env: { ...env(), PATH: `${bin}:${toolPath()}`, DIRECTORY: "/var/backups/etcd", RETENTION: "7", REASON: "broken" },
            });
            fs.rmSync(bin, { recursive: true, force: true });
            assert.notEqual(r.status, 0);
            assert.match(r.stderr, /does not read back \(etcdutl snapshot status failed\); nothing was published/);
            assert.deepEqual(fs.readdirSync(path.join(root, "var/backups/etcd")).sort(), before, "no file added, no .partial left");
        });
    });
}
