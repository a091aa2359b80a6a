// Runs the lab stack with the control planes argv[3] (JSON list of names) against a stack whose
// last completed `up` recorded the control planes argv[2] in its `nodes` output ("none": a new
// stack), as `pulumi up` would: a refusal fails the whole program, so it runs in a process of its
// own and reports on stderr; on success it prints the etcd-member steps it declares.
import { KUBERNETES_VERSION } from "../../config";
import { synthStack } from "../helpers";
import type { RawConfig } from "../helpers";

const IPS: Record<string, string> = { "m-k8s": "192.168.1.10", "m2-k8s": "192.168.1.20", "m3-k8s": "192.168.1.30", "m4-k8s": "192.168.1.40", "m5-k8s": "192.168.1.50" };
const [recorded, configured] = process.argv.slice(2);
const controlPlanes = JSON.parse(configured) as string[];
const edit = (raw: RawConfig) => {
    const workers = (raw.nodes as { role: string }[]).filter((n) => n.role === "worker");
    raw.nodes = [...controlPlanes.map((name) => ({ name, ip: IPS[name], role: "control-plane" })), ...workers];
    raw.kubernetes = { ...((raw.kubernetes ?? {}) as Record<string, unknown>), controlPlaneEndpoint: "192.168.1.9" };
};
const nodes = recorded === "none" ? undefined : (JSON.parse(recorded) as string[]).map((name) => ({ name, role: "control-plane", ip: IPS[name] }));
const outputs = nodes ? { apiEndpoint: "https://192.168.1.9:6443", kubernetesVersion: KUBERNETES_VERSION, nodes: [...nodes, { name: "w1-k8s", role: "worker", ip: "192.168.1.101" }] } : {};
const state = (type: string) => (type === "pulumi:pulumi:StackReference" ? { outputs } : undefined);
process.on("unhandledRejection", () => undefined);
synthStack("lab", edit, { mocks: { state } }).then(
    (s) => {
        console.log(`synthesized: ${s.resources.filter((r) => r.name.endsWith("-etcd-member")).map((r) => r.name).sort().join(" ")}`);
        process.exit(0);
    },
    (err: Error) => {
        console.error(err.message);
        process.exit(1);
    },
);
