/**
 * The engine tests' local backend (`fileBackendUrl` in engine.ts): the program reads its own
 * stack's outputs during every `up` (stacks/versionRecord.ts), and gocloud's fileblob rewrites a
 * checkpoint's `.attrs` sidecar in place at each checkpoint write, so a read could meet an empty
 * sidecar ("failed to load checkpoint: EOF", seen in engine-cluster's rebuild). With
 * `metadata=skip` no sidecar is ever written; the stack still reads its own outputs back.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { EngineStack, engineSkipReason } from "./engine";

function filesUnder(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe("the local backend of the engine tests writes no metadata sidecars", { skip: engineSkipReason([]) }, () => {
    let engine: EngineStack | undefined;
    after(() => {
        if (engine) fs.rmSync(engine.dir, { recursive: true, force: true });
    });

    it("two ups, each reading the stack's own previous output through a StackReference: no .attrs file, the value read back", async () => {
        let runs = 0;
        engine = await EngineStack.create("backend", async () => {
            runs++;
            const self = new pulumi.StackReference("self", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
            return { previous: self.getOutput("current"), current: `run-${runs}` };
        });
        await engine.up();
        const second = await engine.up();
        assert.equal(second.outputs.previous?.value, "run-1");
        const files = filesUnder(path.join(engine.dir, "state"));
        assert.ok(files.some((f) => f.endsWith(path.join(".pulumi", "stacks", "e2e", "backend.json"))), files.join("\n"));
        assert.deepEqual(files.filter((f) => f.endsWith(".attrs")), []);
    });
});
