/**
 * README "Removing a node whose host is gone", for a control plane, under the real Pulumi engine
 * (v3.276.0): the program's own dependency graph (test/programs/removalGraph.ts: lab with three
 * control planes, then without m3-k8s), replayed with one random.RandomString per resource under
 * the same name and dependsOn, so the engine plans exactly what it would plan for the program,
 * without hosts. What the procedure relies on:
 *  - `pulumi state delete` of the node's join alone is refused while its dependents are in state
 *    (the README's former procedure);
 *  - `pulumi up --exclude <join>` with the node out of config deletes everything that depends on
 *    the join — the etcd quorum check, then the drain, then the etcd member's removal (the order
 *    their dependsOn give) — and keeps the join and what it depends on (Node object, preparation);
 *  - then `state delete <join>` succeeds and a plain `up` deletes the rest: nothing of the node is
 *    left, and no step ran against the join (kubeadm reset on the dead host).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as random from "@pulumi/random";
import { EngineStack, engineSkipReason } from "./engine";

type Graph = Record<string, string[]>;
const JOIN = "cluster-m3-k8s-join";

function removalGraphs(): { before: Graph; after: Graph } {
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "..", "programs", "removalGraph.ts")], { encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { before: Graph; after: Graph };
}

/** What `name` depends on, directly or not. */
function dependencies(g: Graph, name: string): Set<string> {
    const found = new Set<string>();
    const next = [...(g[name] ?? [])];
    while (next.length > 0) {
        const d = next.pop()!;
        if (!found.has(d)) {
            found.add(d);
            next.push(...(g[d] ?? []));
        }
    }
    return found;
}

/** Every resource that depends on `name`, directly or not. */
function dependents(g: Graph, name: string): Set<string> {
    const found = new Set<string>();
    let grew = true;
    while (grew) {
        grew = false;
        for (const [r, deps] of Object.entries(g)) {
            if (!found.has(r) && deps.some((d) => d === name || found.has(d))) {
                found.add(r);
                grew = true;
            }
        }
    }
    return found;
}

describe("a control plane whose host is gone: the README's procedure under the real engine", { skip: engineSkipReason(["random"]) }, () => {
    let graphs: { before: Graph; after: Graph };
    let current: Graph = {};
    let stack: EngineStack;
    const urn = (name: string) => `urn:pulumi:host-gone::e2e::random:index/randomString:RandomString::${name}`;
    const inState = async () => new Set((await stack.resources()).filter((r) => r.type === "random:index/randomString:RandomString").map((r) => r.urn.split("::").pop()!));

    before(async () => {
        graphs = removalGraphs();
        current = graphs.before;
        // Declared in dependency order; each one's dependsOn as the program declares it.
        stack = await EngineStack.create("host-gone", async () => {
            const made = new Map<string, random.RandomString>();
            const make = (name: string): random.RandomString => {
                const existing = made.get(name);
                if (existing) {
                    return existing;
                }
                const r = new random.RandomString(name, { length: 4, special: false }, { dependsOn: current[name].filter((d) => d in current).map(make) });
                made.set(name, r);
                return r;
            };
            Object.keys(current).forEach(make);
        });
        await stack.up();
    });
    after(() => stack?.remove());

    it("the graph: the join's dependents are the drain, the etcd steps, the snapshot and what else runs after the join; its dependencies stay", () => {
        const gone = Object.keys(graphs.before).filter((n) => !(n in graphs.after));
        const deps = dependents(graphs.before, JOIN);
        for (const name of ["cluster-m3-k8s-etcd-quorum", "cluster-m3-k8s-membership", "cluster-m3-k8s-etcd-member", "maintenance-m3-k8s-pre-removal-snapshot"]) {
            assert.ok(deps.has(name), `${name} depends on the join`);
        }
        assert.ok(graphs.before[JOIN].includes("cluster-m3-k8s-node-object"));
        assert.ok(gone.includes(JOIN));
    });

    it("state delete of the join alone is refused while its dependents are in state", async () => {
        const r = stack.runCli(["state", "delete", urn(JOIN), "--yes"]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /can't be safely deleted because the following resources depend on it/);
        assert.ok((await inState()).has(JOIN));
    });

    it("node removed, `up --exclude <join>`: its dependents are deleted, quorum check → drain → member removal; the join and its dependencies stay", async () => {
        current = graphs.after;
        const deleted: string[] = [];
        await stack.stack.up({
            color: "never",
            exclude: [urn(JOIN)],
            onEvent: (e) => {
                const m = e.resOutputsEvent?.metadata;
                if (m && m.op === "delete") {
                    deleted.push(m.urn.split("::").pop()!);
                }
            },
        });
        // Everything of the node but the join and what it depends on (the exclusion's closure:
        // pkg/resource/deploy/step_generator.go getExcludeDependencies); what depends on the join among it.
        const kept = dependencies(graphs.before, JOIN);
        const expected = Object.keys(graphs.before).filter((n) => !(n in graphs.after) && n !== JOIN && !kept.has(n)).sort();
        assert.deepEqual([...deleted].sort(), expected);
        for (const name of dependents(graphs.before, JOIN)) {
            assert.ok(deleted.includes(name) || name in graphs.after, `${name} (depends on the join) is deleted`);
        }
        const at = (n: string) => deleted.indexOf(n);
        assert.ok(at("cluster-m3-k8s-etcd-quorum") < at("cluster-m3-k8s-membership"), deleted.join(" "));
        assert.ok(at("cluster-m3-k8s-membership") < at("cluster-m3-k8s-etcd-member"), deleted.join(" "));
        const left = await inState();
        // The leftover member's removal (created before the join) too: it runs after the join's delete.
        for (const name of [JOIN, "cluster-m3-k8s-node-object", "cluster-m3-k8s-prepare", "cluster-m3-k8s-etcd-member-leftover"]) {
            assert.ok(left.has(name), `${name} stays`);
        }
    });

    it("then `state delete <join>` succeeds and `up` removes the rest of the node; nothing of it is left", async () => {
        const r = stack.runCli(["state", "delete", urn(JOIN), "--yes"]);
        assert.equal(r.status, 0, r.stderr);
        await stack.up();
        const left = await inState();
        assert.deepEqual([...left].filter((n) => n.includes("m3-k8s")), []);
        assert.deepEqual([...left].sort(), Object.keys(graphs.after).sort());
    });
});
