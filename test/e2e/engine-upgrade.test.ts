/**
 * A Kubernetes upgrade (kubernetes.version one minor up) under the real Pulumi engine on simulated
 * hosts (issue 19 assertion 7; README "Upgrading Kubernetes"): one control plane and two workers
 * at 1.35 (the stand-in of pkgs.k8s.io, test/realroot/make-repos.sh, serves 1.35 and 1.36).
 *   - the record: a brand-new stack's first `up` records kubernetesVersion through the
 *     StackReference to itself (none existed yet), and the next preview changes nothing;
 *   - a skipped minor (1.35 -> 1.37) is refused, nothing run on any host;
 *   - 1.36 over the containerd the first up recorded (containerdVersions: Debian's 2.1; 1.36 needs
 *     2.2.0+) is refused at preview and up, nothing run; the README's procedure (Docker's
 *     containerd.io installed, `pulumi up --replace` of each preparation at 1.35) records 2.2.0;
 *   - 1.35 -> 1.36: the preview plans exactly the upgrade steps, the nodes' preparation and
 *     reachability checks and the control plane's maintenance step (the new minor's etcd tools);
 *     the `up` runs `kubeadm upgrade apply` on the control plane first, then each worker drained,
 *     `kubeadm upgrade node`, uncordoned, one at a time (maxUnavailable 1); the second worker's
 *     kubeadm fails (the stub's fail-at hook), so that `up` fails, keeping kubernetesVersion at 1.35;
 *     the next `up` resumes the second worker only and records 1.36; a third `up` runs nothing;
 *   - a node added in the same up as 1.36 -> 1.37 is refused at preview and up, nothing run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { changedSteps, collectingRejections, EngineWorld, errorText, nameOf, now, simNode, StepSeen } from "./hosts/engineStack";
import { missingForEngineTests } from "./hosts/simHosts";

const SUBNET = "10.213.76";
const [CP, W1, W2] = ["cp1", "w1", "w2"].map((n) => simNode(SUBNET, n));
const ALL = [CP, W1, W2];
const ADMIN = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
const world = new EngineWorld(SUBNET, ALL, "e2e-upgrade");
const { h, e, sessions, callCounts, assertRefused } = world;
// No scheduled etcd snapshots: the simulated etcd serves plain HTTP without kubeadm's etcd client
// certificates (test/e2e/hosts/node/kubeadm), which the snapshot before `kubeadm upgrade apply` uses.
const configure = (version: string) => world.configure({ kubernetes: { version, etcdBackup: { enabled: false } } });
const changed = (steps: StepSeen[]): string[] => changedSteps(steps).map((s) => `${s.op} ${nameOf(s.urn)}`).sort();
const recorded = async (): Promise<unknown> => (await e().outputs()).kubernetesVersion;

/** Every node's stubbed commands since `t0`, merged in time order, as "<node>: <call>". */
function timeline(t0: number): string[] {
    return ALL.flatMap((n) => h().timedCalls(n.name).filter((c) => c.at >= t0).map((c) => ({ at: c.at, line: `${n.name}: ${c.call}` })))
        .sort((a, b) => a.at - b.at)
        .map((c) => c.line);
}
/** The upgrade's own steps out of a timeline (kubeadm upgrade, drain, uncordon), in order. */
const upgradeSteps = (lines: string[]): string[] =>
    lines
        .filter((l) => /: (kubeadm upgrade (apply|node)|kubectl .*\b(drain|uncordon)\b)/.test(l))
        .map((l) => l.replace(/: kubectl .*\b(drain|uncordon) (\S+).*/, ": $1 $2").replace(/: (kubeadm upgrade (apply \S+|node)).*/, ": $1"));

/** Node name -> the kubelet version and whether it is cordoned, as the API server says. */
function nodeStates(): Record<string, string> {
    const out = h().ssh(CP.name, `${ADMIN} get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.spec.unschedulable}{"\\n"}{end}'`);
    return Object.fromEntries(out.split("\n").filter(Boolean).map((l) => { const [n, u] = l.split("="); return [n, u === "true" ? "cordoned" : "schedulable"]; }));
}
const installed = (node: string, pkg: string): string => h().ssh(node, `dpkg-query -W -f='\${Version}' ${pkg}`).trim();

