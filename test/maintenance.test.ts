/**
 * Control-plane maintenance (issue 16, items 2 and 3) at the config and synthesis tier: the
 * kubernetes.etcdBackup and kubernetes.certRenewal keys, the maintenance step on every control
 * plane and what it carries, the snapshot before a control-plane removal, the certificateExpiry
 * output, and which resources a change of each key touches. The scripts themselves run in the
 * real-root tier (test/realroot/maintenance.bats) and against a real etcd (test/e2e/etcd-backup.test.ts).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { ConfigError, ETCD_TOOLS, etcdSnapshotEnv, KUBERNETES_VERSION, parseConfig } from "../config";
import { parseExpiry } from "../components/controlPlaneMaintenance";
import { librariesOf } from "../components/render/script";
import { unwrapSecrets } from "../tools/mockRuntime";
import { fingerprint } from "../tools/fingerprint";
import { commands, envOf, named, rawConfigOf, RawConfig, scriptOf, synthStack, threeControlPlanes } from "./helpers";

const parse = (raw: RawConfig) => parseConfig(raw, { stack: "test", hasSshPrivateKey: true });

function errorFor(edit: (raw: any) => void, base = "lab"): string {
    const raw = structuredClone(rawConfigOf(base));
    edit(raw);
    try {
        parse(raw);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err.message;
    }
    assert.fail("expected the config to be refused");
}
const withKubernetes = (extra: Record<string, unknown>) => (raw: any) => {
    raw.kubernetes = { ...(raw.kubernetes ?? {}), ...extra };
};

describe("kubernetes.etcdBackup and kubernetes.certRenewal", () => {
    it("default to daily snapshots in /var/backups/etcd, 7 kept, no NFS copy, and renewal 60 days ahead", () => {
        const config = parse(rawConfigOf("lab"));
        assert.deepEqual(config.kubernetes.etcdBackup, { enabled: true, schedule: "daily", directory: "/var/backups/etcd", retention: 7 });
        assert.deepEqual(config.kubernetes.certRenewal, { enabled: true, thresholdDays: 60 });
    });

    it("refuse bad values and wrong types, naming the key, the value and what is allowed", () => {
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ etcdBackup: { retention: 0 } }, /k8s-platform:kubernetes\.etcdBackup\.retention: 0 is not a number of snapshots \(1-1000\)/],
            [{ etcdBackup: { directory: "backups" } }, /k8s-platform:kubernetes\.etcdBackup\.directory: "backups" is not an absolute directory path/],
            [{ etcdBackup: { schedule: "daily\nExecStart=/bin/evil" } }, /k8s-platform:kubernetes\.etcdBackup\.schedule: .* is not a systemd OnCalendar expression/],
            [{ etcdBackup: { enabled: "yes" } }, /k8s-platform:kubernetes\.etcdBackup\.enabled: /],
            [{ etcdBackup: { keep: 3 } }, /k8s-platform:kubernetes\.etcdBackup: unknown key "keep"; allowed keys: enabled, schedule, directory, retention, nfs/],
            [{ certRenewal: { thresholdDays: 1 } }, /k8s-platform:kubernetes\.certRenewal\.thresholdDays: 1 is not a number of days \(2-180\)/],
            [{ certRenewal: { thresholdDays: 365 } }, /k8s-platform:kubernetes\.certRenewal\.thresholdDays: 365 is not a number of days \(2-180\)/],
        ];
        for (const [extra, expected] of cases) {
            assert.match(errorFor(withKubernetes(extra)), expected);
        }
    });

    it("refuse the NFS copy without the stack's NFS server, and address the share when it runs", () => {
        assert.match(
            errorFor((raw) => {
                withKubernetes({ etcdBackup: { nfs: true } })(raw);
                raw.nfs = { enabled: false };
                raw.registry = { enabled: false };
                raw.testApp = { enabled: false };
                raw.autoscaling = { enabled: false };
            }),
            /k8s-platform:kubernetes\.etcdBackup\.nfs: true copies each etcd snapshot to the NFS share, but nfs\.enabled is false/,
        );
        const raw = structuredClone(rawConfigOf("dev"));
        withKubernetes({ etcdBackup: { nfs: true } })(raw);
        const config = parse(raw);
        assert.ok(config.nfs.enabled);
        assert.equal(config.kubernetes.etcdBackup.nfsTarget, `${config.nfs.host.host.ip}:${config.nfs.exportPath}`);
    });
});

describe("the maintenance step on every control plane", () => {
    it("runs control-plane-maintenance.sh after each control plane's init or join, carrying the programs it installs", async () => {
        const s = await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"]));
        const maintenance = commands(s).filter((c) => scriptOf(c) === "control-plane-maintenance");
        assert.deepEqual(maintenance.map((c) => c.name).sort(), ["maintenance-m-k8s", "maintenance-m2-k8s", "maintenance-m3-k8s"]);
        // The bootstrap control plane's waits for init and every join (one SSH session fewer at once there).
        assert.deepEqual(
            [...named(s, "maintenance-m-k8s").dependsOn].sort(),
            ["cluster-init", "cluster-join-credentials", "cluster-m2-k8s-join", "cluster-m3-k8s-join", "cluster-w1-k8s-join", "cluster-w2-k8s-join", "cluster-w3-k8s-join"],
        );
        assert.deepEqual(named(s, "maintenance-m2-k8s").dependsOn, ["cluster-m2-k8s-join"]);
        const m2 = named(s, "maintenance-m2-k8s");
        assert.equal(envOf(m2, "NODE_NAME"), "m2-k8s");
        assert.equal(envOf(m2, "BACKUP_SCHEDULE"), "daily");
        assert.equal(envOf(m2, "BACKUP_DIRECTORY"), "/var/backups/etcd");
        assert.equal(envOf(m2, "BACKUP_RETENTION"), "7");
        assert.equal(envOf(m2, "RENEWAL_THRESHOLD_DAYS"), "60");
        // The default minor's etcd tools (lab sets no kubernetes.version).
        const tools = ETCD_TOOLS[KUBERNETES_VERSION];
        assert.equal(envOf(m2, "ETCD_RELEASE"), tools.version);
        assert.equal(envOf(m2, "ETCD_RELEASE_URL"), tools.url);
        assert.equal(envOf(m2, "ETCD_RELEASE_SHA256"), `amd64=${tools.sha256.amd64} arm64=${tools.sha256.arm64}`);
        for (const program of ["ETCD_BACKUP_SH", "CERT_RENEWAL_SH", "ETCD_RESTORE_SH", "LIB_SH"]) {
            assert.ok((envOf(m2, program) ?? "").length > 1000, `${program} is carried`);
        }
        // The programs source lib-maintenance.sh from their directory: it is installed with them.
        assert.match(envOf(m2, "LIB_MAINTENANCE_SH") ?? "", /^maintenance_lock\(\) \{$/m);
        for (const program of ["ETCD_BACKUP_SH", "CERT_RENEWAL_SH", "ETCD_RESTORE_SH"]) {
            const libraries = librariesOf(envOf(m2, program)!);
            assert.deepEqual(libraries, ["lib-maintenance"], `${program} sources what is installed next to it`);
        }
        assert.match(envOf(m2, "ETCD_RESTORE_SH")!, /"\$ETCDUTL" snapshot restore/);
        assert.equal(m2.inputs.stdin, undefined, "nothing secret: no standard input");
        assert.ok(!(m2.options.additionalSecretOutputs ?? []).includes("stdout"), "its output (the expiry) is not secret");
        // Workers get none.
        assert.ok(!maintenance.some((c) => /w\d-k8s/.test(c.name)));
    });

    it("downloads the etcd tools of the stack's own minor: kubeadm's etcd release for 1.35 and 1.36, the newest pinned 3.6 for 1.37", async () => {
        const releaseAt = async (version: string) => {
            const s = await synthStack("lab", (raw) => {
                raw.kubernetes = { ...((raw.kubernetes as object | undefined) ?? {}), version };
            });
            const m = named(s, "maintenance-m-k8s");
            return [envOf(m, "ETCD_RELEASE"), envOf(m, "ETCD_RELEASE_SHA256")];
        };
        assert.deepEqual(await releaseAt("1.35"), ["v3.6.6", `amd64=${ETCD_TOOLS["1.35"].sha256.amd64} arm64=${ETCD_TOOLS["1.35"].sha256.arm64}`]);
        assert.deepEqual(await releaseAt("1.36.3"), ["v3.6.8", `amd64=${ETCD_TOOLS["1.36"].sha256.amd64} arm64=${ETCD_TOOLS["1.36"].sha256.arm64}`]);
        assert.deepEqual((await releaseAt("1.37"))[0], "v3.6.14");
    });

    it("fits in one SSH command line (Linux MAX_ARG_STRLEN, 128 KiB, for `sh -c <command>`) with room to spare", async () => {
        const s = await synthStack("lab");
        for (const c of commands(s)) {
            for (const phase of ["create", "delete"] as const) {
                const text = String(unwrapSecrets(c.inputs[phase]) ?? "");
                assert.ok(Buffer.byteLength(text) < 96 * 1024, `${c.name} ${phase}: ${Buffer.byteLength(text)} bytes`);
            }
        }
    });

    it("takes an etcd snapshot on the bootstrap control plane before a joined control plane is removed", async () => {
        const s = await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"]));
        const snapshots = commands(s).filter((c) => c.name.endsWith("-pre-removal-snapshot"));
        assert.deepEqual(snapshots.map((c) => c.name).sort(), ["maintenance-m2-k8s-pre-removal-snapshot", "maintenance-m3-k8s-pre-removal-snapshot"]);
        for (const c of snapshots) {
            const node = c.name.replace(/^maintenance-|-pre-removal-snapshot$/g, "");
            assert.equal(c.inputs.create, undefined, "delete only: no SSH session until the removal");
            assert.equal(scriptOf(c, "delete"), "etcd-backup");
            assert.equal((unwrapSecrets(c.inputs.connection) as { host: string }).host, "192.168.1.10", "on the bootstrap control plane");
            assert.equal(envOf(c, "REASON", "delete"), `before-removal-of-${node}`);
            assert.equal(envOf(c, "NODE_NAME", "delete"), "m-k8s");
            // Deleted before what it depends on: the join, whose delete is `kubeadm reset` (member removal).
            assert.deepEqual(c.dependsOn, [`cluster-${node}-join`]);
        }
    });

    it("exports certificateExpiry per control plane from the step's standard output (not secret)", async () => {
        const report = { node: "m-k8s", checkedAt: "2026-12-06T15:00:00Z", earliestExpiry: "2027-12-06T15:00:00Z", certificates: { apiserver: "2027-12-06T15:00:00Z" }, certificateAuthorities: { ca: "2036-12-04T15:00:00Z" } };
        const s = await synthStack("lab", undefined, {
            mocks: { state: (type, name) => (type === "command:remote:Command" && name === "maintenance-m-k8s" ? { stdout: `${JSON.stringify(report)}\n` } : undefined) },
        });
        assert.equal(s.outputs.certificateExpiry.secret, false);
        assert.deepEqual(s.outputs.certificateExpiry.value, { "m-k8s": report });
        assert.equal(parseExpiry(""), "not reported yet");
        assert.equal(parseExpiry("kubeadm: something odd"), "kubeadm: something odd");
    });
});

describe("what a change of each key re-runs", () => {
    /** Names of the resources whose inputs differ between two syntheses. */
    async function changed(edit: (raw: RawConfig) => void): Promise<string[]> {
        // fingerprint lines are "type name parent hash": a line only on one side is a changed (or added/removed) resource.
        const base = new Set(fingerprint(await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"]))));
        const after = new Set(
            fingerprint(
                await synthStack("lab", (raw) => {
                    threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"])(raw);
                    edit(raw);
                }),
            ),
        );
        const differing = [...base, ...after].filter((line) => !(base.has(line) && after.has(line)));
        return [...new Set(differing.map((line) => line.split(" ")[1]))].sort();
    }
    const allMaintenance = ["maintenance-m-k8s", "maintenance-m2-k8s", "maintenance-m3-k8s"];

    for (const [key, value] of [
        ["etcdBackup", { schedule: "*-*-* 02:30:00" }],
        ["etcdBackup", { enabled: false }],
        ["certRenewal", { thresholdDays: 30 }],
        ["certRenewal", { enabled: false }],
    ] as const) {
        it(`kubernetes.${key} ${JSON.stringify(value)}: only the maintenance steps`, async () => {
            assert.deepEqual(await changed((raw) => withKubernetes({ [key]: value })(raw)), allMaintenance);
        });
    }
    it("kubernetes.etcdBackup directory and retention: the maintenance steps and the (delete-only) snapshot steps' recorded delete", async () => {
        assert.deepEqual(await changed((raw) => withKubernetes({ etcdBackup: { directory: "/srv/etcd", retention: 3 } })(raw)), [
            ...allMaintenance,
            "maintenance-m2-k8s-pre-removal-snapshot",
            "maintenance-m3-k8s-pre-removal-snapshot",
        ].sort());
    });
});

