// Kubernetes upgrades by changing kubernetes.version (issue 16 item 1): the skew rules (pure), the
// recorded version (the stack output kubernetesVersion, read back through a StackReference to the
// stack itself), and what the next `up` runs on a version bump.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";
import { checkNodesAddedDuringUpgrade, checkRecordedContainerd, CONTAINERD_MINIMUMS, containerdSupported, KUBERNETES_VERSION, planKubernetesVersion } from "../config";
import { containerdVersionOf } from "../components/nodeHost";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, nextUp } from "../tools/synthDiff";
import { MockOverrides } from "../tools/mockRuntime";
import { commands, envOf, named, RawConfig, scriptOf, synthStack, threeControlPlanes } from "./helpers";

const recordedAs = (version: string): MockOverrides => ({
    state: (type) => (type === "pulumi:pulumi:StackReference" ? { outputs: { kubernetesVersion: version } } : undefined),
});
const withVersion = (version: string | undefined, more?: (raw: RawConfig) => void) => (raw: RawConfig) => {
    const kubernetes = { ...((raw.kubernetes ?? {}) as Record<string, unknown>) };
    if (version === undefined) delete kubernetes.version;
    else kubernetes.version = version;
    raw.kubernetes = kubernetes;
    more?.(raw);
};
function changeAgainstRecord(recorded: string, configured: string, containerd?: Record<string, string>, recordedNodes?: string[]): { status: number | null; out: string } {
    const extra = containerd ? [JSON.stringify(containerd)] : [];
    const env = { ...process.env, ...(recordedNodes ? { RECORDED_NODES: recordedNodes.join(",") } : {}) };
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "programs", "versionChange.ts"), recorded, configured, ...extra], { encoding: "utf8", env });
    return { status: run.status, out: run.stdout + run.stderr };
}

describe("kubernetes.version changes: one minor at a time, never down (kubeadm's skew policy)", () => {
    const plan = (recorded: string | undefined, configured: string, explicit = true) => planKubernetesVersion({ recorded, configured, explicit });

    it("a new stack (nothing recorded) takes the configured version", () => {
        assert.deepEqual(plan(undefined, "1.35.2"), { version: "1.35.2", minor: "1.35", upgrade: "none" });
    });
    it("a patch within the minor and the next minor are upgrades", () => {
        assert.deepEqual(plan("1.35.2", "1.35.4"), { version: "1.35.4", minor: "1.35", upgrade: "patch" });
        assert.deepEqual(plan("1.35", "1.35.4"), { version: "1.35.4", minor: "1.35", upgrade: "patch" });
        assert.deepEqual(plan("1.35.2", "1.36.1"), { version: "1.36.1", minor: "1.36", upgrade: "minor" });
        assert.deepEqual(plan("1.35.2", "1.36"), { version: "1.36", minor: "1.36", upgrade: "minor" });
        assert.deepEqual(plan("1.36.1", "1.36.1"), { version: "1.36.1", minor: "1.36", upgrade: "none" });
    });
    it("unset, the version stays the recorded one: a moved default upgrades nothing", () => {
        assert.deepEqual(plan("1.35.2", "1.37", false), { version: "1.35.2", minor: "1.35", upgrade: "none" });
        assert.deepEqual(plan(undefined, KUBERNETES_VERSION, false), { version: KUBERNETES_VERSION, minor: KUBERNETES_VERSION, upgrade: "none" });
    });
    it("a stack from before the record (outputs, no kubernetesVersion) is refused unless kubernetes.version is set", () => {
        // Unset: the default is not known to be what the nodes run; taking it would record it (skew at the next join).
        assert.throws(
            () => planKubernetesVersion({ recorded: undefined, configured: "1.37", explicit: false, existing: true }),
            (e: Error) =>
                e.message.startsWith("k8s-platform:kubernetes.version: this stack predates the Kubernetes version record") &&
                e.message.includes("Set kubernetes.version to the version the cluster runs (`kubectl version` or `kubeadm version` on a control plane)"),
        );
        // Set: taken as the version the cluster runs, and recorded; nothing upgrades.
        assert.deepEqual(planKubernetesVersion({ recorded: undefined, configured: "1.35.2", explicit: true, existing: true }), { version: "1.35.2", minor: "1.35", upgrade: "none" });
        // A new stack (no outputs) takes the default.
        assert.deepEqual(planKubernetesVersion({ recorded: undefined, configured: "1.37", explicit: false, existing: false }), { version: "1.37", minor: "1.37", upgrade: "none" });
    });
    it("a skipped minor is refused, naming the key, both versions and what is allowed", () => {
        assert.throws(
            () => plan("1.35.2", "1.37.0"),
            (e: Error) =>
                e.message.startsWith("k8s-platform:kubernetes.version: the cluster runs 1.35.2 (recorded by the last completed `pulumi up`), the config now gives 1.37.0: it skips minor 1.36;") &&
                e.message.includes('allowed: a patch of 1.35 (e.g. "1.35.3") or the next minor ("1.36" or "1.36.PATCH")'),
        );
        assert.throws(() => plan("1.34.1", "1.37"), /it skips minors 1\.35 to 1\.36/);
    });
    it("a downgrade, of the minor or of the patch, is refused", () => {
        assert.throws(() => plan("1.36.1", "1.35.4"), /the cluster runs 1\.36\.1 .*the config now gives 1\.35\.4: a downgrade;/);
        assert.throws(() => plan("1.35.4", "1.35.2"), /the config now gives 1\.35\.2: a patch downgrade;/);
    });
});

