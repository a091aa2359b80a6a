/**
 * Three control planes under the real Pulumi engine on simulated hosts (test/e2e/hosts): the
 * bootstrap node runs kubeadm init (and the real control plane), the two others join as control
 * planes (kubeadm-certs downloaded with the token, decrypted with the certificate key), and
 * re-ordering the control planes is refused before anything runs (issue 19, assertion 5).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { collectingRejections, EngineWorld, simNode } from "./hosts/engineStack";
import { missingForEngineTests } from "./hosts/simHosts";

const SUBNET = "10.213.72";
const [CP1, CP2, CP3, W1] = ["cp1", "cp2", "cp3", "w1"].map((n) => simNode(SUBNET, n));
// Three control planes need an endpoint of their own (no HAProxy here): the bootstrap node's.
const KUBERNETES = { controlPlaneEndpoint: `${CP1.ip}:6443` };
const world = new EngineWorld(SUBNET, [CP1, CP2, CP3, W1], "e2e-ha");
const { h, e, sessions } = world;
function labelsOf(node: string): string {
    return h().ssh(CP1.name, `kubectl --kubeconfig /etc/kubernetes/admin.conf get node ${node} -o jsonpath='{.metadata.labels}'`);
}

describe("the program under the real engine: three control planes on simulated hosts", { skip: missingForEngineTests(), timeout: 3_600_000 }, () => {
    before(async () => {
        await world.start();
        await world.configure({ kubernetes: KUBERNETES });
    });
    after(world.stop);

    test("up: cp1 initialises, cp2 and cp3 join as control planes, w1 as a worker", async () => {
        await e().up();
        assert.ok(h().calls(CP1.name).some((c) => c.startsWith("kubeadm init")), "init on cp1");
        for (const cp of [CP2, CP3]) {
            assert.ok(!h().calls(cp.name).some((c) => c.startsWith("kubeadm init")), `no init on ${cp.name}`);
            assert.match(labelsOf(cp.name), /"node-role.kubernetes.io\/control-plane":""/, `${cp.name} is a control plane`);
            assert.ok(h().file(cp.name, "/etc/kubernetes/pki/ca.key"), `${cp.name} got the shared certificates`);
        }
        assert.doesNotMatch(labelsOf(W1.name), /node-role.kubernetes.io\/control-plane/, "w1 is a worker");
        await e().preview({ expectNoChanges: true });
    });

    test("(5) re-ordered control planes are refused with the bootstrap-node message; nothing runs", async () => {
        const before = sessions();
        await world.configure({ kubernetes: KUBERNETES }, [CP2, CP1, CP3, W1]);
        const { rejections } = await collectingRejections(() => assert.rejects(e().up(), /kubernetes\.bootstrapNode[\s\S]*initialised on cp1[\s\S]*"cp1"/));
        // The inline program runs in this process: every registration that used the refused value
        // rejects too (the refusal, wrapped in "error serializing property …"). Nothing else may.
        assert.ok(rejections.length > 0, "the refused value reached the registrations that use it");
        for (const r of rejections) {
            assert.match(String(r instanceof Error ? r.message : r), /initialised on cp1/);
        }
        assert.deepEqual(sessions(), before, "no SSH session was opened");
    });

    test("(5) re-ordered with kubernetes.bootstrapNode set to the node it was initialised on: init and joins stay", async () => {
        await world.configure({ kubernetes: { ...KUBERNETES, bootstrapNode: CP1.name } }, [CP2, CP1, CP3, W1]);
        const { steps } = await e().preview();
        // A read is the version record's (a StackReference to this stack, read at every run).
        const changed = steps.filter((st) => st.op !== "same" && st.op !== "read" && st.type !== "pulumi:pulumi:Stack");
        const name = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
        // What may change: each node's /etc/hosts block (its lines follow the config's order), and
        // the empty ClusterMember component the refused run above registered for cp1 before the
        // program failed (components are recorded when registered; it has no children).
        const allowed = (st: { op: string; type: string; urn: string }) =>
            (st.type === "command:remote:Command" && /-hosts$/.test(name(st.urn)) && st.op === "update") ||
            (st.type === "k8s-platform:cluster:ClusterMember" && name(st.urn) === "cluster-cp1" && st.op === "delete");
        assert.deepEqual(changed.filter((st) => !allowed(st)).map((st) => `${st.op} ${name(st.urn)}`), [], "nothing else changes: no init, join, reset or replacement");
    });
});
