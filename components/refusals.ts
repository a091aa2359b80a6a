import * as pulumi from "@pulumi/pulumi";

/**
 * Refusals decided from state: a check that compares the config with what a `random.RandomId`
 * recorded (the bootstrap node, what `kubeadm init` fixed, each node's IP) can only run once the
 * record's outputs resolve, inside an `apply`. An error thrown there is not enough: it rejects
 * only the inputs of the resources that use the value, and under the automation API's inline
 * runtime the program still completes — the engine then plans to delete every resource it did
 * not register (seen in test/e2e/engine-ha.test.ts: a re-ordered control plane reset the whole
 * cluster). So each such check is also registered here, and the program awaits them all before
 * it returns: a refusal fails the program itself, and a failed program deletes nothing (the
 * engine computes deletes only after the program finished successfully).
 */
const pending: pulumi.Output<unknown>[] = [];

/** Registers `checked` (an output whose apply throws on a refused change); returns it unchanged. */
export function refusal<T>(checked: pulumi.Output<T>): pulumi.Output<T> {
    pending.push(checked);
    return checked;
}

/** Awaits every registered check of this program run; throws one RunError listing each refusal once. */
export async function settleRefusals(): Promise<void> {
    const checks = pending.splice(0);
    // `promise()` is the Output's own (internal in the typings): it resolves with the value, or
    // undefined where the value is unknown in a preview, and rejects when the apply threw.
    const results = await Promise.allSettled(checks.map((o) => (o as unknown as { promise(): Promise<unknown> }).promise()));
    const problems = results.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    if (problems.length > 0) {
        throw new pulumi.RunError([...new Set(problems)].join("\n"));
    }
}

/**
 * A `dependsOn` that holds a resource back until `gate` (a checked value, e.g. the version plan)
 * resolves; when the check rejects, the resource is never registered, so nothing is created or
 * changed for it. The SDK awaits an Output in `dependsOn` before it registers the resource
 * (@pulumi/pulumi 3.270 runtime/dependsOn.js, gatherExplicitDependencies: "Recursively gather
 * dependencies, await the promise, and append the output's dependencies"). Without a gate: none.
 */
export function heldBackBy(gate?: pulumi.Input<unknown>): pulumi.Input<pulumi.Resource[]> {
    return gate === undefined ? [] : pulumi.output(gate).apply(() => [] as pulumi.Resource[]);
}