describe("the recorded version, through the program (the stack output kubernetesVersion)", () => {
    it("refusals stop the program before anything runs; allowed changes and an unset version go through", () => {
        const skip = changeAgainstRecord("1.34.5", "1.36.1");
        assert.equal(skip.status, 1, skip.out);
        assert.match(skip.out, /k8s-platform:kubernetes\.version: the cluster runs 1\.34\.5 .*the config now gives 1\.36\.1: it skips minor 1\.35;/);
        const down = changeAgainstRecord("1.36.1", "1.35.2");
        assert.equal(down.status, 1, down.out);
        assert.match(down.out, /the cluster runs 1\.36\.1 .*the config now gives 1\.35\.2: a downgrade;/);
        assert.match(changeAgainstRecord("1.35.2", "1.36.1").out, /^synthesized: 1\.36\.1$/m);
        // kubernetes.version unset, the cluster upgraded to 1.36.1 earlier: it stays there (the default is 1.35).
        assert.match(changeAgainstRecord("1.36.1", "unset").out, /^synthesized: 1\.36\.1$/m);
        // A stack from before the record: refused when unset, the set version taken when set.
        const preRecord = changeAgainstRecord("pre-record", "unset");
        assert.equal(preRecord.status, 1, preRecord.out);
        assert.match(preRecord.out, /k8s-platform:kubernetes\.version: this stack predates the Kubernetes version record .*Set kubernetes\.version to the version the cluster runs/);
        assert.doesNotMatch(preRecord.out, /^synthesized:/m);
        assert.match(changeAgainstRecord("pre-record", "1.35.2").out, /^synthesized: 1\.35\.2$/m);
    });

    it("the stack exports the version it brought the cluster to, and reads it back from its own outputs", async () => {
        const s = await synthStack("lab", withVersion("1.36.1"), { mocks: recordedAs("1.35.2") });
        assert.equal(s.outputs.kubernetesVersion.value, "1.36.1");
        const ref = named(s, "kubernetes-version-record");
        assert.equal(ref.type, "pulumi:pulumi:StackReference");
        assert.equal(ref.inputs.name, "organization/k8s-platform/lab");
        const fresh = await synthStack("lab");
        assert.equal(fresh.outputs.kubernetesVersion.value, KUBERNETES_VERSION);
    });
});

