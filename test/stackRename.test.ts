// Issue 18 item 11: resource names and physical identities do not depend on the stack's name, so
// `pulumi stack rename` (or a copied stack) plans no replacement and re-runs nothing; stacks made
// before keep every resource through aliases.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { identities, identityKey, inputsAfterIgnoreChanges } from "../tools/engineModel";
import { listStacks, MockOverrides, readStackFile, synthesize, Synthesis } from "../tools/mockRuntime";
import { program } from "../stacks/program";
import { synthStack } from "./helpers";

const BEFORE = path.join(__dirname, "fixtures", "urns-before-stack-independent-names");
const PIN = "stack-name";

/** The state a stack created as `original` has: the pinned name recorded at its first `up`. */
const createdAs = (original: string): MockOverrides => ({
    state: (type, name) => (type === "random:index/randomId:RandomId" && name === PIN ? { keepers: { stack: original } } : undefined),
});

/** The committed stack's config, synthesized as if the stack were called `stackName`. */
async function synthAs(stack: string, stackName: string): Promise<Synthesis> {
    const { config, secretKeys } = readStackFile(stack);
    return synthesize(stackName, config, secretKeys, program, createdAs(stack));
}

/** Options as the engine compares them: a resource hook by its name (the objects carry promises). */
function comparable(options: object): object {
    const hooks = (options as { hooks?: Record<string, { name: string }[]> }).hooks;
    return hooks ? { ...options, hooks: Object.fromEntries(Object.entries(hooks).map(([when, list]) => [when, list.map((h) => h.name)])) } : options;
}

describe("issue 18 item 11: a renamed stack keeps every resource and identity", () => {
    for (const stack of listStacks()) {
        it(`${stack}: renamed, no resource changes identity and no input changes (ignored paths as the engine applies them)`, async () => {
            const original = await synthAs(stack, stack);
            const renamed = await synthAs(stack, `${stack}-renamed`);
            // The stack resource itself is renamed by `pulumi stack rename`, with every URN in the state.
            const declared = (s: Synthesis) => s.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
            const key = (s: Synthesis) => declared(s).map((r) => `${r.type} ${r.name} ${r.parent ?? "-"}`).sort();
            assert.deepEqual(key(renamed), key(original));
            const before = new Map(original.resources.map((r) => [`${r.type} ${r.name}`, r]));
            for (const r of declared(renamed)) {
                const old = before.get(`${r.type} ${r.name}`)!;
                if (r.type === "pulumi:pulumi:StackReference") {
                    // The version record reads the stack's own outputs (stacks/versionRecord.ts): a
                    // read, not a managed resource, and under the new name (`pulumi stack rename`
                    // keeps the outputs), so its name follows the stack.
                    assert.deepEqual([r.inputs.name, old.inputs.name], [`organization/k8s-platform/${stack}-renamed`, `organization/k8s-platform/${stack}`]);
                    continue;
                }
                assert.deepEqual(inputsAfterIgnoreChanges(r.inputs, old.inputs, r.options.ignoreChanges ?? []), old.inputs, `${r.name}: inputs`);
                assert.deepEqual([r.dependsOn, comparable(r.options)], [old.dependsOn, comparable(old.options)], `${r.name}: options`);
            }
            assert.deepEqual(renamed.outputs, original.outputs);
        });
    }

    it("the pin holds the first name: kubeadm's clusterName, the provider identity and the hosts block follow it", async () => {
        const s = await synthAs("lab", "lab-renamed");
        const init = s.resources.find((r) => r.name === "cluster-init")!;
        assert.match(String(JSON.stringify(init.inputs.create)), /clusterName: lab\\n/);
        assert.equal(s.resources.find((r) => r.name === "cluster-k8s")!.inputs.clusterIdentifier, "lab-kubeadm");
        const azure = await synthAs("azure", "azure-prod");
        assert.equal(azure.resources.find((r) => r.name === "rg")!.inputs.resourceGroupName, "k8s-platform-azure");
        assert.equal(azure.resources.find((r) => r.name === "ingress-lb")!.inputs.loadBalancerName, "azure-ingress-lb");
        const aks = await synthAs("aks", "aks-prod");
        assert.equal(aks.resources.find((r) => r.name === "cluster-aks")!.inputs.dnsPrefix, "aks-cluster");
        assert.equal(aks.resources.find((r) => r.name === "cluster-k8s")!.inputs.clusterIdentifier, "aks-cluster-aks");
    });
});

describe("issue 18 item 11: stacks created with stack-named resources keep every one of them", () => {
    it("each chart's objects keep their resource names: resourcePrefix is the chart's old name, renamed or not", async () => {
        // Chart v4 names its objects `<resourcePrefix>:<namespace>/<name>`, the prefix defaulting to the
        // Chart resource's name (pulumi-kubernetes helm/v4 chart.go); a URN carries the parents' types,
        // not their names, so a kept prefix keeps every object's URN without an alias.
        for (const [stack, as] of [["lab", "lab"], ["lab", "lab-renamed"], ["dev", "dev"], ["aks", "aks-prod"], ["azure", "azure"]]) {
            const s = await synthAs(stack, as);
            const charts = s.resources.filter((r) => r.type === "kubernetes:helm.sh/v4:Chart");
            assert.ok(charts.length > 0);
            for (const chart of charts) {
                assert.equal(chart.inputs.resourcePrefix, `${stack}-${chart.name}`, `${as}: ${chart.name}`);
            }
        }
    });

    for (const stack of listStacks()) {
        it(`${stack}: every URN of test/fixtures/urns-before-stack-independent-names/${stack}.txt is an identity of exactly one resource`, async () => {
            const s = await synthStack(stack);
            const all = new Map(s.resources.map((r) => [r.name, r]));
            const owners = new Map<string, string[]>();
            for (const r of s.resources) {
                for (const identity of identities(r, all)) {
                    owners.set(identityKey(identity), [...(owners.get(identityKey(identity)) ?? []), r.name]);
                }
            }
            const before = fs.readFileSync(path.join(BEFORE, `${stack}.txt`), "utf8").trimEnd().split("\n");
            // Removed on purpose, not renamed: the certificate key's RandomBytes (its id is its value,
            // and ids are never encrypted in state), now a RandomPassword.
            const removedOnPurpose = (k: string) => k.startsWith("random:index/randomBytes:RandomBytes ") && k.includes("-cluster-certificate-key ");
            const unmatched = before.filter((k) => !removedOnPurpose(k) && (owners.get(k) ?? []).length !== 1);
            assert.deepEqual(unmatched, [], "each old URN is kept by exactly one resource (an alias or its own name)");
            // Nothing is stack-named any more, and the stack-name pin is there.
            assert.deepEqual(s.resources.filter((r) => r.name.startsWith(`${stack}-`)).map((r) => r.name), []);
            assert.ok(s.resources.some((r) => r.name === PIN));
        });
    }
});
