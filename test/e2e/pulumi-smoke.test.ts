/**
 * The real Pulumi engine, offline: CLI + Node.js language host + command and tls provider plugins
 * from PATH (built by test/e2e/build-tools.sh), a local file backend, passphrase secrets, no update
 * check, no plugin download. Runs test/e2e/pulumi-smoke (a local command and a TLS key).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { onPath } from "./tools";

const PROGRAM = path.join(__dirname, "pulumi-smoke");
/** Everything the engine needs for this program; it would try to download whichever is missing. */
const NEEDED = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-command", "pulumi-resource-tls"];
const missing = NEEDED.filter((tool) => !onPath(tool));
const skip =
    missing.length > 0
        ? `not on PATH: ${missing.join(", ")} (built by test/e2e/build-tools.sh where the Go module proxy serves them)`
        : false;

describe("Pulumi engine smoke test (local backend, plugins from PATH)", { skip }, () => {
    let home = "";
    let env: NodeJS.ProcessEnv = {};
    const pulumi = (...args: string[]) => {
        const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd: PROGRAM, env, encoding: "utf8", timeout: 300_000 });
        return { status: r.status, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
    };

    before(() => {
        home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-smoke-"));
        env = {
            ...process.env,
            PULUMI_HOME: path.join(home, "home"),
            PULUMI_CONFIG_PASSPHRASE: "e2e-smoke-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DIY_BACKEND_URL: undefined,
        };
        // With this set the engine would ignore the plugins on PATH and try to download them.
        delete env.PULUMI_IGNORE_AMBIENT_PLUGINS;
        fs.mkdirSync(path.join(home, "state"));
        const login = pulumi("login", `file://${path.join(home, "state")}`);
        assert.equal(login.status, 0, login.output);
        const init = pulumi("stack", "init", "smoke");
        assert.equal(init.status, 0, init.output);
    });
    after(() => {
        pulumi("stack", "rm", "smoke", "--yes", "--force");
        fs.rmSync(home, { recursive: true, force: true });
        fs.rmSync(path.join(PROGRAM, "Pulumi.smoke.yaml"), { force: true });
    });

    it("pulumi up succeeds with the plugins from PATH, downloading none", () => {
        const up = pulumi("up", "--yes", "--skip-preview");
        assert.equal(up.status, 0, up.output);
        assert.match(up.output, /e2e-smoke/);
        const plugins = path.join(home, "home", "plugins");
        const downloaded = fs.existsSync(plugins) ? fs.readdirSync(plugins).filter((f) => !f.endsWith(".lock")) : [];
        assert.deepEqual(downloaded, [], "the engine installed plugins instead of using PATH");
    });

    it("a re-run plans no changes", () => {
        const preview = pulumi("preview", "--expect-no-changes");
        assert.equal(preview.status, 0, preview.output);
    });

    it("stack export holds the TLS private key only encrypted", () => {
        const exported = pulumi("stack", "export");
        assert.equal(exported.status, 0, exported.output);
        const state = JSON.parse(exported.stdout) as { deployment: { resources: { type: string; outputs?: Record<string, unknown> }[] } };
        const key = state.deployment.resources.find((r) => r.type === "tls:index/privateKey:PrivateKey");
        assert.ok(key?.outputs, "no tls PrivateKey in state");
        // Pulumi's secret signature: the value is stored as ciphertext under this marker.
        const pem = key.outputs.privateKeyPem as Record<string, unknown>;
        assert.equal(pem["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
        assert.equal(typeof pem.ciphertext, "string");
        assert.doesNotMatch(exported.stdout, /BEGIN (OPENSSH )?PRIVATE KEY/);
    });

    it("no resource id carries a secret (ids are never encrypted: issue 18 item 14)", () => {
        // Every value the state keeps as a secret, decrypted, and the ids of every resource: a
        // secret (or its base64 or hex) as an id would be in plain text in the export.
        const plain = pulumi("stack", "export", "--show-secrets");
        const sealed = pulumi("stack", "export");
        assert.equal(plain.status, 0, plain.output);
        type Resource = { urn: string; id?: string; outputs?: Record<string, unknown> };
        const resources = (out: string) => (JSON.parse(out) as { deployment: { resources: Resource[] } }).deployment.resources;
        const secrets: string[] = [];
        const sealedByUrn = new Map(resources(sealed.stdout).map((r) => [r.urn, r]));
        for (const r of resources(plain.stdout)) {
            for (const [name, value] of Object.entries(r.outputs ?? {})) {
                const marked = (sealedByUrn.get(r.urn)?.outputs?.[name] as Record<string, unknown> | undefined)?.["4dabf18193072939515e22adb298388d"];
                if (marked && typeof value === "string" && value.length >= 8) {
                    secrets.push(value, Buffer.from(value).toString("base64"), Buffer.from(value).toString("hex"));
                }
            }
        }
        assert.ok(secrets.length > 0, "the check is live: the state holds secrets");
        for (const r of resources(plain.stdout)) {
            for (const secret of secrets) {
                assert.ok(!r.id || !(r.id.includes(secret) || secret.includes(r.id) && r.id.length >= 16), `${r.urn}: its id carries a secret`);
            }
        }
    });
});
