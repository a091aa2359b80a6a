// Runs the lab stack with its control planes re-ordered while state says the cluster was
// initialised on m-k8s. A separate process, as `pulumi up` is: the refusal fails the whole
// program (every registration waiting on it rejects), which a test runner would count against
// the test that started it.
import { synthStack } from "../helpers";

const state = (type: string, name: string) =>
    type === "random:index/randomId:RandomId" && name === "lab-cluster-bootstrap-node" ? { keepers: { node: "m-k8s" } } : undefined;

process.on("unhandledRejection", () => undefined);
synthStack(
    "lab",
    (raw: any) => {
        const cps: Record<string, string> = { "m2-k8s": "192.168.1.20", "m-k8s": "192.168.1.10", "m3-k8s": "192.168.1.30" };
        raw.nodes = [...Object.entries(cps).map(([name, ip]) => ({ name, ip, role: "control-plane" })), ...raw.nodes.filter((n: any) => n.role === "worker")];
        raw.kubernetes = { controlPlaneEndpoint: "192.168.1.9" };
    },
    { mocks: { state } },
).then(
    () => {
        console.log("synthesized");
        process.exit(0);
    },
    (err: Error) => {
        console.error(err.message);
        process.exit(1);
    },
);
