/**
 * `ingress.controller` switched on a running stack, under the real Pulumi engine (automation API,
 * inline program = stacks/program.ts) against simulated hosts (test/e2e/hosts) with a real
 * kube-apiserver, controller manager, scheduler and kwok: one control plane and one worker, the
 * ingress controller on from the stand-in charts (hosts/ingressCharts.ts) in `charts.directory`,
 * a NodePort Service on fixed node ports (no MetalLB in the engine stacks, so no LoadBalancer).
 *   - ingress-nginx first: the controller Service holds the node ports in the real API server,
 *     which refuses a second Service asking for them (what a switch creating a new Service would
 *     run into);
 *   - ingress-nginx → traefik: the preview and the `up` change only the chart's objects — the
 *     Service updated in place (same URN and id; read back from the API server: same uid,
 *     clusterIP and node ports, its ports and selector now Traefik's, its endpoints Traefik's
 *     pods), Traefik's Deployment and IngressClass created, ingress-nginx's deleted — no SSH
 *     session opened and no stubbed command run on any host; `preview --expect-no-changes` then;
 *   - traefik → ingress-nginx the same way.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { IngressControllerKind } from "../../config";
import { buildTestCharts } from "./hosts/charts";
import { EngineStack, engineConfig, nameOf, StepSeen } from "./hosts/engineStack";
import { buildCaches, missingForEngineTests, SimHosts, SimNode } from "./hosts/simHosts";

const SUBNET = "10.213.79";
const CP: SimNode = { name: "cp1", ip: `${SUBNET}.11`, role: "control-plane" };
const W1: SimNode = { name: "w1", ip: `${SUBNET}.21`, role: "worker" };
const ALL = [CP, W1];
const ADMIN = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
// Not the defaults (30080/30443): the ports come from config.
const HTTP_NODE_PORT = 31080;
const HTTPS_NODE_PORT = 31443;
const NS = "ingress-nginx";
const SERVICE = "ingress-nginx-controller";

/** What each controller's chart puts in the cluster (ingressCharts.ts; components/render/ingress.ts). */
const CONTROLLER: Record<
    IngressControllerKind,
    { deployment: string; ingressClass: string; classController: string; podPrefix: string; ports: string[]; selector: Record<string, string> }
> = {
    "ingress-nginx": {
        deployment: "ingress-nginx-controller",
        ingressClass: "nginx",
        classController: "k8s.io/ingress-nginx",
        podPrefix: "ingress-nginx-controller-",
        ports: ["http", "https"],
        selector: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
    },
    traefik: {
        deployment: "traefik",
        ingressClass: "traefik",
        classController: "traefik.io/ingress-controller",
        podPrefix: "traefik-",
        ports: ["web", "websecure"],
        selector: { "app.kubernetes.io/name": "traefik" },
    },
};

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
const configure = (controller: IngressControllerKind) =>
    e().configure(
        engineConfig(h(), ALL, chartsDir, { ingress: { enabled: true, controller, httpNodePort: HTTP_NODE_PORT, httpsNodePort: HTTPS_NODE_PORT } }),
        h().sshPrivateKey,
    );
const sessions = (): Record<string, number> => Object.fromEntries(ALL.map((n) => [n.name, h().sessions(n.name)]));
const callCounts = (): Record<string, number> => Object.fromEntries(ALL.map((n) => [n.name, h().calls(n.name).length]));
const kubectl = (args: string): string => h().ssh(CP.name, `${ADMIN} ${args}`);
/** `<op> <Kind> <object>` of each step that changes something, the chart's resource prefix cut off. */
const changed = (steps: StepSeen[]): string[] =>
    steps
        .filter((s) => s.op !== "same" && s.op !== "read")
        .map((s) => {
            const name = nameOf(s.urn);
            return `${s.op} ${s.type.slice(s.type.lastIndexOf(":") + 1)} ${name.slice(name.indexOf(":") + 1)}`;
        })
        .sort();

interface LiveService {
    metadata: { uid: string };
    spec: { type: string; clusterIP: string; selector: Record<string, string>; ports: { name: string; port: number; nodePort: number; targetPort: string }[] };
}
const liveService = (): LiveService => JSON.parse(kubectl(`-n ${NS} get service ${SERVICE} -o json`)) as LiveService;
const exists = (what: string): boolean => kubectl(`get ${what} --ignore-not-found -o name`).trim() !== "";

