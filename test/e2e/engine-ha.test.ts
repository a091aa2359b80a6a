/**
 * Three control planes under the real Pulumi engine on simulated hosts (test/e2e/hosts): the
 * bootstrap node runs kubeadm init (and the real control plane), the two others join as control
 * planes (kubeadm-certs downloaded with the token, decrypted with the certificate key), and
 * re-ordering the control planes is refused before anything runs (issue 19, assertion 5).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { buildTestCharts } from "./hosts/charts";
import { collectingRejections, EngineStack, engineConfig } from "./hosts/engineStack";
import { buildCaches, missingForEngineTests, SimHosts, SimNode } from "./hosts/simHosts";

const SUBNET = "10.213.72";
const CP1: SimNode = { name: "cp1", ip: `${SUBNET}.11`, role: "control-plane" };
const CP2: SimNode = { name: "cp2", ip: `${SUBNET}.12`, role: "control-plane" };
const CP3: SimNode = { name: "cp3", ip: `${SUBNET}.13`, role: "control-plane" };
const W1: SimNode = { name: "w1", ip: `${SUBNET}.21`, role: "worker" };
const ALL = [CP1, CP2, CP3, W1];
// Three control planes need an endpoint of their own (no HAProxy here): the bootstrap node's.
const KUBERNETES = { controlPlaneEndpoint: `${CP1.ip}:6443` };

const skip = missingForEngineTests();
let hosts: SimHosts | undefined;
let engine: EngineStack | undefined;
let chartsDir = "";

function h(): SimHosts {
    assert.ok(hosts, "the simulated hosts did not start");
    return hosts;
}
function e(): EngineStack {
    assert.ok(engine, "the engine stack was not created");
    return engine;
}
const sessions = (): Record<string, number> => Object.fromEntries(ALL.map((n) => [n.name, h().sessions(n.name)]));
function labelsOf(node: string): string {
    return h().ssh(CP1.name, `kubectl --kubeconfig /etc/kubernetes/admin.conf get node ${node} -o jsonpath='{.metadata.labels}'`);
}

describe("the program under the real engine: three control planes on simulated hosts", { skip, timeout: 3_600_000 }, () => {
    before(async () => {
        const caches = buildCaches();
        chartsDir = buildTestCharts(fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-charts-")));
        hosts = SimHosts.start(SUBNET, ALL, caches);
        engine = await EngineStack.create("e2e-ha");
        await e().configure(engineConfig(h(), ALL, chartsDir, { kubernetes: KUBERNETES }), h().sshPrivateKey);
    });
    after(() => {
        hosts?.stop();
        engine?.remove();
        if (chartsDir) {
            fs.rmSync(chartsDir, { recursive: true, force: true });
        }
    });

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
        await e().configure(engineConfig(h(), [CP2, CP1, CP3, W1], chartsDir, { kubernetes: KUBERNETES }), h().sshPrivateKey);
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
        await e().configure(engineConfig(h(), [CP2, CP1, CP3, W1], chartsDir, { kubernetes: { ...KUBERNETES, bootstrapNode: CP1.name } }), h().sshPrivateKey);
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
