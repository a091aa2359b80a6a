/**
 * A removed control plane's etcd member (scripts/etcd-member.sh) at the synthesis tier: which steps
 * exist, where they run, the order the removal deletes them in (their dependsOn), and what a
 * change of the node list re-runs. The script itself runs against a real 3-member etcd in
 * test/e2e/etcd-member.test.ts.
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { checkControlPlaneChange } from "../config";
import { unwrapSecrets } from "../tools/mockRuntime";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, nextUp } from "../tools/synthDiff";
import { commands, CONTROL_PLANE_IPS, envOf, hostOf, named, RawConfig, recordedControlPlanes, scriptOf, synthStack, threeControlPlanes } from "./helpers";

const THREE = ["m-k8s", "m2-k8s", "m3-k8s"];
const IPS = CONTROL_PLANE_IPS;
const recorded = recordedControlPlanes;

/** The lab stack with the control planes `configured` against the recorded ones, in a process of its own (a refusal fails the program). */
function change(recordedPlanes: string[] | "none", configured: string[]): { status: number | null; out: string } {
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "programs", "controlPlaneChange.ts"), recordedPlanes === "none" ? "none" : JSON.stringify(recordedPlanes), JSON.stringify(configured)], { encoding: "utf8" });
    return { status: run.status, out: run.stdout + run.stderr };
}