describe("containerd below the planned minor's minimum: refused at preview from the recorded containerdVersions", () => {
    const m136 = CONTAINERD_MINIMUMS["1.36"];
    it("the minimum rule is prepare-node.sh's: a listed line at its minimum, or a line newer than every listed one", () => {
        assert.equal(containerdSupported("2.2.0", m136), true);
        assert.equal(containerdSupported("2.3.4", m136), true);
        assert.equal(containerdSupported("2.4.0", m136), true);
        assert.equal(containerdSupported("2.1.9", m136), false);
        assert.equal(containerdSupported("1.7.28", m136), false);
        assert.equal(containerdSupported("2.1.5", CONTAINERD_MINIMUMS["1.35"]), true);
        assert.equal(containerdSupported("2.1.4", CONTAINERD_MINIMUMS["1.35"]), false);
        assert.equal(containerdSupported("2.0.7", CONTAINERD_MINIMUMS["1.35"]), false);
        assert.equal(containerdSupported("garbage", m136), false);
    });

    const check = (containerd: Record<string, string> | undefined, nodes = ["cp1", "w1", "w2"]) => () =>
        checkRecordedContainerd({
            plan: { version: "1.36.1", minor: "1.36", upgrade: "minor" },
            recordedVersion: "1.35.2",
            containerd,
            nodes,
            minimums: m136,
            prepareStep: (n) => `cluster-${n}-prepare`,
        });
    it("names the key, every node below with its version, the minimum and the procedure", () => {
        assert.throws(check({ cp1: "2.2.0", w1: "1.7.28", w2: "2.1.5" }), (e: Error) => {
            assert.match(e.message, /^k8s-platform:kubernetes\.version: Kubernetes 1\.36 needs containerd 2\.3\.0\+ or 2\.2\.0\+ /);
            assert.match(e.message, /but w1 runs containerd 1\.7\.28, w2 runs containerd 2\.1\.5 \(recorded by the node's last preparation/);
            assert.doesNotMatch(e.message, /cp1 runs/);
            assert.match(e.message, /the upgrade to 1\.36\.1 \(from 1\.35\.2\) is refused before anything runs \(nothing was changed\)/);
            assert.match(e.message, /Upgrade containerd on w1, w2 first \(Rocky\/RHEL: `dnf versionlock delete containerd\.io && dnf upgrade containerd\.io && dnf versionlock add containerd\.io`/);
            assert.match(e.message, /kubernetes\.version still at 1\.35\.2: `pulumi up --replace '<URN>'` for cluster-w1-prepare, cluster-w2-prepare/);
            return true;
        });
    });
    it("no record (a stack last prepared before it, a new node) and nodes at the minimum pass; a removed node is not checked", () => {
        check(undefined)();
        check({})();
        check({ cp1: "2.2.0", w1: "2.3.1" })();
        check({ cp1: "2.2.0", gone: "1.7.28" })();
    });
    it("prepare-node.sh's last standard-output line is the record; none without it", () => {
        assert.equal(containerdVersionOf("Adding versionlock on: containerd.io-0:1.7.28-1.*\ncontainerd-version=1.7.28\n"), "1.7.28");
        assert.equal(containerdVersionOf("containerd-version=1.7.28\ncontainerd-version=2.2.0\n"), "2.2.0");
        assert.equal(containerdVersionOf(""), undefined);
        assert.equal(containerdVersionOf(undefined), undefined);
    });
    it("through the program: a bump over a recorded containerd below the new minimum fails the program; at or above it, or without a record, it goes through", () => {
        const refused = changeAgainstRecord("1.35.2", "1.36.1", { "m-k8s": "2.2.0", "w1-k8s": "2.1.5" });
        assert.equal(refused.status, 1, refused.out);
        assert.match(refused.out, /k8s-platform:kubernetes\.version: Kubernetes 1\.36 needs containerd 2\.3\.0\+ or 2\.2\.0\+ .*but w1-k8s runs containerd 2\.1\.5 .*`pulumi up --replace '<URN>'` for cluster-w1-k8s-prepare /);
        assert.doesNotMatch(refused.out, /^synthesized:/m);
        assert.match(changeAgainstRecord("1.35.2", "1.36.1", { "m-k8s": "2.2.0", "w1-k8s": "2.2.0" }).out, /^synthesized: 1\.36\.1$/m);
        // No record yet: prepare-node.sh refuses during the up, as before.
        assert.match(changeAgainstRecord("1.35.2", "1.36.1").out, /^synthesized: 1\.36\.1$/m);
        // The same containerd at the running minor (1.35 takes 2.1.5+): nothing refused.
        assert.match(changeAgainstRecord("1.35.2", "1.35.4", { "w1-k8s": "2.1.5" }).out, /^synthesized: 1\.35\.4$/m);
    });
    it("the stack exports each node's containerd version from its preparation's standard output", async () => {
        const s = await synthStack("lab", withVersion("1.35.2"), {
            mocks: {
                state: (type, name) =>
                    type === "command:remote:Command" && name.endsWith("-prepare")
                        ? { stdout: `containerd-version=${name.startsWith("cluster-w1") ? "2.1.5" : "2.2.0"}\n` }
                        : type === "pulumi:pulumi:StackReference"
                          ? { outputs: { kubernetesVersion: "1.35.2" } }
                          : undefined,
            },
        });
        assert.deepEqual(s.outputs.containerdVersions.value, { "m-k8s": "2.2.0", "w1-k8s": "2.1.5", "w2-k8s": "2.2.0", "w3-k8s": "2.2.0" });
    });
});

describe("nodes added in the same up as a version change: refused at preview (compared with the recorded nodes output)", () => {
    const minor = { version: "1.36.1", minor: "1.36", upgrade: "minor" } as const;
    const patch = { version: "1.35.4", minor: "1.35", upgrade: "patch" } as const;
    const now = [
        { name: "cp1", role: "control-plane" },
        { name: "cp2", role: "control-plane" },
        { name: "w1", role: "worker" },
        { name: "w2", role: "worker" },
    ] as const;
    const check = (plan: typeof minor | typeof patch | { version: string; minor: string; upgrade: "none" }, recordedNodes: string[] | undefined) => () =>
        checkNodesAddedDuringUpgrade({ plan, recordedVersion: "1.35.2", recordedNodes, nodes: now });
    it("a minor with added nodes: refused, naming the keys, every added node, both versions, why and both procedures", () => {
        assert.throws(check(minor, ["cp1", "w1"]), (e: Error) => {
            assert.match(e.message, /^k8s-platform:nodes: cp2, w2 are new \(not among the nodes the last completed `pulumi up` recorded, the stack output `nodes`\), and k8s-platform:kubernetes\.version moves the cluster from 1\.35\.2 to 1\.36\.1 in the same `pulumi up`: refused before anything runs \(nothing was changed\)\./);
            assert.match(e.message, /a control plane's join fails kubeadm's preflight \(\[ERROR KubeletVersion\]\)/);
            assert.match(e.message, /upgrade first \(leave cp2, w2 out of nodes, `pulumi up`; then add them, `pulumi up`/);
            assert.match(e.message, /or add first \(kubernetes\.version at 1\.35\.2, `pulumi up`; then 1\.36\.1, `pulumi up`/);
            return true;
        });
    });
    it("a patch: an added control plane is refused (it would stay at the old patch), an added worker is not (the skew rules are per minor)", () => {
        assert.throws(check(patch, ["cp1", "w1"]), (e: Error) => e.message.startsWith("k8s-platform:nodes: cp2 is new ") && /would stay at 1\.35\.2/.test(e.message));
        check(patch, ["cp1", "cp2", "w1"])();
    });
    it("no version change, no added node, or no record (a new stack): nothing refused", () => {
        check({ version: "1.35.2", minor: "1.35", upgrade: "none" }, ["cp1"])();
        check(minor, ["cp1", "cp2", "w1", "w2", "gone"])();
        check(minor, undefined)();
    });
    it("through the program: the nodes output of the last completed up is the record (add-on hosts are no nodes)", () => {
        const refused = changeAgainstRecord("1.35.2", "1.36.1", undefined, ["m-k8s", "w1-k8s", "w2-k8s"]);
        assert.equal(refused.status, 1, refused.out);
        assert.match(refused.out, /k8s-platform:nodes: w3-k8s is new .*moves the cluster from 1\.35\.2 to 1\.36\.1 in the same `pulumi up`: refused before anything runs/);
        assert.doesNotMatch(refused.out, /^synthesized:/m);
        // Every node recorded: the upgrade goes through; a node added without a version change too; a worker added with a patch too.
        assert.match(changeAgainstRecord("1.35.2", "1.36.1", undefined, ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]).out, /^synthesized: 1\.36\.1$/m);
        assert.match(changeAgainstRecord("1.35.2", "1.35.2", undefined, ["m-k8s", "w1-k8s"]).out, /^synthesized: 1\.35\.2$/m);
        assert.match(changeAgainstRecord("1.35.2", "1.35.4", undefined, ["m-k8s", "w1-k8s", "w2-k8s"]).out, /^synthesized: 1\.35\.4$/m);
        // A control plane added with a patch: refused.
        const cp = changeAgainstRecord("1.35.2", "1.35.4", undefined, ["w1-k8s", "w2-k8s", "w3-k8s"]);
        assert.equal(cp.status, 1, cp.out);
        assert.match(cp.out, /k8s-platform:nodes: m-k8s is new /);
    });
});

describe("the rollout: one update-only kubeadm-upgrade step per node, in kubeadm's order", () => {
    it("bootstrap control plane, the other control planes one at a time, then workers maxUnavailable at once", async () => {
        const s = await synthStack(
            "lab",
            withVersion("1.35.2", (raw) => {
                threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"])(raw);
                (raw.nodes as unknown[]).push({ name: "w4-k8s", ip: "192.168.1.104", role: "worker" });
                raw.kubernetes = { ...(raw.kubernetes as object), controlPlaneEndpoint: "192.168.1.9", upgrade: { maxUnavailable: 2 } };
            }),
        );
        const steps = commands(s).filter((c) => scriptOf(c, "update") === "kubeadm-upgrade");
        assert.deepEqual(steps.map((c) => c.name).sort(), ["m-k8s", "m2-k8s", "m3-k8s", "w1-k8s", "w2-k8s", "w3-k8s", "w4-k8s"].map((n) => `upgrade-${n}`));
        for (const step of steps) {
            // Nothing runs when it is created (a new cluster, a new node: at the version already).
            assert.equal(step.inputs.create, undefined, step.name);
        }
        const role = (n: string) => envOf(named(s, `upgrade-${n}`), "UPGRADE_ROLE", "update");
        assert.deepEqual(["m-k8s", "m2-k8s", "w1-k8s"].map(role), ["bootstrap", "control-plane", "worker"]);
        const upgradeDeps = (n: string) => named(s, `upgrade-${n}`).dependsOn.filter((d) => d.startsWith("upgrade-")).sort();
        assert.deepEqual(upgradeDeps("m-k8s"), []);
        assert.deepEqual(upgradeDeps("m2-k8s"), ["upgrade-m-k8s"]);
        assert.deepEqual(upgradeDeps("m3-k8s"), ["upgrade-m2-k8s"]);
        assert.deepEqual(upgradeDeps("w1-k8s"), ["upgrade-m3-k8s"]);
        assert.deepEqual(upgradeDeps("w2-k8s"), ["upgrade-m3-k8s"]);
        assert.deepEqual(upgradeDeps("w3-k8s"), ["upgrade-w1-k8s", "upgrade-w2-k8s"]);
        assert.deepEqual(upgradeDeps("w4-k8s"), ["upgrade-w1-k8s", "upgrade-w2-k8s"]);
        // Each waits for its own node's membership; the bootstrap one for the snapshot program too.
        assert.ok(named(s, "upgrade-w4-k8s").dependsOn.includes("cluster-w4-k8s-join"), named(s, "upgrade-w4-k8s").dependsOn.join(" "));
        assert.ok(named(s, "upgrade-m-k8s").dependsOn.includes("maintenance"), named(s, "upgrade-m-k8s").dependsOn.join(" "));
        // The etcd snapshot before `kubeadm upgrade apply` uses the maintenance step's settings on
        // the node: no backup setting is a parameter (a change of kubernetes.etcdBackup runs no
        // upgrade step: test/maintenance.test.ts "what a change of each key re-runs").
        assert.doesNotMatch(String(named(s, "upgrade-m-k8s").inputs.update), /^export (SNAPSHOT|DIRECTORY|RETENTION)/m);
        // Workers drain through the endpoint with the admin kubeconfig, on standard input only.
        assert.equal(envOf(named(s, "upgrade-w1-k8s"), "API_SERVER", "update"), "https://192.168.1.9:6443");
        assert.ok(named(s, "upgrade-w1-k8s").inputs.stdin !== undefined);
        assert.doesNotMatch(String(named(s, "upgrade-w1-k8s").inputs.update), /client-key-data/);
    });

    it("a version bump runs exactly prepare-node and kubeadm-upgrade on every node (a minor: and the maintenance step), nothing else", async () => {
        const before = renderSynthesis(await synthStack("lab", withVersion("1.35.2"), { mocks: recordedAs("1.35.2") }));
        const after = renderSynthesis(await synthStack("lab", withVersion("1.36.1"), { mocks: recordedAs("1.35.2") }));
        const d = compareRenderings("lab", before, after);
        const n = nextUp(d);
        const nodes = ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"];
        // And the control plane's maintenance step: a new minor brings its etcd tools (ETCD_TOOLS per minor).
        assert.deepEqual(
            n.reRun.map((r) => `${r.script}@${r.target}`),
            ["control-plane-maintenance@m-k8s", ...nodes.map((x) => `kubeadm-upgrade@${x}`), ...nodes.map((x) => `prepare-node@${x}`), ...nodes.map((x) => `reachable@${x}`)],
        );
        // A patch keeps the minor's etcd tools: the maintenance step stays.
        const patch = nextUp(compareRenderings("lab", before, renderSynthesis(await synthStack("lab", withVersion("1.35.4"), { mocks: recordedAs("1.35.2") }))));
        assert.deepEqual(
            patch.reRun.map((r) => `${r.script}@${r.target}`),
            [...nodes.map((x) => `kubeadm-upgrade@${x}`), ...nodes.map((x) => `prepare-node@${x}`), ...nodes.map((x) => `reachable@${x}`)],
        );
        assert.deepEqual([n.firstRun, n.deleteRun, n.stateOnly], [[], [], []]);
        assert.match(after["commands/maintenance-m-k8s.sh"], /^export ETCD_RELEASE='v3\.6\.8'$/m);
        assert.match(after["commands/upgrade-m-k8s.sh"], /^export K8S_VERSION='1\.36\.1'$/m);
        assert.match(after["commands/upgrade-m-k8s.sh"], /^# on create: nothing; runs only when its inputs change \(update step\)$/m);
    });

    it("an unchanged version (set or left unset) runs nothing, with the recorded version as the new one", async () => {
        const base = renderSynthesis(await synthStack("lab", withVersion("1.35.2"), { mocks: recordedAs("1.35.2") }));
        const unset = renderSynthesis(await synthStack("lab", withVersion(undefined), { mocks: recordedAs("1.35.2") }));
        const n = nextUp(compareRenderings("lab", base, unset));
        assert.deepEqual([n.reRun, n.firstRun, n.deleteRun, n.stateOnly], [[], [], [], []]);
    });
});