/** The controller Service's resource in state: its URN and id. */
function serviceInState(): { urn: string; id?: string } {
    const resources = (JSON.parse(e().exportText()) as { deployment: { resources: { urn: string; type: string; id?: string }[] } }).deployment.resources;
    const found = resources.filter((r) => r.type === "kubernetes:core/v1:Service" && r.urn.endsWith(`${NS}/${SERVICE}`));
    assert.equal(found.length, 1, "one controller Service in state");
    return { urn: found[0].urn, id: found[0].id };
}

/**
 * The Service's endpoints (EndpointSlices, the endpoint controller's), waited for (at most 60 s)
 * until every one is a ready pod of `controller` with its named ports: the old controller's pods
 * are terminating for a moment after the `up`.
 */
async function endpointsOf(controller: IngressControllerKind): Promise<void> {
    const want = CONTROLLER[controller];
    let seen = "";
    for (let i = 0; i < 60; i++) {
        const slices = JSON.parse(kubectl(`-n ${NS} get endpointslices -l kubernetes.io/service-name=${SERVICE} -o json`)) as {
            items: { endpoints?: { targetRef?: { name: string }; conditions?: { ready?: boolean } }[]; ports?: { name: string }[] }[];
        };
        const endpoints = slices.items.flatMap((s) => s.endpoints ?? []);
        const ports = [...new Set(slices.items.flatMap((s) => (s.ports ?? []).map((p) => p.name)))].sort();
        seen = JSON.stringify({ endpoints: endpoints.map((p) => [p.targetRef?.name, p.conditions]), ports });
        if (endpoints.length > 0 && endpoints.every((p) => p.targetRef?.name.startsWith(want.podPrefix) && p.conditions?.ready === true) && JSON.stringify(ports) === JSON.stringify(want.ports)) {
            return;
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
    const pods = kubectl(
        `-n ${NS} get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase} ready={.status.conditions[?(@.type=="Ready")].status} deleting={.metadata.deletionTimestamp} uid={.metadata.uid} created={.metadata.creationTimestamp} owner={.metadata.ownerReferences[0].name}{"\\n"}{end}'`,
    );
    assert.fail(`the Service's endpoints are not ${controller}'s ready pods after 60 s: ${seen}; the namespace's pods:\n${pods}`);
}

/** What the cluster must hold with `controller` running, and not hold of the other one. */
async function assertRunning(controller: IngressControllerKind): Promise<LiveService> {
    const [mine, other] = controller === "traefik" ? [CONTROLLER.traefik, CONTROLLER["ingress-nginx"]] : [CONTROLLER["ingress-nginx"], CONTROLLER.traefik];
    assert.ok(exists(`-n ${NS} deployment ${mine.deployment}`), `${controller}'s Deployment is there`);
    assert.ok(!exists(`-n ${NS} deployment ${other.deployment}`), `the other controller's Deployment ${other.deployment} is gone`);
    const classes = JSON.parse(kubectl("get ingressclasses -o json")) as { items: { metadata: { name: string; annotations?: Record<string, string> }; spec: { controller: string } }[] };
    assert.deepEqual(
        classes.items.map((c) => [c.metadata.name, c.spec.controller, c.metadata.annotations?.["ingressclass.kubernetes.io/is-default-class"]]),
        [[mine.ingressClass, mine.classController, "true"]],
        `only ${controller}'s IngressClass, the default`,
    );
    const svc = liveService();
    assert.equal(svc.spec.type, "NodePort");
    assert.deepEqual(svc.spec.selector, mine.selector, `the Service selects ${controller}'s pods`);
    assert.deepEqual(svc.spec.ports.map((p) => [p.name, p.port, p.nodePort, p.targetPort]), [
        [mine.ports[0], 80, HTTP_NODE_PORT, mine.ports[0]],
        [mine.ports[1], 443, HTTPS_NODE_PORT, mine.ports[1]],
    ]);
    await endpointsOf(controller);
    return svc;
}

/** The switch to `to` from a running `from`: the plan, the `up`, what the API server holds. */
async function switchController(from: IngressControllerKind, to: IngressControllerKind): Promise<void> {
    const before = { state: serviceInState(), live: liveService() };
    await configure(to);
    const expected = [
        `create Deployment ${NS}/${CONTROLLER[to].deployment}`,
        `create IngressClass ${CONTROLLER[to].ingressClass}`,
        `delete Deployment ${NS}/${CONTROLLER[from].deployment}`,
        `delete IngressClass ${CONTROLLER[from].ingressClass}`,
        // No step for the Chart itself: the provider registers the component without inputs
        // (pulumi-kubernetes v4.25.0 provider/pkg/provider/helm/v4/chart.go Construct:
        // `ctx.RegisterComponentResource(typ, name, comp, options)`), and the engine diffs a
        // resource without a provider by its inputs only (pulumi v3.276.0
        // pkg/resource/deploy/step_generator.go diff: "if oldInputs.DeepEquals(newInputs) …
        // DiffNone"), so it stays "same" while its children change.
        `update Service ${NS}/${SERVICE}`,
    ].sort();
    const plan = await e().preview();
    assert.deepEqual(changed(plan.steps), expected, "the preview plans the chart's objects only, the Service updated in place");

    const [s0, c0] = [sessions(), callCounts()];
    const up = await e().up();
    assert.deepEqual(sessions(), s0, "no SSH session was opened on any host by the switch");
    assert.deepEqual(callCounts(), c0, "no stubbed command ran on any host");
    assert.deepEqual(changed(up.steps), expected, "the up did what the preview planned");
    const serviceStep = up.steps.filter((s) => s.urn === before.state.urn).map((s) => s.op);
    assert.deepEqual(serviceStep, ["update"], "the Service, by its URN of before, was updated in place");

    const afterSvc = await assertRunning(to);
    assert.deepEqual(serviceInState(), before.state, "the Service keeps its URN and id in state");
    assert.equal(afterSvc.metadata.uid, before.live.metadata.uid, "the same Service object in the API server (uid)");
    assert.equal(afterSvc.spec.clusterIP, before.live.spec.clusterIP, "its cluster IP stays");
    await e().preview({ expectNoChanges: true });
}

describe("ingress.controller switched on a running stack under the real engine: 1 control plane + 1 worker", { skip, timeout: 3_600_000 }, () => {
    before(async () => {
        const caches = buildCaches();
        chartsDir = buildTestCharts(fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-charts-")));
        hosts = SimHosts.start(SUBNET, ALL, caches);
        engine = await EngineStack.create("e2e-ingress");
        await configure("ingress-nginx");
    });
    after(() => {
        hosts?.stop();
        engine?.remove();
        if (chartsDir) {
            fs.rmSync(chartsDir, { recursive: true, force: true });
        }
    });

    test("ingress-nginx: up; the Service holds the fixed node ports, which the API server refuses to a second Service", async () => {
        await e().up();
        // The simulated kubelet (kwok) heartbeats every Node through its Lease, as the kubelet does:
        // without, the node lifecycle controller marks the pods NotReady ~50 s after the Node
        // registered, and no Service's endpoints are ready from then on (hosts/node/kubeadm).
        assert.deepEqual(kubectl("-n kube-node-lease get leases -o name").split("\n").filter(Boolean).sort(), ALL.map((n) => `lease.coordination.k8s.io/${n.name}`));
        await assertRunning("ingress-nginx");
        await e().preview({ expectNoChanges: true });
        const refused = kubectl(`-n default create service nodeport k8sp-second --tcp=80:80 --node-port=${HTTP_NODE_PORT} 2>&1 || true`);
        assert.match(refused, new RegExp(`${HTTP_NODE_PORT}: provided port is already allocated`), "a second Service cannot take the node port");
        assert.ok(!exists("-n default service k8sp-second"));
    });

    test("ingress-nginx → traefik: one up, the Service updated in place (URN, uid, node ports), nothing run on a host", async () => {
        await switchController("ingress-nginx", "traefik");
    });

    test("traefik → ingress-nginx: the same way back", async () => {
        await switchController("traefik", "ingress-nginx");
    });
});
