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
    /** A PATH with node and, when given, a `pulumi` of the test's own: never the machine's CLI. */
    function pathWith(pulumiScript?: string): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hosts-bin-"));
        fs.symlinkSync(process.execPath, path.join(dir, "node"));
        if (pulumiScript) {
            fs.writeFileSync(path.join(dir, "pulumi"), pulumiScript, { mode: 0o755 });
        }
        return dir;
    }
    const run = (args: string[], PATH = pathWith()) =>
        spawnSync(tsx, ["tools/hosts.ts", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH } });

    it("prints unless told which file to write, and explains its usage", () => {
        assert.deepEqual(parseArgs(["lab"]), { stack: "lab", file: undefined, offline: false });
        assert.deepEqual(parseArgs(["dev", "--file", "/tmp/h", "--offline"]), { stack: "dev", file: "/tmp/h", offline: true });
        assert.throws(() => parseArgs([]), /usage: npm run hosts -- <stack> \[--file PATH\] \[--offline\] {3}prints the stack's hosts block; --file writes it into PATH \(--file \/etc\/hosts needs root\)/);
        assert.throws(() => parseArgs(["lab", "--fil", "x"]), /unknown option --fil/);
    });

    it("without --file prints the block and writes nothing, saying where the lines came from", () => {
        const printed = run(["lab"]);
        assert.equal(printed.status, 0, printed.stderr);
        assert.match(printed.stdout, /^# BEGIN k8s-platform lab\n192\.168\.1\.10\tm-k8s\n[\s\S]*# END k8s-platform lab\n$/);
        assert.match(printed.stderr, /from this checkout's config \(`pulumi stack output` did not answer: the Pulumi CLI is not installed/);
        assert.match(printed.stderr, /to write it: sudo npm run hosts -- lab --file \/etc\/hosts/);
    });

    it("writes the stack's lines into a file, twice without change, keeping foreign lines", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hosts-")), "hosts");
        fs.writeFileSync(file, "127.0.0.1 localhost\n");
        const first = run(["lab", "--file", file, "--offline"]);
        assert.equal(first.status, 0, first.stderr);
        const written = fs.readFileSync(file, "utf8");
        assert.ok(written.startsWith("127.0.0.1 localhost\n# BEGIN k8s-platform lab\n"));
        assert.match(written, /^192\.168\.1\.11\tregistry\.localtest\.com share-storage\.localtest\.com$/m);
        const second = run(["lab", "--file", file, "--offline"]);
        assert.match(second.stdout, /already up to date for lab/);
        assert.equal(fs.readFileSync(file, "utf8"), written);
    });

    for (const stack of ["azure", "aks"]) {
        it(`${stack}: refuses to invent addresses offline, and writes nothing`, () => {
            const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hosts-")), "hosts");
            fs.writeFileSync(file, "127.0.0.1 localhost\n");
            for (const args of [[stack, "--file", file, "--offline"], [stack, "--file", file]]) {
                const refused = run(args);
                assert.equal(refused.status, 1, refused.stdout);
                assert.match(refused.stderr, new RegExp(`^${stack}: its addresses \\(.*\\) are assigned by Azure when the stack is deployed, so they come only from the stack's outputs, never offline`));
                assert.equal(fs.readFileSync(file, "utf8"), "127.0.0.1 localhost\n");
            }
            assert.match(run([stack]).stderr, /did not answer: the Pulumi CLI is not installed/);
        });
    }

    it("azure: takes the deployed stack's lines from `pulumi stack output`", () => {
        // As the CLI answers (pkg/cmd/pulumi/stack/stack_output.go prints a string output as is;
        // a stack that does not exist: backenderr "no stack named '<stack>' found", exit 255).
        const pulumi = [
            "#!/bin/sh",
            '[ "$1 $2 $3 $4 $5" = "stack output hostsFile --stack azure" ] || { echo "error: no stack named \'$5\' found" >&2; exit 255; }',
            "printf '10.240.0.4\\tm-k8s\\n20.1.2.3\\tregistry.localtest.com\\n'",
        ].join("\n");
        const printed = run(["azure"], pathWith(pulumi));
        assert.equal(printed.status, 0, printed.stderr);
        assert.equal(printed.stdout, "# BEGIN k8s-platform azure\n10.240.0.4\tm-k8s\n20.1.2.3\tregistry.localtest.com\n# END k8s-platform azure\n");
        assert.match(printed.stderr, /from `pulumi stack output hostsFile`/);
        const missing = run(["aks"], pathWith(pulumi));
        assert.match(missing.stderr, /did not answer: error: no stack named 'aks' found/);
    });
});
