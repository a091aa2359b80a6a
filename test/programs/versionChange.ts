// Runs the lab stack with kubernetes.version set to argv[3] ("unset": not set) against a stack
// whose last completed `up` recorded argv[2] as its kubernetesVersion output (stacks/versionRecord.ts;
// "pre-record": a stack from before the record, with its other outputs but no kubernetesVersion),
// as `pulumi up` would: a refusal fails the whole program, so it runs in a process of its own and
// reports on stderr; on success it prints the version prepare-node gets on m-k8s.
import { unwrapSecrets } from "../../tools/mockRuntime";
import { synthStack } from "../helpers";
import type { RawConfig } from "../helpers";

// argv[4] (optional): the recorded containerdVersions output, as JSON.
const [recorded, configured, containerd] = process.argv.slice(2);
const edit = (raw: RawConfig) => {
    if (configured !== "unset") {
        raw.kubernetes = { ...((raw.kubernetes ?? {}) as Record<string, unknown>), version: configured };
    }
};
const outputs = {
    ...(recorded === "pre-record" ? { apiEndpoint: "https://192.168.1.100:6443", hostsFile: "" } : { apiEndpoint: "https://192.168.1.100:6443", kubernetesVersion: recorded }),
    ...(containerd !== undefined ? { containerdVersions: JSON.parse(containerd) as unknown } : {}),
    // RECORDED_NODES (optional): the names of the last completed up's nodes output, comma-separated
    // (role from the name: "m-…" a control plane), plus an add-on host that is no node.
    ...(process.env.RECORDED_NODES !== undefined
        ? {
              nodes: [
                  ...process.env.RECORDED_NODES.split(",").map((name) => ({ name, role: name.startsWith("m") ? "control-plane" : "worker", ip: "192.168.1.1" })),
                  { name: "nfs-k8s", role: "storage", ip: "192.168.1.50" },
              ],
          }
        : {}),
};
const state = (type: string) => (type === "pulumi:pulumi:StackReference" ? { outputs } : undefined);
process.on("unhandledRejection", () => undefined);
synthStack("lab", edit, { mocks: { state } }).then(
    (s) => {
        const prepare = s.resources.find((r) => r.name === "cluster-m-k8s-prepare")!;
        console.log(`synthesized: ${/^export K8S_VERSION='([^']*)'$/m.exec(String(unwrapSecrets(prepare.inputs.create)))?.[1]}`);
        process.exit(0);
    },
    (err: Error) => {
        console.error(err.message);
        process.exit(1);
    },
);
