// `npm run synth:diff`: the comparison is built in-process from two renderings of the real
// program (renderSynthesis, the renderer `npm run synth` writes with); one test runs the command
// end to end against a git ref in a temporary repository.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { useScriptsDir, SCRIPTS_DIR } from "../components/render/script";
import { DeclaredResource, readStackFile, synthesize, Synthesis, unwrapSecrets, listStacks } from "../tools/mockRuntime";
import { program } from "../stacks/program";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, markdownReport, parseArgs, StackDiff, textReport } from "../tools/synthDiff";
import { commands, RawConfig, scriptOf, synthStack } from "./helpers";

const ROOT = path.resolve(__dirname, "..");

/** Synthesizes `stack` with scripts/ replaced by a copy in which `script` has `from` replaced by `to`. */
async function withEditedScript<T>(script: string, from: string, to: string, run: () => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "synth-diff-scripts-"));
    fs.cpSync(SCRIPTS_DIR, dir, { recursive: true });
    const file = path.join(dir, `${script}.sh`);
    const text = fs.readFileSync(file, "utf8");
    assert.ok(text.includes(from), `${script}.sh has the line to edit`);
    fs.writeFileSync(file, text.replace(from, to));
    const restore = useScriptsDir(dir);
    try {
        return await run();
    } finally {
        restore();
    }
}

const names = (list: StackDiff["changed"]): string[] => list.map((c) => c.resource.name).sort();

/** Files (relative to out/<stack>/) whose command runs `script` on create (or, for an update-only
 * step, on update: tools/synth.ts writes that one to <name>.sh) or on delete. */
function filesCarrying(s: Synthesis, script: string): string[] {
    return commands(s)
        .flatMap((c) => [
            ...((scriptOf(c, "create") ?? scriptOf(c, "update")) === script ? [`commands/${c.name}.sh`] : []),
            ...(scriptOf(c, "delete") === script ? [`commands/${c.name}.delete.sh`] : []),
        ])
        .sort();
}

describe("synth:diff: a script edit", () => {
    for (const [script, from, to] of [
        ["prepare-node", 'log "preparing $NODE_NAME', 'log "preparing node $NODE_NAME'],
        // Runs on delete only (the membership command's delete step): shows in .delete.sh files.
        ["kubeadm-reset", "set -euo pipefail", "set -euo pipefail\n: edited"],
    ] as const) {
        it(`${script}.sh: exactly the commands that carry it change, with the edited line as the diff`, async () => {
            const before = await synthStack("lab");
            const after = await withEditedScript(script, from, to, () => synthStack("lab"));
            const all = compareRenderings("lab", renderSynthesis(before), renderSynthesis(after));
            // An existing host's reachability check runs again with its prepare-node command (its
            // trigger is that command's hash, components/nodeHost.ts); nothing else besides the carriers.
            const reach = all.changed.filter((c) => c.resource.name.endsWith("-reachable")).map((c) => c.resource.name.replace(/-reachable$/, "-prepare"));
            assert.deepEqual(reach, script === "prepare-node" ? filesCarrying(before, script).map((f) => /^commands\/(.+)\.sh$/.exec(f)![1]) : []);
            const d = { ...all, changed: all.changed.filter((c) => !c.resource.name.endsWith("-reachable")) };
            const expected = filesCarrying(before, script);
            assert.ok(expected.length > 0, `some lab command runs ${script}.sh`);
            assert.deepEqual(d.changed.flatMap((c) => c.files.map((f) => f.path)).sort(), expected);
            const carriers = [...new Set(expected.map((f) => /^commands\/(.+?)(\.delete)?\.sh$/.exec(f)![1]))].sort();
            assert.deepEqual(names(d.changed), carriers, "the changed resources are the commands carrying the script");
            assert.deepEqual({ added: d.added, removed: d.removed, other: d.other }, { added: [], removed: [], other: [] });
            const report = textReport(d);
            const firstTo = to.split("\n").at(-1)!;
            assert.match(report, new RegExp(`^\\+${firstTo.replace(/[$()*.?]/g, "\\$&")}`, "m"), "the new line shows as added");
            if (!to.includes("\n")) {
                assert.match(report, new RegExp(`^-${from.replace(/[$()*.?]/g, "\\$&")}`, "m"), "the old line shows as removed");
            }
            // Every carrier changes the same way: the diff is printed once, naming all of them.
            assert.equal(report.match(/^@@ /gm)?.length, 1, report);
            assert.match(report, new RegExp(`the same change in ${expected.length} files`));
        });
    }
});

