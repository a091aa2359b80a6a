/**
 * components/refusals.ts `heldBackBy` under the real Pulumi engine (v3.276.0) and Node SDK: a
 * resource whose dependsOn is a refused check is neither created nor changed, with no preview
 * (the automation API's `up`, as `pulumi up --skip-preview`), and the `up` fails with the
 * refusal. The machines (VsphereMachines, AzureNodes) wait for the checks against the stack's
 * record this way (test/machineGate.test.ts checks the wiring under the mock runtime); their
 * providers do not run here, so random.RandomString stands in for a machine.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { heldBackBy, refusal, settleRefusals } from "../../components/refusals";
import { EngineStack, engineSkipReason } from "./engine";
import { collectingRejections } from "./hosts/engineStack";

describe("a resource held back by a refused check, under the real engine", { skip: engineSkipReason(["random"]) }, () => {
    /** What the next run declares: the check refuses, the machine's size, and whether a second machine is added. */
    let world = { refused: false, length: 8, added: false };
    let stack: EngineStack;
    const results = async (): Promise<Record<string, string>> =>
        Object.fromEntries(
            (await stack.resources())
                .filter((r) => r.type === "random:index/randomString:RandomString")
                .map((r) => [r.urn.split("::").pop()!, String((r.outputs as { result?: string } | undefined)?.result)]),
        );

    before(async () => {
        stack = await EngineStack.create("held-back", async () => {
            const checked = refusal(
                pulumi.output(world.refused).apply((refused) => {
                    if (refused) {
                        throw new Error("k8s-platform:nodes: refused before anything runs");
                    }
                    return true;
                }),
            );
            const heldBack = heldBackBy(checked);
            new random.RandomString("machine-1", { length: world.length, special: false }, { dependsOn: heldBack });
            if (world.added) {
                new random.RandomString("machine-2", { length: world.length, special: false }, { dependsOn: heldBack });
            }
            await settleRefusals();
        });
    });
    after(() => stack?.remove());

    it("allowed: the machine is created", async () => {
        await stack.up();
        assert.deepEqual(Object.keys(await results()), ["machine-1"]);
    });

    it("refused, with a resize and an added machine: the up fails with the refusal; nothing created, nothing replaced", async () => {
        const before = await results();
        world = { refused: true, length: 12, added: true };
        // The inline program runs in this process: the held-back registrations reject after the
        // program failed (the refusal, once each); nothing else may.
        const { rejections } = await collectingRejections(() => assert.rejects(stack.up(), /k8s-platform:nodes: refused before anything runs/));
        for (const r of rejections) {
            assert.match(String(r instanceof Error ? r.message : r), /refused before anything runs/);
        }
        assert.deepEqual(await results(), before, "machine-1 kept as it was, no machine-2");
    });

    it("allowed again: the held changes apply", async () => {
        world = { refused: false, length: 12, added: true };
        await stack.up();
        const after = await results();
        assert.deepEqual(Object.keys(after).sort(), ["machine-1", "machine-2"]);
        assert.equal(after["machine-1"].length, 12);
    });
});
