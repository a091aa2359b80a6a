// Runs the lab stack with its control planes re-ordered while state says the cluster was
// initialised on m-k8s. A separate process, as `pulumi up` is: the refusal fails the whole
// program (every registration waiting on it rejects), which a test runner would count against
// the test that started it.
import { synthStack, threeControlPlanes } from "../helpers";

const state = (type: string, name: string) =>
    type === "random:index/randomId:RandomId" && name === "cluster-bootstrap-node" ? { keepers: { node: "m-k8s" } } : undefined;

process.on("unhandledRejection", () => undefined);
synthStack(
    "lab",
    threeControlPlanes(["m2-k8s", "m-k8s", "m3-k8s"]),
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
