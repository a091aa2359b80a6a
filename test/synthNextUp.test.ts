// `npm run synth:diff`'s "next up" lines: what the next `pulumi up` runs on hosts, apart from what
// only changes in state, for the changes users make: a comment edit, a script edit, a node added,
// a node removed. Built from two renderings of the real program, as the command does.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SCRIPTS_DIR, useScriptsDir } from "../components/render/script";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, markdownReport, nextUp, nextUpLines, textReport } from "../tools/synthDiff";
import { RawConfig, synthStack } from "./helpers";

async function withScripts<T>(edit: (dir: string) => void, run: () => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "synth-nextup-"));
    fs.cpSync(SCRIPTS_DIR, dir, { recursive: true });
    edit(dir);
    const restore = useScriptsDir(dir);
    try {
        return await run();
    } finally {
        restore();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const edit = (dir: string, script: string, from: string | RegExp, to: string) => {
    const file = path.join(dir, `${script}.sh`);
    const text = fs.readFileSync(file, "utf8");
    assert.match(text, typeof from === "string" ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : from);
    fs.writeFileSync(file, text.replace(from, to));
};

describe("synth:diff: what the next up runs", () => {
    it("a comment-only edit of every script changes nothing and runs nothing", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const after = renderSynthesis(
            await withScripts(
                (dir) => {
                    for (const file of fs.readdirSync(dir)) {
                        const text = fs.readFileSync(path.join(dir, file), "utf8");
                        // A new comment line and a blank line after the first line, and a reworded comment.
                        fs.writeFileSync(path.join(dir, file), text.replace(/\n/, "\n# reviewed\n\n").replace(/\n# ([A-Za-z])/, "\n# Note: $1"));
                    }
                },
                () => synthStack("lab"),
            ),
        );
        const d = compareRenderings("lab", before, after);
        assert.deepEqual([d.added.length, d.removed.length, d.changed.map((c) => c.resource.name)], [0, 0, []]);
        assert.deepEqual(nextUpLines(d), ["next up: no remote command runs"]);
    });

    it("an edit of kubeadm-init.sh re-runs exactly kubeadm init on the control plane, and says so", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const after = renderSynthesis(await withScripts((dir) => edit(dir, "kubeadm-init", "set -euo pipefail", "set -euo pipefail\n: edited"), () => synthStack("lab")));
        const d = compareRenderings("lab", before, after);
        const n = nextUp(d);
        assert.deepEqual(n.reRun.map((r) => `${r.script}@${r.target}`), ["kubeadm-init@m-k8s"]);
        assert.deepEqual([n.firstRun, n.deleteRun, n.stateOnly], [[], [], []]);
        const text = textReport(d);
        assert.match(text, /^next up: 1 remote command re-run, including kubeadm-init on m-k8s$/m);
        assert.match(markdownReport([d], { ref: "main" }), /\*\*next up: 1 remote command re-run, including kubeadm-init on m-k8s\*\*/);
    });

    it("an edit of kubeadm-reset.sh re-runs the commands that carry it as their delete step, and delete-only steps change only the state", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const after = renderSynthesis(await withScripts((dir) => edit(dir, "kubeadm-reset", "set -euo pipefail", "set -euo pipefail\n: edited"), () => synthStack("lab")));
        const d = compareRenderings("lab", before, after);
        const n = nextUp(d);
        // pulumi-command runs `create` again when any input changes, the delete text included: the
        // init and join commands (delete: kubeadm reset) re-run their create step.
        assert.deepEqual(n.reRun.map((r) => `${r.script}@${r.target}`), ["kubeadm-init@m-k8s", "kubeadm-join@w1-k8s", "kubeadm-join@w2-k8s", "kubeadm-join@w3-k8s"]);
        assert.deepEqual(n.stateOnly, []);
        assert.equal(n.reRun.length, d.changed.length);
    });

    it("an edit of cluster-admin.sh re-runs nothing: its steps (drain, Node deletion) are delete only and change only the state", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const after = renderSynthesis(await withScripts((dir) => edit(dir, "cluster-admin", "set -euo pipefail", "set -euo pipefail\n: edited"), () => synthStack("lab")));
        const d = compareRenderings("lab", before, after);
        const n = nextUp(d);
        // The join credentials are join-credentials.sh's; the membership and node-object steps have
        // no create: nothing runs until they are removed.
        assert.deepEqual(n.reRun, []);
        assert.deepEqual(n.stateOnly, d.changed.map((c) => c.resource.name).sort());
        assert.ok(n.stateOnly.length === 6 && n.stateOnly.every((name) => /-membership$|-node-object$/.test(name)), n.stateOnly.join(" "));
        assert.match(nextUpLines(d).join("\n"), /^only in state \(nothing runs on a host\): 6 remote commands/m);
    });

    it("adding a worker runs its own steps for the first time and re-runs only the hosts blocks and join credentials", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const after = renderSynthesis(
            await synthStack("lab", (raw: RawConfig) => {
                (raw.nodes as unknown[]).push({ name: "w4-k8s", ip: "192.168.1.104", role: "worker" });
            }),
        );
        const n = nextUp(compareRenderings("lab", before, after));
        assert.deepEqual([...new Set(n.reRun.map((r) => r.script))].sort(), ["hosts-block", "join-credentials"]);
        assert.ok(n.firstRun.some((r) => r.script === "kubeadm-join" && r.target === "w4-k8s"), "w4-k8s joins");
        assert.ok(n.firstRun.some((r) => r.script === "prepare-node" && r.target === "w4-k8s"));
        assert.deepEqual(n.deleteRun, []);
        assert.ok(n.outputsChanged);
    });

    it("removing a worker runs its delete steps (drain from the control plane, reset on the node)", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const after = renderSynthesis(
            await synthStack("lab", (raw: RawConfig) => {
                raw.nodes = (raw.nodes as { name: string }[]).filter((node) => node.name !== "w3-k8s");
            }),
        );
        const d = compareRenderings("lab", before, after);
        const n = nextUp(d);
        const deletes = n.deleteRun.map((r) => `${r.script}@${r.target}`);
        assert.ok(deletes.includes("kubeadm-reset@w3-k8s"), deletes.join(" "));
        assert.ok(deletes.some((r) => r.startsWith("cluster-admin@m-k8s")), "the control plane drains and deletes the node");
        assert.match(nextUpLines(d)[0], /delete steps? run, including kubeadm-reset on w3-k8s/);
    });
});
