// The test tiers' cached builds (real-root Debian root, Go-built tools, simulated hosts, helm) share
// one cache root, named by one variable: K8S_PLATFORM_E2E_CACHE.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

describe("the test tiers' cache root", () => {
    it("build-root.sh builds the real-root tier's Debian root under K8S_PLATFORM_E2E_CACHE", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-cache-root-"));
        try {
            const cache = path.join(tmp, "cache");
            const bin = path.join(tmp, "bin");
            fs.mkdirSync(bin);
            // debootstrap stops the build at its first step, after build-root.sh chose its directory.
            fs.writeFileSync(path.join(bin, "debootstrap"), "#!/bin/sh\necho 'stub: no debootstrap here'\nexit 1\n", { mode: 0o755 });
            const run = spawnSync("bash", [path.join(ROOT, "test", "realroot", "build-root.sh")], {
                env: { PATH: `${bin}:/usr/bin:/bin`, HOME: path.join(tmp, "home"), K8S_PLATFORM_E2E_CACHE: cache },
                encoding: "utf8",
            });
            assert.notEqual(run.status, 0, run.stdout);
            assert.match(run.stderr, new RegExp(`debootstrap bookworm \\(minbase\\) into ${cache.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}/realroot-bookworm-[0-9a-f]{16}\\.tmp/root`));
            assert.ok(!fs.existsSync(path.join(tmp, "home")), "nothing under $HOME/.cache");
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("no script names the cache root otherwise", () => {
        const files = spawnSync("git", ["ls-files", "test", "tools", ".ci", ".github"], { cwd: ROOT, encoding: "utf8" })
            .stdout.split("\n")
            .filter((f) => /\.(sh|bash|bats|ts)$/.test(f) && f !== "test/testCache.test.ts");
        const names = new Set<string>();
        for (const file of files) {
            for (const [name] of fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/\b[A-Z0-9_]*E2E_CACHE\b/g)) {
                names.add(name);
            }
        }
        // E2E_CACHE alone is the resolved directory the tiers pass around (helpers.bash, engine.ts).
        assert.deepEqual([...names].filter((n) => n !== "E2E_CACHE").sort(), ["K8S_PLATFORM_E2E_CACHE"]);
    });
});