describe("a control plane's etcd member steps", () => {
    it("each joined control plane has a quorum check and a member removal, delete only, on the bootstrap control plane", async () => {
        const s = await synthStack("lab", threeControlPlanes(THREE));
        const steps = commands(s).filter((c) => scriptOf(c, "delete") === "etcd-member");
        assert.deepEqual(steps.map((c) => c.name).sort(), [
            "cluster-m2-k8s-etcd-member",
            "cluster-m2-k8s-etcd-member-leftover",
            "cluster-m2-k8s-etcd-quorum",
            "cluster-m3-k8s-etcd-member",
            "cluster-m3-k8s-etcd-member-leftover",
            "cluster-m3-k8s-etcd-quorum",
        ], "none for the bootstrap control plane (it cannot be removed) or for workers");
        for (const c of steps) {
            const node = c.name.replace(/^cluster-|-etcd-(member-leftover|member|quorum)$/g, "");
            assert.equal(c.inputs.create, undefined, "delete only: no SSH session until the removal");
            assert.equal(hostOf(c), "192.168.1.10", "run on the bootstrap control plane, which survives");
            assert.equal(envOf(c, "ACTION", "delete"), c.name.endsWith("-quorum") ? "check-removal" : "remove");
            assert.equal(envOf(c, "NODE_NAME", "delete"), node);
            assert.equal(envOf(c, "NODE_IP", "delete"), IPS[node], "its member's peer URL is https://<ip>:2380");
            assert.deepEqual(envOf(c, "KEEP_MEMBERS", "delete")!.split(" ").sort(), THREE.filter((n) => n !== node).sort(), "the other control planes' members are never removed");
            const text = String(unwrapSecrets(c.inputs.delete));
            assert.match(text, /K8SP_LIB_MAINTENANCE_LOADED=1/, "carries lib-maintenance.sh (etcdctl as the maintenance step installed it, and its lock)");
        }
    });

    it("the removal deletes in the order etcd-quorum → drain → etcd-member → kubeadm reset → Node object", async () => {
        const s = await synthStack("lab", threeControlPlanes(THREE));
        for (const node of ["m2-k8s", "m3-k8s"]) {
            const p = `cluster-${node}`;
            // A resource is deleted before what it depends on.
            assert.deepEqual(named(s, `${p}-etcd-quorum`).dependsOn, [`${p}-membership`], "the quorum check goes first, before anything changes");
            assert.deepEqual(named(s, `${p}-membership`).dependsOn.sort(), [`${p}-etcd-member`, `${p}-join`].sort(), "the drain before the member's removal");
            assert.deepEqual(named(s, `${p}-etcd-member`).dependsOn, [`${p}-join`], "the member removed before the reset wipes its data");
            assert.ok(named(s, `${p}-join`).dependsOn.includes(`${p}-node-object`), "the Node object goes after the reset");
            assert.ok(named(s, `${p}-join`).dependsOn.includes(`${p}-etcd-member-leftover`), "the leftover member's removal goes after the reset");
        }
        // A worker's drain still depends on its join alone.
        assert.deepEqual(named(s, "cluster-w1-k8s-membership").dependsOn, ["cluster-w1-k8s-join"]);
    });

    it("removing a control plane runs the quorum check and the member removal on the bootstrap control plane, and its reset", async () => {
        const before = renderSynthesis(await synthStack("lab", threeControlPlanes(THREE)));
        const after = renderSynthesis(await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s"]), { mocks: recorded(THREE) }));
        const n = nextUp(compareRenderings("lab", before, after));
        const deletes = n.deleteRun.map((r) => `${r.resource} ${r.script}@${r.target}`);
        for (const expected of [
            "cluster-m3-k8s-etcd-quorum etcd-member@m-k8s",
            "cluster-m3-k8s-etcd-member etcd-member@m-k8s",
            "cluster-m3-k8s-membership cluster-admin@m-k8s",
            "cluster-m3-k8s-join kubeadm-reset@m3-k8s",
        ]) {
            assert.ok(deletes.includes(expected), `${expected} in:\n${deletes.join("\n")}`);
        }
        assert.ok(!deletes.some((d) => d.startsWith("cluster-m2-k8s")), "m2-k8s's steps stay");
        // m2-k8s's etcd steps now keep only m-k8s: recorded in state, nothing runs.
        assert.deepEqual(n.reRun.filter((r) => r.script === "etcd-member"), []);
        assert.ok(n.stateOnly.includes("cluster-m2-k8s-etcd-member") && n.stateOnly.includes("cluster-m2-k8s-etcd-quorum"), n.stateOnly.join(" "));
    });

    it("adding a worker changes no etcd step; adding a control plane changes the others' only in state", async () => {
        const base = await synthStack("lab", threeControlPlanes(THREE));
        const withWorker = await synthStack("lab", (raw: RawConfig) => {
            threeControlPlanes(THREE)(raw);
            (raw.nodes as unknown[]).push({ name: "w4-k8s", ip: "192.168.1.104", role: "worker" });
        });
        const d = compareRenderings("lab", renderSynthesis(base), renderSynthesis(withWorker));
        const n = nextUp(d);
        assert.deepEqual(d.changed.map((c) => c.resource.name).filter((name) => /-etcd-|-membership$|-node-object$/.test(name)), []);
        // What lists every node, as for any added worker (test/synthNextUp.test.ts).
        assert.deepEqual([...new Set(n.reRun.map((r) => r.script))].sort(), ["hosts-block", "join-credentials"]);
        assert.deepEqual(n.deleteRun, []);
        assert.ok(!n.firstRun.some((r) => r.script === "etcd-member"));
        assert.ok(!commands(withWorker).some((c) => c.name === "cluster-w4-k8s-etcd-member"), "a worker has no etcd member");

        const two = renderSynthesis(await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s"]), { mocks: recorded(THREE) }));
        const grown = nextUp(compareRenderings("lab", two, renderSynthesis(base)));
        assert.deepEqual(grown.reRun.filter((r) => r.script === "etcd-member"), [], "delete-only: a new KEEP_MEMBERS runs nothing");
        assert.deepEqual(grown.stateOnly.filter((name) => name.startsWith("cluster-m2-k8s-etcd-")).sort(), ["cluster-m2-k8s-etcd-member", "cluster-m2-k8s-etcd-member-leftover", "cluster-m2-k8s-etcd-quorum"]);
    });

    it("a control plane whose join failed part way still has a member removal: the leftover step comes before the join, and is deleted after its reset", async () => {
        const s = await synthStack("lab", threeControlPlanes(THREE));
        // Everything that (transitively) depends on the join: what a failed join leaves uncreated.
        const dependsOnJoin = (name: string, seen = new Set<string>()): boolean =>
            named(s, name).dependsOn.some((d) => d === "cluster-m3-k8s-join" || (!seen.has(d) && s.resources.some((r) => r.name === d) && (seen.add(d), dependsOnJoin(d, seen))));
        assert.ok(dependsOnJoin("cluster-m3-k8s-etcd-member") && dependsOnJoin("cluster-m3-k8s-etcd-quorum"), "the steps after the join are never created when it fails");
        assert.equal(dependsOnJoin("cluster-m3-k8s-etcd-member-leftover"), false, "the leftover step is created before the join, whatever the join does");
        const leftover = named(s, "cluster-m3-k8s-etcd-member-leftover");
        assert.equal(envOf(leftover, "ACTION", "delete"), "remove", "the removal with its own quorum check (no etcd-quorum step exists then)");

        // And the node removed from config deletes it (the member removal runs), as for any removal:
        // with a failed join, it is the one member removal that exists.
        const before = renderSynthesis(s);
        const after = renderSynthesis(await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s"]), { mocks: recorded(THREE) }));
        const deletes = nextUp(compareRenderings("lab", before, after)).deleteRun.map((r) => `${r.resource} ${r.script}@${r.target}`);
        assert.ok(deletes.includes("cluster-m3-k8s-etcd-member-leftover etcd-member@m-k8s"), deletes.join("\n"));
    });

    it("re-ordering the control planes in nodes changes no etcd step (KEEP_MEMBERS is a set)", async () => {
        const base = await synthStack("lab", threeControlPlanes(THREE));
        // As engine-ha's case (5): another node first, the bootstrap one named by kubernetes.bootstrapNode.
        const reordered = await synthStack("lab", (raw: RawConfig) => {
            threeControlPlanes(["m2-k8s", "m-k8s", "m3-k8s"])(raw);
            raw.kubernetes = { ...(raw.kubernetes as object), bootstrapNode: "m-k8s" };
        });
        const d = compareRenderings("lab", renderSynthesis(base), renderSynthesis(reordered));
        assert.deepEqual(d.changed.map((c) => c.resource.name).filter((name) => /-etcd-/.test(name)), []);
    });
});

describe("control-plane changes the node list refuses at preview (config/controlPlanes.ts, against the output nodes)", () => {
    it("several control planes removed in one up: refused, naming the key, both lists and the one-per-up procedure", () => {
        assert.throws(() => checkControlPlaneChange({ configured: ["m-k8s"], recorded: THREE }), (e: Error) => {
            assert.match(e.message, /^k8s-platform:nodes: this up would remove 2 control planes at once \(m2-k8s, m3-k8s; the last completed up recorded m-k8s, m2-k8s, m3-k8s, the config now has m-k8s\)/);
            assert.match(e.message, /remove one control plane per `pulumi up` \(put m3-k8s back into nodes for now\)\. Nothing was changed\./);
            return true;
        });
        const run = change(THREE, ["m-k8s"]);
        assert.equal(run.status, 1, "the program fails: no command runs");
        assert.match(run.out, /this up would remove 2 control planes at once/);
    });

    it("an even count: refused on a new stack and when control planes are added; allowed on the way down (3 → 2, and kept at 2)", () => {
        assert.throws(() => checkControlPlaneChange({ configured: ["a", "b"] }), /2 control-plane nodes is an even number; .* here this stack has no recorded control planes \(a new stack\)\. Nothing was changed\./);
        assert.throws(() => checkControlPlaneChange({ configured: ["a", "b", "c", "d"], recorded: ["a", "b", "c"] }), /4 control-plane nodes is an even number; .*README "Removing a node whose host is gone"\); here it adds d to the recorded a, b, c/);
        for (const [before, after] of [[["a", "b", "c"], ["a", "b"]], [["a", "b"], ["a", "b"]], [["a", "b", "c", "d", "e"], ["a", "b", "c", "d"]], [["a", "b"], ["a", "b", "c"]], [["a", "b"], ["a"]]]) {
            assert.doesNotThrow(() => checkControlPlaneChange({ configured: after, recorded: before }), `${before} → ${after}`);
        }
        assert.equal(change("none", ["m-k8s", "m2-k8s"]).status, 1);
        assert.match(change("none", ["m-k8s", "m2-k8s"]).out, /k8s-platform:nodes: 2 control-plane nodes is an even number/);
        const down = change(THREE, ["m-k8s", "m2-k8s"]);
        assert.equal(down.status, 0, down.out);
        assert.match(down.out, /^synthesized: cluster-m2-k8s-etcd-member$/m);
    });
});
