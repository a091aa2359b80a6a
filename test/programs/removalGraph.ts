// Prints, as JSON, the custom resources of the lab stack with three control planes ("before") and
// after m3-k8s is removed ("after", against a record of the three), each with its explicit
// dependsOn expanded to custom resources (a dependsOn on a component stands for its custom
// descendants, as the Node SDK records it). test/e2e/engine-host-gone.test.ts replays that graph
// under the real engine. Runs in a process of its own: the mock runtime is process-wide.
import { DeclaredResource, Synthesis } from "../../tools/mockRuntime";
import { recordedControlPlanes, synthStack, threeControlPlanes } from "../helpers";

const recorded = recordedControlPlanes;

function graph(s: Synthesis): Record<string, string[]> {
    const byName = new Map(s.resources.map((r) => [r.name, r]));
    const descendants = (name: string): DeclaredResource[] => s.resources.filter((r) => r.custom && !r.read && ancestry(r).includes(name));
    const ancestry = (r: DeclaredResource): string[] => (r.parent && byName.has(r.parent) ? [r.parent, ...ancestry(byName.get(r.parent)!)] : []);
    const out: Record<string, string[]> = {};
    for (const r of s.resources.filter((x) => x.custom && !x.read && x.type !== "pulumi:pulumi:StackReference" && !x.type.startsWith("pulumi:providers:"))) {
        const deps = r.dependsOn.flatMap((d) => (byName.get(d)?.custom ? [d] : descendants(d).map((x) => x.name)));
        out[r.name] = [...new Set(deps)].sort();
    }
    return out;
}

(async () => {
    const three = ["m-k8s", "m2-k8s", "m3-k8s"];
    const before = await synthStack("lab", threeControlPlanes(three), { mocks: recorded(three) });
    const after = await synthStack("lab", threeControlPlanes(["m-k8s", "m2-k8s"]), { mocks: recorded(three) });
    console.log(JSON.stringify({ before: graph(before), after: graph(after) }));
    process.exit(0);
})().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
});