describe("adding nodes", () => {
    it("adding a worker or a control plane leaves the existing maintenance steps' inputs as they are", async () => {
        const one = await synthStack("lab", threeControlPlanes(["m-k8s"]));
        const three = await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"]));
        const grown = await synthStack("lab", (raw) => {
            threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"])(raw);
            (raw.nodes as unknown[]).push({ name: "w4-k8s", ip: "192.168.1.104", role: "worker" });
        });
        assert.deepEqual(named(three, "maintenance-m-k8s").inputs, named(one, "maintenance-m-k8s").inputs, "two more control planes");
        for (const name of ["maintenance-m-k8s", "maintenance-m2-k8s", "maintenance-m3-k8s", "maintenance-m2-k8s-pre-removal-snapshot"]) {
            assert.deepEqual(named(grown, name).inputs, named(three, name).inputs, `${name} would re-run when a worker is added`);
        }
    });
});

describe("etcdSnapshotEnv: the snapshot action other steps call (an upgrade)", () => {
    it("names the reason and refuses one that cannot name a file", () => {
        const backup = { enabled: true, schedule: "daily", directory: "/var/backups/etcd", retention: 7 };
        assert.deepEqual(etcdSnapshotEnv("cp1", backup, "before-upgrade-to-1.36.1"), {
            NODE_NAME: "cp1",
            DIRECTORY: "/var/backups/etcd",
            RETENTION: "7",
            REASON: "before-upgrade-to-1.36.1",
        });
        assert.throws(() => etcdSnapshotEnv("cp1", backup, "Before Upgrade"), /lowercase letters, digits/);
    });
});
