import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

describe("README", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

    it("starts with the quick start, before any test-tier detail", () => {
        const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
        assert.equal(headings[0], "Quick start");
        for (const step of ["npm ci", "pulumi login", "pulumi stack init", "pulumi config set --secret", "pulumi preview", "pulumi up"]) {
            assert.ok(readme.indexOf(step) < readme.indexOf("## Troubleshooting"), `${step} in the quick start`);
        }
    });

    it("keeps the test commands .ci/run runs", () => {
        for (const command of ["npm ci && npm test", "npm run test:realroot", "npm run test:e2e"]) {
            assert.ok(readme.includes(command), command);
        }
    });

    for (const file of ["README.md", "test/README.md"]) {
        it(`${file} stands alone in a clone: no issue numbers, no paths outside the repository`, () => {
            const text = fs.readFileSync(path.join(ROOT, file), "utf8");
            assert.doesNotMatch(text, /\(issue #?\d+\)|issue #\d+/i);
            assert.doesNotMatch(text, /\.\.\/shared|\/work\/|closing notes/);
            for (const [, target] of text.matchAll(/`((?:test|tools|config|components|stacks|scripts)\/[\w./-]+)`/g)) {
                if (!target.includes("<") && !target.includes("*")) {
                    assert.ok(fs.existsSync(path.join(ROOT, target)), `${file} names ${target}, which does not exist`);
                }
            }
        });
    }
});
