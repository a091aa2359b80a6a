// Runs the lab stack with the control planes argv[3] (JSON list of names) against a stack whose
// last completed `up` recorded the control planes argv[2] in its `nodes` output ("none": a new
// stack), as `pulumi up` would: a refusal fails the whole program, so it runs in a process of its
// own and reports on stderr; on success it prints the etcd-member steps it declares.
import { CONTROL_PLANE_IPS, recordedControlPlanes, synthStack } from "../helpers";
import type { RawConfig } from "../helpers";

const [recorded, configured] = process.argv.slice(2);
const controlPlanes = JSON.parse(configured) as string[];
const edit = (raw: RawConfig) => {
    const workers = (raw.nodes as { role: string }[]).filter((n) => n.role === "worker");
    raw.nodes = [...controlPlanes.map((name) => ({ name, ip: CONTROL_PLANE_IPS[name], role: "control-plane" })), ...workers];
    raw.kubernetes = { ...((raw.kubernetes ?? {}) as Record<string, unknown>), controlPlaneEndpoint: "192.168.1.9" };
};
const mocks = recorded === "none" ? { state: (type: string) => (type === "pulumi:pulumi:StackReference" ? { outputs: {} } : undefined) } : recordedControlPlanes(JSON.parse(recorded) as string[], [{ name: "w1-k8s", ip: "192.168.1.101" }]);
process.on("unhandledRejection", () => undefined);
synthStack("lab", edit, { mocks }).then(
    (s) => {
        console.log(`synthesized: ${s.resources.filter((r) => r.name.endsWith("-etcd-member")).map((r) => r.name).sort().join(" ")}`);
        process.exit(0);
    },
    (err: Error) => {
        console.error(err.message);
        process.exit(1);
    },
);