describe("synth:diff: adding a worker to lab", () => {
    it("shows the new node's resources as added, removes nothing, and changes only what the README says re-runs", async () => {
        const before = await synthStack("lab");
        const after = await synthStack("lab", (raw: RawConfig) => {
            (raw.nodes as unknown[]).push({ name: "w4-k8s", ip: "192.168.1.104", role: "worker" });
        });
        const d = compareRenderings("lab", renderSynthesis(before), renderSynthesis(after));
        assert.deepEqual(d.removed, []);
        // Added: the new node's own resources only.
        assert.deepEqual(d.added.filter((c) => !c.resource.name.includes("w4-k8s")).map((c) => c.resource.name), []);
        for (const own of ["prepare", "hosts", "join", "membership", "node-object", "role"]) {
            assert.ok(names(d.added).includes(`cluster-w4-k8s-${own}`), `adds cluster-w4-k8s-${own}`);
        }
        assert.ok(names(d.added).includes("registry-trust-w4-k8s-containerd"), "the new node trusts the registry");
        // Changed, as the README's "What re-runs when" says: each machine's /etc/hosts block (it
        // lists every machine) and the one join-credentials step (it lists the joining nodes, so it
        // re-arms the token for the new join). Nothing that prepares, joins or configures an
        // existing node may re-run.
        const resource = (name: string): DeclaredResource => after.resources.find((r) => r.name === name)!;
        const allowed = (name: string) => scriptOf(resource(name)) === "hosts-block" || name === "cluster-join-credentials";
        assert.deepEqual(d.changed.map((c) => c.resource.name).filter((n) => !allowed(n)), []);
        assert.deepEqual(
            d.changed.map((c) => c.resource.name).sort(),
            ["cluster-join-credentials", "cluster-m-k8s-hosts", "cluster-w1-k8s-hosts", "cluster-w2-k8s-hosts", "cluster-w3-k8s-hosts"],
        );
        // Outputs: the inventory and the /etc/hosts lines name the new node; nothing else.
        assert.deepEqual(d.other.map((f) => f.path), ["outputs.json"]);
        const [was, now] = [JSON.parse(d.other[0].before!), JSON.parse(d.other[0].after!)];
        assert.deepEqual(Object.keys(now).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k])).sort(), ["hostsFile", "nodes"]);
    });
});

describe("synth:diff: secrets", () => {
    const PLANTED_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nplanted-ssh-key-7d1c0e55a9b24f3e\n-----END OPENSSH PRIVATE KEY-----\n";

    const PLANTED_MIRROR_PASSWORD = "planted-mirror-password-5e2f9a";

    /** The committed stack with `key` as its k8s-platform:sshPrivateKey secret, and image mirrors
     * pulled from with an account whose password is the secret k8s-platform:imagesPassword. */
    async function withSshKey(stack: string, key: string): Promise<Synthesis> {
        const { config, secretKeys } = readStackFile(stack);
        config["k8s-platform:sshPrivateKey"] = key;
        const images = JSON.parse(config["k8s-platform:images"] ?? "{}");
        config["k8s-platform:images"] = JSON.stringify({ registry: "harbor.example.com/mirror", ...images, username: "robot" });
        config["k8s-platform:imagesPassword"] = PLANTED_MIRROR_PASSWORD;
        return synthesize(stack, config, [...new Set([...secretKeys, "k8s-platform:sshPrivateKey", "k8s-platform:imagesPassword"])], program);
    }

    /** The mock runtime's values for this stack's secrets (see tools/mockRuntime.ts, mockState). */
    function sensitiveValues(stack: string): string[] {
        const mockPassword = (name: string, length: number) => `mock${name}`.replace(/[^a-z0-9]/g, "").padEnd(length, "0").slice(0, length);
        return [
            "planted-ssh-key-7d1c0e55a9b24f3e",
            "MOCK-PRIVATE-KEY",
            `MOCK-PRIVATE-KEY-cluster-admin-key`,
            mockPassword(`cluster-token-secret`, 16),
            mockPassword(`platform-registry-password`, 32),
            mockPassword(`cluster-certificate-key`, 64),
            PLANTED_MIRROR_PASSWORD,
        ];
    }

    // aks has no SSH, no kubeadm and no in-cluster registry: none of these values exist there.
    for (const stack of listStacks().filter((s) => s !== "aks")) {
        it(`${stack}: no secret value shows in the text or markdown report, even with every file shown`, async () => {
            const planted = await withSshKey(stack, PLANTED_SSH_KEY);
            const sensitive = sensitiveValues(stack);
            // The check is live: each value is in the synthesized inputs (stdin decoded).
            const decodedStdin = commands(planted).flatMap((c) =>
                String(unwrapSecrets(c.inputs.stdin) ?? "").split("\n").map((line) => Buffer.from(line.slice(line.indexOf("=") + 1), "base64").toString()),
            );
            const everything = JSON.stringify(planted.resources.map((r) => unwrapSecrets(r.inputs))) + decodedStdin.join("\n");
            for (const secret of sensitive) {
                assert.ok(everything.includes(secret), `the check is live: ${secret} is used in ${stack}`);
            }
            const rendering = renderSynthesis(planted);
            const otherKey = PLANTED_SSH_KEY.replace("7d1c", "0000");
            const edited = await withSshKey(stack, otherKey);
            const diffs = [
                compareRenderings(stack, undefined, rendering), // a new stack: every file, in full
                compareRenderings(stack, renderSynthesis(edited), rendering), // the SSH key changed
            ];
            const reports = [
                ...diffs.map((d) => textReport(d, { showAdded: true })),
                markdownReport(diffs, { ref: "base", showAdded: true, maxChars: Number.POSITIVE_INFINITY }),
            ];
            assert.ok(reports[0].includes("[secret]"), "secrets show as [secret]");
            for (const report of reports) {
                for (const secret of [...sensitive, "planted-ssh-key-0000"]) {
                    assert.ok(!report.includes(secret), `${secret} shows in the report`);
                    assert.ok(!report.includes(Buffer.from(secret).toString("base64").slice(0, 16)), `${secret} shows base64-encoded`);
                }
            }
        });
    }
});

