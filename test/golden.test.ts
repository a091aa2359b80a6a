// Every stack declares exactly the resources (type, name, parent → URN) and inputs recorded in
// test/golden/<stack>.txt. A move or refactoring must keep them (no alias needed, nothing changes
// on `pulumi up`); an intended change rewrites them with `UPDATE_GOLDEN=1 npm run test:unit`, and
// the diff of the golden file shows in review which resources it touches.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { fingerprint } from "../tools/fingerprint";
import { listStacks } from "../tools/mockRuntime";
import { synthStack } from "./helpers";

const GOLDEN = path.join(__dirname, "golden");

for (const stack of listStacks()) {
    test(`${stack}: resources and inputs match test/golden/${stack}.txt`, async () => {
        const actual = fingerprint(await synthStack(stack));
        const file = path.join(GOLDEN, `${stack}.txt`);
        if (process.env.UPDATE_GOLDEN === "1") {
            fs.writeFileSync(file, actual.join("\n") + "\n");
            return;
        }
        const expected = fs.readFileSync(file, "utf8").trimEnd().split("\n");
        const key = (line: string) => line.split(" ").slice(0, 3).join(" ");
        const expectedKeys = new Map(expected.map((l) => [key(l), l]));
        const actualKeys = new Map(actual.map((l) => [key(l), l]));
        const added = actual.filter((l) => !expectedKeys.has(key(l)));
        const removed = expected.filter((l) => !actualKeys.has(key(l)));
        const changed = actual.filter((l) => expectedKeys.has(key(l)) && expectedKeys.get(key(l)) !== l);
        assert.deepEqual({ added, removed, changed }, { added: [], removed: [], changed: [] },
            `stack ${stack} differs from its golden file (UPDATE_GOLDEN=1 rewrites it if intended)`);
    });
}
