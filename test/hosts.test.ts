import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { replaceHostsBlock } from "../components/render/hostsFile";
import { parseArgs } from "../tools/hosts";

const ROOT = path.resolve(__dirname, "..");
const LINES = "192.168.1.10\tm-k8s\n192.168.1.11\tregistry.localtest.com share-storage.localtest.com\n";

describe("hosts file block", () => {
    const foreign = "127.0.0.1 localhost\n# a comment\n10.0.0.5 printer\n";

    it("appends its block and keeps every other line", () => {
        const out = replaceHostsBlock(foreign, "lab", LINES);
        assert.equal(out, `${foreign}# BEGIN k8s-platform lab\n${LINES}# END k8s-platform lab\n`);
    });

    it("is idempotent and replaces its own block in place, never duplicating it", () => {
        const once = replaceHostsBlock(foreign, "lab", LINES);
        assert.equal(replaceHostsBlock(once, "lab", LINES), once);
        const moved = replaceHostsBlock(once + "10.9.9.9 later\n", "lab", "192.168.1.99\tm-k8s\n");
        assert.equal(moved.match(/# BEGIN k8s-platform lab/g)!.length, 1);
        assert.ok(moved.includes("# BEGIN k8s-platform lab\n192.168.1.99\tm-k8s\n# END k8s-platform lab\n10.9.9.9 later\n"), moved);
        assert.ok(!moved.includes("registry.localtest.com"));
    });

    it("keeps other stacks' blocks apart", () => {
        const both = replaceHostsBlock(replaceHostsBlock(foreign, "lab", LINES), "dev", "192.168.111.169\ttest-master\n");
        assert.ok(both.includes("# BEGIN k8s-platform lab"));
        assert.ok(both.includes("# BEGIN k8s-platform dev"));
        assert.equal(replaceHostsBlock(both, "dev", "192.168.111.169\ttest-master\n"), both);
    });
});

describe("npm run hosts", () => {
    const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");

    it("targets /etc/hosts unless told otherwise, and explains its usage", () => {
        assert.deepEqual(parseArgs(["lab"]), { stack: "lab", file: "/etc/hosts", offline: false });
        assert.deepEqual(parseArgs(["dev", "--file", "/tmp/h", "--offline"]), { stack: "dev", file: "/tmp/h", offline: true });
        assert.throws(() => parseArgs([]), /usage: npm run hosts -- <stack> \[--file PATH\].*default file \/etc\/hosts, which needs root/);
        assert.throws(() => parseArgs(["lab", "--fil", "x"]), /unknown option --fil/);
    });

    it("writes the stack's lines into a file, twice without change, keeping foreign lines", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hosts-")), "hosts");
        fs.writeFileSync(file, "127.0.0.1 localhost\n");
        const run = () => spawnSync(tsx, ["tools/hosts.ts", "lab", "--file", file, "--offline"], { cwd: ROOT, encoding: "utf8" });
        const first = run();
        assert.equal(first.status, 0, first.stderr);
        const written = fs.readFileSync(file, "utf8");
        assert.ok(written.startsWith("127.0.0.1 localhost\n# BEGIN k8s-platform lab\n"));
        assert.match(written, /^192\.168\.1\.11\tregistry\.localtest\.com share-storage\.localtest\.com$/m);
        const second = run();
        assert.match(second.stdout, /already up to date for lab/);
        assert.equal(fs.readFileSync(file, "utf8"), written);
    });
});