describe("synth:diff: a library edit (lib-*.sh)", () => {
    // Unlike lib.sh (in every command), a library reaches only the commands whose script sources
    // it, and control-plane-maintenance, which installs lib-maintenance.sh with the programs.
    for (const [library, from, to, scripts] of [
        ["lib-kube-vip", "K8SP_LIB_KUBE_VIP_LOADED=1", "K8SP_LIB_KUBE_VIP_LOADED=1\n: edited", ["kubeadm-init", "kubeadm-join"]],
        // lib-maintenance.sh also goes with the steps that take its lock (they move or read the static pod manifests).
        [
            "lib-maintenance",
            "K8SP_LIB_MAINTENANCE_LOADED=1",
            "K8SP_LIB_MAINTENANCE_LOADED=1\n: edited",
            ["etcd-backup", "cert-renewal", "etcd-restore", "control-plane-maintenance", "apiserver-certs", "kubeadm-init", "kubeadm-join", "kubeadm-upgrade"],
        ],
        ["lib-membership", "K8SP_LIB_MEMBERSHIP_LOADED=1", "K8SP_LIB_MEMBERSHIP_LOADED=1\n: edited", ["kubeadm-init", "kubeadm-join"]],
    ] as const) {
        it(`${library}.sh: exactly the commands of ${scripts.join(", ")} change`, async () => {
            const before = await synthStack("lab");
            const after = await withEditedScript(library, from, to, () => synthStack("lab"));
            const d = compareRenderings("lab", renderSynthesis(before), renderSynthesis(after));
            const expected = scripts.flatMap((s) => filesCarrying(before, s)).sort();
            assert.ok(expected.length > 0, `some lab command runs ${scripts.join(" or ")}`);
            assert.deepEqual(d.changed.flatMap((c) => c.files.map((f) => f.path)).sort(), expected);
            assert.deepEqual({ added: d.added, removed: d.removed, other: d.other }, { added: [], removed: [], other: [] });
            assert.ok(commands(before).length > new Set(expected).size + 10, "most commands do not carry it");
        });
    }
});

