/**
 * The Pulumi CLI (v3.276.0, built by test/e2e/build-tools.sh) reading this project's Pulumi.yaml
 * `config:` block: it lists the declared keys, refuses a value of the wrong type or a missing
 * required key before the program runs (pkg/workspace/config.go `mergeConfig` and
 * `validateStackConfigValues`), and lets every committed stack through. The program is not run:
 * each case is a copy of Pulumi.yaml and a stack file in a temporary directory, with a local
 * file backend; only `pulumi stack init`, `config` and `preview` (which validates the config
 * before it loads the language host) are used.
 */
import { after, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify } from "yaml";
import { listStacks } from "../../tools/mockRuntime";
import { run, skipUnless } from "./tools";

const ROOT = path.resolve(__dirname, "..", "..");
const skip = skipUnless("pulumi");
const made: string[] = [];
after(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A project directory with Pulumi.yaml and the stack file (edited), and a stack initialised in it. */
function project(stack: string, edit?: (config: Record<string, unknown>) => void): { dir: string; env: NodeJS.ProcessEnv } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "project-config-"));
    made.push(dir);
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const doc = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    edit?.(doc.config);
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stringify(doc));
    fs.mkdirSync(path.join(dir, "state"));
    const env = {
        ...process.env,
        PULUMI_HOME: path.join(dir, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "test-only",
        PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    const init = run("pulumi", ["stack", "init", stack, "--non-interactive"], { cwd: dir, env });
    assert.equal(init.status, 0, init.output);
    return { dir, env };
}

const preview = (p: { dir: string; env: NodeJS.ProcessEnv }, stack: string) => run("pulumi", ["preview", "--stack", stack, "--non-interactive"], { cwd: p.dir, env: p.env });

describe("Pulumi.yaml config block under the Pulumi CLI", { skip }, () => {
    it("lists every declared key, with the defaults merged in", () => {
        const p = project("lab");
        const listed = run("pulumi", ["config", "--json", "--stack", "lab"], { cwd: p.dir, env: p.env });
        assert.equal(listed.status, 0, listed.output);
        const config = JSON.parse(listed.stdout) as Record<string, { value: unknown }>;
        const declared = Object.keys((parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: object }).config);
        for (const key of declared) {
            assert.ok(`k8s-platform:${key}` in config, `k8s-platform:${key} listed`);
        }
        assert.equal(config["k8s-platform:domain"].value, "localtest.com");
    });

    it("refuses a value of the wrong type and a missing required key before the program runs", () => {
        const asMap = preview(project("lab", (c) => (c["k8s-platform:nodes"] = { "m-k8s": { ip: "192.168.1.10" } })), "lab");
        assert.notEqual(asMap.status, 0);
        assert.match(asMap.output, /validating stack config: Stack 'lab' with configuration key 'nodes' must be of type 'array<object>'/);
        const missing = preview(project("lab", (c) => delete c["k8s-platform:network"]), "lab");
        assert.match(missing.output, /validating stack config: Stack 'lab' is missing configuration value 'network'/);
    });

    for (const stack of listStacks()) {
        it(`${stack}: the committed stack passes the CLI's config validation`, () => {
            const result = preview(project(stack), stack);
            assert.doesNotMatch(result.output, /validating stack config|missing configuration value/, result.output);
        });
    }
});