describe("Kubernetes upgrade under the real engine: 1 control plane + 2 workers, 1.35 -> 1.36", { skip: missingForEngineTests(), timeout: 3_600_000 }, () => {
    before(async () => {
        await world.start();
        await configure("1.35");
    });
    after(world.stop);

    test("a brand-new stack: the first up records kubernetesVersion through the StackReference to itself; the next preview changes nothing", async () => {
        await e().up();
        assert.equal(await recorded(), "1.35");
        await e().preview({ expectNoChanges: true });
    });

    test("a skipped minor (1.35 -> 1.37) is refused at preview and up; nothing runs on any host", async () => {
        await configure("1.37");
        await assertRefused([/k8s-platform:kubernetes\.version: the cluster runs 1\.35 \(recorded by the last completed `pulumi up`\), the config now gives 1\.37: it skips minor 1\.36;/]);
        assert.equal(await recorded(), "1.35");
    });

    test("1.36 over a recorded containerd below its minimum (Debian's 2.1; 1.36 needs 2.2.0+) is refused at preview and up, naming each node; nothing runs", async () => {
        const before = (await e().outputs()).containerdVersions as Record<string, string>;
        assert.deepEqual(Object.keys(before).sort(), ["cp1", "w1", "w2"]);
        for (const v of Object.values(before)) {
            assert.match(v, /^2\.1\.\d+$/);
        }
        await configure("1.36");
        const [s0, c0] = [sessions(), callCounts()];
        for (const run of [() => e().preview(), () => e().up()]) {
            const { result: err } = await collectingRejections(() => run().then(() => undefined, (x: unknown) => x));
            assert.ok(err, "the run was refused");
            assert.match(
                errorText(err),
                new RegExp(
                    "k8s-platform:kubernetes\\.version: Kubernetes 1\\.36 needs containerd 2\\.3\\.0\\+ or 2\\.2\\.0\\+ .*" +
                        `but cp1 runs containerd ${before.cp1}, w1 runs containerd ${before.w1}, w2 runs containerd ${before.w2} .*` +
                        "the upgrade to 1\\.36 \\(from 1\\.35\\) is refused before anything runs .*`pulumi up --replace '<URN>'` for cluster-cp1-prepare, cluster-w1-prepare, cluster-w2-prepare",
                ),
            );
        }
        assert.deepEqual(sessions(), s0, "no SSH session was opened on any host");
        assert.deepEqual(callCounts(), c0, "no stubbed command ran on any host");
        assert.equal(await recorded(), "1.35");
    });

    test("1.35 -> 1.36: the preview plans the upgrade steps, preparation, reachability and maintenance, nothing else", async () => {
        // The operator's step first (README: 1.36 needs containerd 2.2.0+, CONTAINERD_MINIMUMS;
        // the hosts run Debian's 2.1): a supported containerd.io, from a repository signed with
        // the key the nodes already trust (the pkgs.k8s.io stand-in's).
        for (const n of ALL) {
            h().ssh(n.name, `echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] ${h().hubUrl}/containerd-2.2/ /' > /etc/apt/sources.list.d/containerd.list && ` +
                "apt-mark unhold containerd && apt-get -q update 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get -q install -y containerd.io containerd- runc- 2>&1 && containerd --version");
        }
        // Recorded at the running version: each preparation replaced (it runs again, idempotent), nothing else.
        await configure("1.35");
        const prepares = ALL.map((n) => `cluster-${n.name}-prepare`);
        const rerecord = await e().up({ replace: prepares });
        assert.deepEqual(changed(rerecord.steps), prepares.flatMap((p) => [`create-replacement ${p}`, `delete-replaced ${p}`, `replace ${p}`]).sort());
        assert.deepEqual((await e().outputs()).containerdVersions, { cp1: "2.2.0", w1: "2.2.0", w2: "2.2.0" });
        assert.equal(await recorded(), "1.35");
        await configure("1.36");
        const plan = await e().preview();
        // The reachability checks are create-only commands keyed on the preparation: they run again by replacement.
        assert.deepEqual(changed(plan.steps), [
            "update cluster-cp1-prepare",
            "update cluster-w1-prepare",
            "update cluster-w2-prepare",
            ...ALL.flatMap((n) => [`create-replacement cluster-${n.name}-reachable`, `delete-replaced cluster-${n.name}-reachable`, `replace cluster-${n.name}-reachable`]),
            "update maintenance-cp1",
            "update upgrade-cp1",
            "update upgrade-w1",
            "update upgrade-w2",
        ].sort());
    });

    test("the up upgrades the control plane, then each worker drained and uncordoned, one at a time; a worker's failure keeps 1.35 recorded and the next up resumes it", async () => {
        // w2's `kubeadm upgrade node` fails once, after its drain (the stub's hook).
        h().ssh(W2.name, "echo upgrade/kubelet-config > /var/lib/k8sp-stub/fail-at");
        const t0 = now();
        const failed = await e().up().then(() => undefined, (x: unknown) => x);
        assert.ok(failed, "the up failed");
        assert.match(errorText(failed), /upgrade-w2/);
        const first = upgradeSteps(timeline(t0));
        assert.deepEqual(first, [
            "cp1: kubeadm upgrade apply v1.36.1",
            "w1: drain w1",
            "w1: kubeadm upgrade node",
            "w1: uncordon w1",
            "w2: drain w2",
            "w2: kubeadm upgrade node",
        ]);
        assert.equal(await recorded(), "1.35", "a failed up keeps the version recorded before it");
        assert.equal(nodeStates().w2, "cordoned", "w2 stays cordoned until its upgrade finishes");
        assert.match(installed(W1.name, "kubelet"), /^1\.36\.1-/);
        assert.match(h().file(CP.name, "/etc/kubernetes/manifests/kube-apiserver.yaml") ?? "", /kube-apiserver:v1\.36\.1$/m);

        // The plan still carries the version change: only w2's upgrade is left, with the steps
        // the failed up did not record (its own).
        const t1 = now();
        const resumed = await e().up();
        assert.deepEqual(
            changed(resumed.steps).filter((s) => s.startsWith("update upgrade-")),
            ["update upgrade-w2"],
            "only w2's upgrade runs again",
        );
        assert.deepEqual(upgradeSteps(timeline(t1)), ["w2: drain w2", "w2: kubeadm upgrade node", "w2: uncordon w2"]);
        assert.equal(await recorded(), "1.36");
        assert.deepEqual(nodeStates(), { cp1: "schedulable", w1: "schedulable", w2: "schedulable" });
        for (const n of ALL) {
            for (const pkg of ["kubeadm", "kubelet", "kubectl"]) {
                assert.match(installed(n.name, pkg), /^1\.36\.1-/, `${n.name} ${pkg}`);
            }
            assert.match(h().file(n.name, "/var/lib/kubelet/config.yaml") ?? "", /kubelet-config of the cluster at v1\.36\.1/, `${n.name}'s kubelet configuration`);
        }
        assert.match(h().ssh(CP.name, `${ADMIN} -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}'`), /^kubernetesVersion: v1\.36\.1$/m);

        // A second up (and a preview) runs nothing.
        const [s2, c2] = [sessions(), callCounts()];
        const again = await e().up();
        assert.deepEqual(changed(again.steps), [], "the second up changes nothing");
        assert.deepEqual(sessions(), s2, "no SSH session was opened");
        assert.deepEqual(callCounts(), c2, "no stubbed command ran");
        await e().preview({ expectNoChanges: true });
    });

    test("a node added in the same up as the next minor (1.36 -> 1.37) is refused at preview and up against the recorded nodes output; nothing runs", async () => {
        // w3: a host that never runs here (the refusal comes before anything dials it). Last: a
        // refused up leaves the empty components it declared in state (the next up removes them).
        await world.configure({ kubernetes: { version: "1.37", etcdBackup: { enabled: false } } }, [...ALL, simNode(SUBNET, "w3")]);
        await assertRefused([/k8s-platform:nodes: w3 is new \(not among the nodes the last completed `pulumi up` recorded, the stack output `nodes`\), and k8s-platform:kubernetes\.version moves the cluster from 1\.36 to 1\.37 in the same `pulumi up`: refused before anything runs/]);
        assert.equal(await recorded(), "1.36");
    });
});