describe("synth:diff: reports", () => {
    it("markdown: one collapsed section per stack with counts; diffs that do not fit a comment are named, not cut", async () => {
        const before = await synthStack("lab");
        const after = await withEditedScript("lib", "K8SP_LIB_LOADED=1", "K8SP_LIB_LOADED=1\n: edited", () => synthStack("lab"));
        const lab = compareRenderings("lab", renderSynthesis(before), renderSynthesis(after));
        const same = compareRenderings("dev", { "resources.txt": "a:b:C  x  p\n" }, { "resources.txt": "a:b:C  x  p\n" });
        const full = markdownReport([same, lab], { ref: "abc123", maxChars: Number.POSITIVE_INFINITY });
        assert.equal(full.match(/<details>/g)?.length, 2);
        assert.equal(full.match(/<\/details>/g)?.length, 2);
        assert.match(full, /<summary><b>dev<\/b>: no change<\/summary>/);
        const commandCount = commands(before).length;
        assert.match(full, new RegExp(`<summary><b>lab</b>: 0 added, 0 removed, ${lab.changed.length} changed</summary>`));
        assert.ok(lab.changed.length >= commandCount, "lib.sh is in every command");
        assert.match(full, /^```diff$/m);
        const small = markdownReport([same, lab], { ref: "abc123", maxChars: 3000 });
        assert.ok(small.length <= 3000 + 500, `${small.length} characters`);
        assert.match(small, /diff\(s\) left out to fit a comment: run `npm run synth:diff -- lab abc123`/);
        assert.equal(small.match(/<\/details>/g)?.length, 2);
        assert.equal((small.match(/^```/gm)?.length ?? 0) % 2, 0, "every code fence is closed");
    });

    it("parses its arguments", () => {
        assert.deepEqual(parseArgs(["lab"]), { stacks: ["lab"], ref: undefined, markdown: false, showAdded: false, charts: true });
        assert.deepEqual(parseArgs(["--all", "--markdown", "abc"]), { stacks: "all", ref: "abc", markdown: true, showAdded: false, charts: true });
        assert.deepEqual(parseArgs(["lab", "origin/main", "--show-added"]), { stacks: ["lab"], ref: "origin/main", markdown: false, showAdded: true, charts: true });
        assert.throws(() => parseArgs([]), /stacks: aks, azure, dev, lab/);
        assert.throws(() => parseArgs(["--bogus", "lab"]), /unknown option --bogus/);
        assert.throws(() => parseArgs(["lab", "a", "b"]));
    });
});

describe("synth:diff: from the command line, against a git ref", () => {
    it("checks out the merge base with main, compares it with the working tree, and cleans up", () => {
        // A repository holding this working tree as main, and a branch that edits a script.
        const repo = fs.mkdtempSync(path.join(os.tmpdir(), "synth-diff-repo-"));
        const files = execFileSync("git", ["ls-files", "-z", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
        for (const file of files.filter((f) => fs.existsSync(path.join(ROOT, f)))) {
            fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
            fs.copyFileSync(path.join(ROOT, file), path.join(repo, file));
        }
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(repo, "node_modules"));
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t.invalid", ...args], { cwd: repo, encoding: "utf8", stdio: "pipe" });
        git("init", "-q", "-b", "main");
        git("add", "-A");
        git("commit", "-qm", "base");
        git("checkout", "-qb", "feature");
        const script = path.join(repo, "scripts", "prepare-node.sh");
        fs.writeFileSync(script, fs.readFileSync(script, "utf8").replace('log "preparing $NODE_NAME', 'log "preparing node $NODE_NAME'));
        git("commit", "-qam", "edit");
        git("checkout", "-q", "main");
        git("commit", "-q", "--allow-empty", "-m", "main moves on");
        git("checkout", "-q", "feature");

        const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
        const run = spawnSync(tsx, ["tools/synthDiff.ts", "lab", "--no-charts"], { cwd: repo, encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        const base = git("rev-parse", "main~1").trim();
        assert.match(run.stdout, new RegExp(`^synth:diff: ${base.slice(0, 12)} → working tree$`, "m"), "compared with the merge base");
        // Each host's prepare-node command and its reachability check (triggered by that command).
        assert.match(run.stdout, /^== lab: 0 added, 0 removed, 8 changed$/m);
        assert.match(run.stdout, /^next up: 8 remote commands re-run$/m);
        assert.match(run.stdout, /^  re-run: prepare-node on m-k8s, w1-k8s, w2-k8s, w3-k8s; reachable on m-k8s, w1-k8s, w2-k8s, w3-k8s$/m);
        assert.match(run.stdout, /^\+log "preparing node \$NODE_NAME/m);
        assert.deepEqual(git("worktree", "list").trim().split("\n").length, 1, "the temporary worktree is gone");

        const markdown = spawnSync(tsx, ["tools/synthDiff.ts", "lab", "--no-charts", "--markdown", "main"], { cwd: repo, encoding: "utf8" });
        assert.equal(markdown.status, 0, markdown.stderr);
        assert.match(markdown.stdout, /<summary><b>lab<\/b>: 0 added, 0 removed, 8 changed<\/summary>/);

        const bad = spawnSync(tsx, ["tools/synthDiff.ts", "lab", "no-such-ref"], { cwd: repo, encoding: "utf8" });
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /no-such-ref is not a commit/);
    });
});
