// Runs the lab stack with a config edit against a state recorded by an earlier `up` (the scenario
// named on the command line), as `pulumi up` would: a refusal fails the whole program (every
// registration waiting on it rejects), so it runs in a process of its own and reports on stderr.
import { KUBERNETES_VERSION } from "../../config";
import { synthStack, threeControlPlanes } from "../helpers";
import type { RawConfig } from "../helpers";

/** What the first `up` of lab recorded (its config as committed). */
const RECORDED_SETTINGS = { controlPlaneEndpoint: "192.168.1.10:6443", podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" };
const RECORDED_IPS: Record<string, string> = { "m-k8s": "192.168.1.10", "w1-k8s": "192.168.1.101", "w2-k8s": "192.168.1.102", "w3-k8s": "192.168.1.103" };

const kubernetes = (raw: RawConfig) => (raw.kubernetes ?? {}) as Record<string, unknown>;
function renameW1(ip: string): (raw: RawConfig) => void {
    return (raw) => {
        const node = (raw.nodes as { name: string; ip: string }[]).find((n) => n.name === "w1-k8s")!;
        node.name = "w9-k8s";
        node.ip = ip;
    };
}
/** lab's `nodes` output after its first `up` (stacks/outputs.ts), as the next `up` reads it back. */
const RECORDED_NODES_OUTPUT = Object.entries(RECORDED_IPS).map(([name, ip]) => ({ name, role: name.startsWith("m") ? "control-plane" : "worker", ip }));
const SCENARIOS: Record<string, (raw: RawConfig) => void> = {
    // 1 → 3 control planes: the endpoint follows the count unless it is set.
    "more-control-planes": (raw) => {
        threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"])(raw);
    },
    "pod-subnet": (raw) => (raw.kubernetes = { ...kubernetes(raw), podSubnet: "10.200.0.0/16" }),
    "service-subnet": (raw) => (raw.kubernetes = { ...kubernetes(raw), serviceSubnet: "10.100.0.0/16" }),
    "dns-domain": (raw) => (raw.kubernetes = { ...kubernetes(raw), dnsDomain: "corp.example" }),
    // w1-k8s and w2-k8s become control planes (3 in all, behind the recorded endpoint).
    "worker-role": (raw) => {
        for (const node of (raw.nodes as { name: string; role: string }[]).filter((n) => ["w1-k8s", "w2-k8s"].includes(n.name))) {
            node.role = "control-plane";
        }
        raw.kubernetes = { ...kubernetes(raw), controlPlaneEndpoint: "192.168.1.10:6443" };
    },
    "worker-ip": (raw) => ((raw.nodes as { name: string; ip: string }[]).find((n) => n.name === "w1-k8s")!.ip = "192.168.1.111"),
    // Supported: control planes added behind the recorded endpoint, kept by setting it.
    "more-control-planes-endpoint-kept": (raw) => {
        threeControlPlanes(["m-k8s", "m2-k8s", "m3-k8s"])(raw);
        raw.kubernetes = { ...kubernetes(raw), controlPlaneEndpoint: "192.168.1.10:6443" };
    },
    "cert-sans": (raw) => (raw.kubernetes = { ...kubernetes(raw), apiServerCertSANs: ["api.lab.example"] }),
    // kube-vip (test/kubeVip.test.ts): lab's one control plane moved behind a VIP.
    "kube-vip-added": (raw) => (raw.kubernetes = { ...kubernetes(raw), controlPlaneEndpoint: { mode: "kube-vip", address: "192.168.1.9" } }),
    // Against RECORDED_KUBE_VIP: a load balancer of the user's at the VIP's address, and the VIP kept.
    "kube-vip-removed": (raw) => (raw.kubernetes = { ...kubernetes(raw), controlPlaneEndpoint: "192.168.1.9" }),
    "kube-vip-kept": (raw) => (raw.kubernetes = { ...kubernetes(raw), controlPlaneEndpoint: { mode: "kube-vip", address: "192.168.1.9" } }),
    // Renames (the stack output nodes of the last completed `up`, RECORDED_NODES_OUTPUT): w1-k8s
    // becomes w9-k8s at its IP in one `up` (refused); the same with no outputs (a new stack); at
    // another IP (a removal and an addition); and once the `up` that removed w1-k8s completed.
    "rename-worker": renameW1("192.168.1.101"),
    "rename-worker-no-record": renameW1("192.168.1.101"),
    "rename-worker-new-ip": renameW1("192.168.1.109"),
    "rename-worker-after-removal": renameW1("192.168.1.101"),
};
/** What a first `up` with kube-vip at 192.168.1.9 recorded (the scenarios "kube-vip-removed" and "-kept"). */
const RECORDED_KUBE_VIP = { ...RECORDED_SETTINGS, controlPlaneEndpoint: "192.168.1.9:6443", endpointVip: "kube-vip" };

const scenario = process.argv[2];

const stackOutputs = (): Record<string, unknown> | undefined => {
    if (!scenario.startsWith("rename-") || scenario === "rename-worker-no-record") {
        return undefined;
    }
    const nodes = scenario === "rename-worker-after-removal" ? RECORDED_NODES_OUTPUT.filter((n) => n.name !== "w1-k8s") : RECORDED_NODES_OUTPUT;
    return { outputs: { apiEndpoint: "https://192.168.1.10:6443", kubernetesVersion: KUBERNETES_VERSION, nodes } };
};

const state = (type: string, name: string) => {
    if (type === "pulumi:pulumi:StackReference") {
        return stackOutputs();
    }
    if (type !== "random:index/randomId:RandomId") {
        return undefined;
    }
    if (name === "cluster-cluster-settings") {
        return { keepers: ["kube-vip-removed", "kube-vip-kept"].includes(scenario) ? RECORDED_KUBE_VIP : RECORDED_SETTINGS };
    }
    const node = /^cluster-(.+)-ip$/.exec(name)?.[1];
    return node && RECORDED_IPS[node] ? { keepers: { ip: RECORDED_IPS[node], role: node.startsWith("m") ? "control-plane" : "worker" } } : undefined;
};

process.on("unhandledRejection", () => undefined);
synthStack("lab", SCENARIOS[scenario], { mocks: { state } }).then(
    () => {
        console.log("synthesized");
        process.exit(0);
    },
    (err: Error) => {
        console.error(err.message);
        process.exit(1);
    },
);
