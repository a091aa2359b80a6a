/**
 * `npm run synth:diff -- <stack>|--all [--markdown] [--show-added] [<git-ref>]`: what a change
 * does to each stack, offline. Synthesizes the stack from the working tree (in this process) and
 * at <git-ref> (default: the merge base with main) and compares them resource by resource (type,
 * name and parent: the URN): added, removed and changed resources, and for each changed remote
 * command, manifest, chart or other resource the unified diff of what `npm run synth` writes for
 * it. Secrets stay "[secret]": both sides are rendered by `renderSynthesis`, which masks them.
 *
 * The ref is checked out with `git worktree add --detach` into a temporary directory and
 * synthesized there by its own `tools/synth.ts` (its program, scripts and renderer), with this
 * checkout's node_modules linked in: the ref runs with the current dependencies.
 *
 * Exit status: 0 with or without differences (it is a report), 1 on an error, 2 on bad usage.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { structuredPatch } from "diff";
import { program } from "../stacks/program";
import { listStacks, readStackFile, synthesize } from "./mockRuntime";
import { chartNotePath, chartObjectsDir } from "./helmRender";
import { renderedPaths, renderWithCharts } from "./synth";

const ROOT = path.resolve(__dirname, "..");

/** What `npm run synth` writes for a stack: path relative to out/<stack>/ → content. */
export type Rendering = Record<string, string>;

export interface ResourceKey {
    readonly type: string;
    readonly name: string;
    readonly parent: string;
}

export interface FileChange {
    readonly path: string;
    /** Absent: the file is new. */
    readonly before?: string;
    /** Absent: the file is gone. */
    readonly after?: string;
}

export interface ResourceChange {
    readonly resource: ResourceKey;
    /** The resource's files that differ (for added and removed resources: all of them). */
    readonly files: FileChange[];
    /** All of the resource's files on each side, changed or not (empty on the side it is absent). */
    readonly rendered?: { readonly before: Record<string, string>; readonly after: Record<string, string> };
}

export interface StackDiff {
    readonly stack: string;
    readonly added: ResourceChange[];
    readonly removed: ResourceChange[];
    readonly changed: ResourceChange[];
    /** Files no resource owns that differ: outputs.json (stack outputs). */
    readonly other: FileChange[];
    /** Node name per SSH address, from the prepare-node commands of both sides (it runs on the node itself). */
    readonly hostNames?: Record<string, string>;
}

/** Resources listed in a rendering's resources.txt ("type  name  parent", padded columns). */
export function resourcesOf(rendering: Rendering): ResourceKey[] {
    return (rendering["resources.txt"] ?? "")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
            const [type, name, parent] = line.trim().split(/\s+/);
            return { type, name, parent: parent ?? "" };
        });
}

const keyOf = (r: ResourceKey): string => `${r.type} ${r.name} ${r.parent}`;

function filesOf(rendering: Rendering, r: ResourceKey): Record<string, string> {
    const fixed = renderedPaths(r.type, r.name).filter((p) => p in rendering);
    // A chart's rendered objects (tools/helmRender.ts), one file each, or the note saying why not.
    const chart = r.type.startsWith("kubernetes:helm.sh/")
        ? Object.keys(rendering).filter((p) => p.startsWith(`${chartObjectsDir(r.name)}/`) || p === chartNotePath(r.name))
        : [];
    return Object.fromEntries([...fixed, ...chart].map((p) => [p, rendering[p]]));
}

function fileChanges(before: Record<string, string>, after: Record<string, string>): FileChange[] {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])]
        .sort()
        .filter((p) => before[p] !== after[p])
        .map((p) => ({ path: p, before: before[p], after: after[p] }));
}

/** Compares two renderings of a stack (`undefined`: the stack does not exist on that side). */
export function compareRenderings(stack: string, before: Rendering | undefined, after: Rendering | undefined): StackDiff {
    const old = new Map(resourcesOf(before ?? {}).map((r) => [keyOf(r), r]));
    const now = new Map(resourcesOf(after ?? {}).map((r) => [keyOf(r), r]));
    const added: ResourceChange[] = [];
    const removed: ResourceChange[] = [];
    const changed: ResourceChange[] = [];
    for (const [key, r] of now) {
        if (!old.has(key)) {
            added.push({ resource: r, files: fileChanges({}, filesOf(after!, r)), rendered: { before: {}, after: filesOf(after!, r) } });
        } else {
            const files = fileChanges(filesOf(before!, r), filesOf(after!, r));
            if (files.length > 0) {
                changed.push({ resource: r, files, rendered: { before: filesOf(before!, r), after: filesOf(after!, r) } });
            }
        }
    }
    for (const [key, r] of old) {
        if (!now.has(key)) {
            removed.push({ resource: r, files: fileChanges(filesOf(before!, r), {}), rendered: { before: filesOf(before!, r), after: {} } });
        }
    }
    const owned = (rendering: Rendering | undefined, keys: Iterable<ResourceKey>) =>
        new Set(["resources.txt", ...[...keys].flatMap((r) => Object.keys(filesOf(rendering ?? {}, r)))]);
    const ownedBefore = owned(before, old.values());
    const ownedAfter = owned(after, now.values());
    const unowned = (rendering: Rendering | undefined, ownedPaths: Set<string>) =>
        Object.fromEntries(Object.entries(rendering ?? {}).filter(([p]) => !ownedPaths.has(p)));
    const other = fileChanges(unowned(before, ownedBefore), unowned(after, ownedAfter));
    const byName = (a: ResourceChange, b: ResourceChange) => keyOf(a.resource).localeCompare(keyOf(b.resource));
    const hostNames: Record<string, string> = {};
    for (const [file, text] of [...Object.entries(before ?? {}), ...Object.entries(after ?? {})]) {
        const { node, host } = targetOf(text);
        if (/^commands\/[^/]+(?<!\.delete)\.sh$/.test(file) && /^# k8s-platform: prepare-node\.sh$/m.test(text) && node && host) {
            hostNames[host] = node;
        }
    }
    return { stack, added: added.sort(byName), removed: removed.sort(byName), changed: changed.sort(byName), other, hostNames };
}

/** The body of a unified diff (hunks, no file headers) with 3 lines of context. */
function hunksOf(change: FileChange): { header: string; lines: string[] }[] {
    const patch = structuredPatch(change.path, change.path, change.before ?? "", change.after ?? "", undefined, undefined, { context: 3 });
    return patch.hunks.map((h) => ({ header: `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, lines: h.lines }));
}

/** `diff -u` of one file: a/ and b/ paths, /dev/null for a file that is new or gone. */
export function unifiedDiff(change: FileChange): string {
    const lines = [
        `--- ${change.before === undefined ? "/dev/null" : `a/${change.path}`}`,
        `+++ ${change.after === undefined ? "/dev/null" : `b/${change.path}`}`,
        ...hunksOf(change).flatMap((h) => [h.header, ...h.lines]),
    ];
    return lines.join("\n") + "\n";
}

/**
 * Diffs to show, one per distinct change: a script edit changes every command that carries the
 * script in the same way, so files whose hunks are the same line for line share one diff.
 */
export function diffGroups(changes: FileChange[]): { files: string[]; diff: string }[] {
    const groups = new Map<string, { files: string[]; diff: string }>();
    for (const change of changes) {
        const key = hunksOf(change).map((h) => h.lines.join("\n")).join("\n@@\n") + `\n${change.before === undefined}${change.after === undefined}`;
        const group = groups.get(key);
        if (group) {
            group.files.push(change.path);
        } else {
            groups.set(key, { files: [change.path], diff: unifiedDiff(change) });
        }
    }
    return [...groups.values()];
}

export interface ReportOptions {
    /** Also show the full content of added and removed resources (default: list them only). */
    readonly showAdded?: boolean;
}

function diffsToShow(d: StackDiff, opts: ReportOptions): { files: string[]; diff: string }[] {
    const whole = opts.showAdded ? [...d.added, ...d.removed].flatMap((c) => c.files) : [];
    return diffGroups([...d.changed.flatMap((c) => c.files), ...d.other, ...whole]);
}

export function counts(d: StackDiff): string {
    const parts = [`${d.added.length} added`, `${d.removed.length} removed`, `${d.changed.length} changed`];
    if (d.other.length > 0) {
        parts.push(`outputs changed`);
    }
    return parts.join(", ");
}

/** One remote command the next `pulumi up` runs on a host. */
export interface HostRun {
    readonly resource: string;
    /** The node script, e.g. "kubeadm-init". */
    readonly script: string;
    /** The node it runs for (NODE_NAME) or, without one, the address it connects to. */
    readonly target: string;
}

/**
 * What the next `pulumi up` does on hosts, as opposed to what changes only in Pulumi's state.
 * pulumi-command runs `create` again when ANY input of a Command changes (its `update` where it
 * has one: only the Kubernetes upgrade steps, which have no `create`, so they run nothing when
 * created: components/kubernetesUpgrade.ts), runs `create` for a new one and its `delete` for a
 * removed one. A delete-only step (no create) whose inputs change, or a removed command with no
 * delete step, runs nothing: only the state changes. So do the stack outputs.
 */
export interface NextUp {
    /** Changed commands: `create` runs again (`update` where a command has one). */
    readonly reRun: HostRun[];
    /** Added commands with a create step: run for the first time. */
    readonly firstRun: HostRun[];
    /** Removed commands with a delete step: it runs. */
    readonly deleteRun: HostRun[];
    /** Command resources whose change runs nothing on a host (only the state changes). */
    readonly stateOnly: string[];
    readonly outputsChanged: boolean;
}

/** The script and node of a rendered command file (its `# k8s-platform: X.sh` and NODE_NAME lines). */
function hostRunOf(resource: string, text: string | undefined): HostRun | undefined {
    if (text === undefined || /^# on create: nothing \(a delete-only/m.test(text)) {
        return undefined;
    }
    // Not a node script (the reachability step): named by its resource's last word.
    const script = /^# k8s-platform: (.+)\.sh$/m.exec(text)?.[1] ?? resource.split("-").pop()!;
    return { resource, script, target: targetOf(text).host ?? "?" };
}

/** NODE_NAME and the address a rendered command connects to. */
function targetOf(text: string): { node?: string; host?: string } {
    return {
        node: /^export NODE_NAME='([^']*)'$/m.exec(text)?.[1],
        host: /^# \S+: runs on \S*?@?([^@\s]+):\d+$/m.exec(text)?.[1],
    };
}

export function nextUp(d: StackDiff): NextUp {
    // A command's NODE_NAME may name another node (cluster-admin drains one from the control
    // plane), so hosts are named by the node whose prepare-node runs there.
    const named = (run: HostRun | undefined) => run && { ...run, target: d.hostNames?.[run.target] ?? run.target };
    const isCommand = (c: ResourceChange) => c.resource.type === "command:remote:Command";
    const file = (c: ResourceChange, side: "before" | "after", suffix = "") => {
        const path = `commands/${c.resource.name}${suffix}.sh`;
        return c.rendered?.[side][path] ?? c.files.find((f) => f.path === path)?.[side];
    };
    const reRun: HostRun[] = [];
    const firstRun: HostRun[] = [];
    const deleteRun: HostRun[] = [];
    const stateOnly: string[] = [];
    const sort = (list: HostRun[]) => list.sort((a, b) => a.script.localeCompare(b.script) || a.target.localeCompare(b.target));
    const place = (list: HostRun[], name: string, run: HostRun | undefined) => (run ? list.push(named(run)!) : stateOnly.push(name));
    for (const c of d.changed.filter(isCommand)) {
        place(reRun, c.resource.name, hostRunOf(c.resource.name, file(c, "after")));
    }
    for (const c of d.added.filter(isCommand)) {
        const text = file(c, "after");
        // An update-only step (the Kubernetes upgrade) runs nothing when it is created.
        place(firstRun, c.resource.name, text && /^# on create: nothing; runs only when/m.test(text) ? undefined : hostRunOf(c.resource.name, text));
    }
    for (const c of d.removed.filter(isCommand)) {
        // The delete file carries the create file's header, "on create: nothing" included.
        const text = file(c, "before", ".delete")?.replace(/^# on create: nothing.*$/m, "");
        place(deleteRun, c.resource.name, hostRunOf(c.resource.name, text));
    }
    return { reRun: sort(reRun), firstRun: sort(firstRun), deleteRun: sort(deleteRun), stateOnly: stateOnly.sort(), outputsChanged: d.other.length > 0 };
}

/** Per chart whose rendered objects differ: "chart X: objects 1 added (ConfigMap kube-system/extra), 0 removed, 1 changed". */
export function chartObjectLines(d: StackDiff): string[] {
    return [...d.added, ...d.removed, ...d.changed]
        .filter((c) => c.resource.type.startsWith("kubernetes:helm.sh/"))
        .flatMap((c) => {
            const objects = c.files.filter((f) => f.path.startsWith(`${chartObjectsDir(c.resource.name)}/`));
            const note = c.files.find((f) => f.path === chartNotePath(c.resource.name))?.after;
            const name = (f: FileChange) => f.path.slice(chartObjectsDir(c.resource.name).length + 1).replace(/\.yaml$/, "").replace(".", " ").replace(".", "/");
            const group = (list: FileChange[]) => `${list.length}${list.length > 0 ? ` (${list.map(name).join(", ")})` : ""}`;
            const lines = objects.length > 0
                ? [`chart ${c.resource.name}: objects ${group(objects.filter((f) => f.before === undefined))} added, ${group(objects.filter((f) => f.after === undefined))} removed, ${group(objects.filter((f) => f.before !== undefined && f.after !== undefined))} changed`]
                : [];
            return note ? [...lines, `chart ${c.resource.name}: ${note.split("\n")[0]}`] : lines;
        });
}

/** Scripts whose run is worth naming first: they (re)make or unmake a Kubernetes node. */
const WEIGHTY = ["kubeadm-init", "kubeadm-join", "kubeadm-reset"];

/** "kubeadm-init on m1; prepare-node on m1, w1, w2", the weighty scripts first. */
function byScript(list: HostRun[]): string {
    const groups = new Map<string, string[]>();
    for (const run of list) {
        groups.set(run.script, [...(groups.get(run.script) ?? []), run.target]);
    }
    const rank = (s: string) => (WEIGHTY.includes(s) ? WEIGHTY.indexOf(s) : WEIGHTY.length);
    return [...groups.entries()]
        .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
        .map(([script, targets]) => `${script} on ${[...new Set(targets)].join(", ")}`)
        .join("; ");
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The next-up summary, one line and its details (empty when the change runs nothing on a host). */
export function nextUpLines(d: StackDiff): string[] {
    const n = nextUp(d);
    const lines: string[] = [];
    const parts: string[] = [];
    const weighty = [...n.reRun, ...n.firstRun, ...n.deleteRun].filter((r) => WEIGHTY.includes(r.script));
    if (n.reRun.length > 0) parts.push(`${plural(n.reRun.length, "remote command")} re-run`);
    if (n.firstRun.length > 0) parts.push(`${plural(n.firstRun.length, "remote command")} run for the first time`);
    if (n.deleteRun.length > 0) parts.push(`${plural(n.deleteRun.length, "delete step")} run`);
    if (parts.length === 0) {
        lines.push("next up: no remote command runs");
    } else {
        const including = weighty.length > 0 ? `, including ${byScript(weighty)}` : "";
        lines.push(`next up: ${parts.join(", ")}${including}`);
        if (n.reRun.length > 0) lines.push(`  re-run: ${byScript(n.reRun)}`);
        if (n.firstRun.length > 0) lines.push(`  first run: ${byScript(n.firstRun)}`);
        if (n.deleteRun.length > 0) lines.push(`  delete steps: ${byScript(n.deleteRun)}`);
    }
    const state = [
        ...(n.stateOnly.length > 0 ? [`${plural(n.stateOnly.length, "remote command")} (${n.stateOnly.join(", ")})`] : []),
        ...(n.outputsChanged ? ["stack outputs"] : []),
    ];
    if (state.length > 0) lines.push(`only in state (nothing runs on a host): ${state.join("; ")}`);
    return lines;
}

const describe = (r: ResourceKey): string => `${r.type}  ${r.name}${r.parent ? `  (parent ${r.parent})` : ""}`;

/** Plain-text report of one stack. */
export function textReport(d: StackDiff, opts: ReportOptions = {}): string {
    const out = [`== ${d.stack}: ${counts(d)}`, ...nextUpLines(d), ...chartObjectLines(d)];
    for (const [label, mark, list] of [["added", "+", d.added], ["removed", "-", d.removed], ["changed", "~", d.changed]] as const) {
        if (list.length > 0) {
            out.push(`${label}:`, ...list.map((c) => `  ${mark} ${describe(c.resource)}`));
        }
    }
    if (d.other.length > 0) {
        out.push(`other files changed: ${d.other.map((f) => f.path).join(", ")}`);
    }
    for (const group of diffsToShow(d, opts)) {
        out.push("");
        if (group.files.length > 1) {
            out.push(`# the same change in ${group.files.length} files: ${group.files.join(", ")}`);
        }
        out.push(group.diff.trimEnd());
    }
    return out.join("\n") + "\n";
}

/** A code fence longer than any run of backticks in `text`. */
function fenceFor(text: string): string {
    const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
    return "`".repeat(Math.max(3, longest + 1));
}

const LIST_LIMIT = 100;

function markdownList(label: string, list: ResourceChange[]): string[] {
    if (list.length === 0) {
        return [];
    }
    const shown = list.slice(0, LIST_LIMIT).map((c) => `- \`${c.resource.type}\` \`${c.resource.name}\``);
    const more = list.length > LIST_LIMIT ? [`- … and ${list.length - LIST_LIMIT} more`] : [];
    return [`**${label}** (${list.length})`, "", ...shown, ...more, ""];
}

export interface MarkdownOptions extends ReportOptions {
    /** The ref compared against, as shown to the reader. */
    readonly ref: string;
    /**
     * Longest output; diffs that do not fit are named but left out. Default 60,000 characters:
     * a GitHub comment holds at most 65,536.
     */
    readonly maxChars?: number;
}

/** Markdown for a pull-request comment: one collapsed <details> section per stack. */
export function markdownReport(diffs: StackDiff[], opts: MarkdownOptions): string {
    const maxChars = opts.maxChars ?? 60_000;
    const title = `### \`npm run synth:diff\` against \`${opts.ref}\`\n\n`;
    const sections = diffs.map((d) => {
        const nothing = d.added.length + d.removed.length + d.changed.length + d.other.length === 0;
        const head = [
            `<details><summary><b>${d.stack}</b>: ${nothing ? "no change" : counts(d)}</summary>`,
            "",
            ...(nothing ? [] : [...nextUpLines(d).map((l) => (l.startsWith("  ") ? `- ${l.trim()}` : `**${l}**`)), ...chartObjectLines(d).map((l) => `- ${l}`), ""]),
            ...markdownList("Added", d.added),
            ...markdownList("Removed", d.removed),
            ...markdownList("Changed", d.changed),
            ...(nothing ? ["No resource, input or output changes.", ""] : []),
            ...(d.other.length > 0 ? [`**Other files changed**: ${d.other.map((f) => `\`${f.path}\``).join(", ")}`, ""] : []),
        ].join("\n");
        const blocks = diffsToShow(d, opts).map((g) => {
            const fence = fenceFor(g.diff);
            const files = g.files.map((f) => `\`${f}\``).join(", ");
            return `${g.files.length > 1 ? `Same change in ${files}:` : `${files}:`}\n\n${fence}diff\n${g.diff}${fence}\n\n`;
        });
        const omittedNote = (n: number) =>
            `_${n} diff(s) left out to fit a comment: run \`npm run synth:diff -- ${d.stack} ${opts.ref}\` for all of them._\n\n`;
        return { head: head + "\n", blocks, omittedNote, tail: "</details>\n" };
    });
    let used = title.length + sections.reduce((n, s) => n + s.head.length + s.tail.length + (s.blocks.length > 0 ? s.omittedNote(s.blocks.length).length : 0), 0);
    const parts = [title];
    for (const s of sections) {
        const included = s.blocks.filter((block) => {
            if (used + block.length > maxChars) {
                return false;
            }
            used += block.length;
            return true;
        });
        const omitted = s.blocks.length - included.length;
        parts.push(s.head, ...included, omitted > 0 ? s.omittedNote(omitted) : "", s.tail);
    }
    return parts.join("");
}

/** The working tree's rendering of a stack (undefined if it has no Pulumi.<stack>.yaml). */
export async function renderWorkingTree(stack: string, opts: { charts: boolean } = { charts: false }): Promise<Rendering | undefined> {
    if (!listStacks().includes(stack)) {
        return undefined;
    }
    const { config, secretKeys } = readStackFile(stack);
    return renderWithCharts(await synthesize(stack, config, secretKeys, program), opts);
}

function git(args: string[], cwd = ROOT): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** The default ref: where this branch left main (`git merge-base HEAD main`, else origin/main). */
export function defaultRef(cwd = ROOT): string {
    for (const base of ["main", "origin/main"]) {
        try {
            return git(["merge-base", "HEAD", base], cwd);
        } catch {
            // Try the next candidate.
        }
    }
    throw new Error("no merge base with main or origin/main; name the ref to compare against: npm run synth:diff -- <stack> <git-ref>");
}

function readTree(dir: string): Rendering {
    const files: Rendering = {};
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const child = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                walk(child);
            } else {
                files[child] = fs.readFileSync(path.join(dir, child), "utf8");
            }
        }
    };
    walk("");
    return files;
}

/**
 * Renderings at a git ref: its tree in a temporary `git worktree`, with this checkout's
 * node_modules linked in, synthesized by the ref's own `tools/synth.ts`. `stacks` undefined:
 * every stack the ref has. A stack the ref lacks maps to undefined.
 */
export function renderAtRef(ref: string, stacks: string[] | undefined, cwd = ROOT, opts: { charts: boolean } = { charts: true }): Map<string, Rendering | undefined> {
    const resolved = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd, encoding: "utf8" });
    if (resolved.status !== 0) {
        throw new Error(`${ref} is not a commit in ${cwd}`);
    }
    const commit = resolved.stdout.trim();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "synth-diff-ref-"));
    git(["worktree", "add", "--detach", dir, commit], cwd);
    try {
        // The current dependencies, whatever the ref's tree holds at node_modules.
        fs.rmSync(path.join(dir, "node_modules"), { recursive: true, force: true });
        fs.symlinkSync(path.join(cwd, "node_modules"), path.join(dir, "node_modules"));
        if (!fs.existsSync(path.join(dir, "tools", "synth.ts"))) {
            throw new Error(`${ref} has no tools/synth.ts to synthesize with`);
        }
        const present = fs.readdirSync(dir).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
        const result = new Map<string, Rendering | undefined>();
        for (const stack of stacks ?? present.sort()) {
            if (!present.includes(stack)) {
                result.set(stack, undefined);
                continue;
            }
            const run = spawnSync(path.join(cwd, "node_modules", ".bin", "tsx"), ["tools/synth.ts", stack, ...(opts.charts ? [] : ["--no-charts"])], { cwd: dir, encoding: "utf8" });
            if (run.status !== 0) {
                throw new Error(`synthesizing ${stack} at ${ref} failed: ${run.stderr.trim() || `exit ${run.status}`}`);
            }
            result.set(stack, readTree(path.join(dir, "out", stack)));
        }
        return result;
    } finally {
        spawnSync("git", ["worktree", "remove", "--force", dir], { cwd });
        fs.rmSync(dir, { recursive: true, force: true });
        spawnSync("git", ["worktree", "prune"], { cwd });
    }
}

interface Args {
    stacks: string[] | "all";
    ref?: string;
    markdown: boolean;
    showAdded: boolean;
    /** Render the charts with Helm (default; `--no-charts` shows them as their inputs only). */
    charts: boolean;
}

const USAGE = "usage: npm run synth:diff -- <stack>|--all [--markdown] [--show-added] [--no-charts] [<git-ref>]";

export function parseArgs(argv: string[]): Args {
    const flags = argv.filter((a) => a.startsWith("--"));
    const words = argv.filter((a) => !a.startsWith("--"));
    const unknown = flags.filter((f) => !["--all", "--markdown", "--show-added", "--no-charts"].includes(f));
    if (unknown.length > 0) {
        throw new UsageError(`unknown option ${unknown.join(", ")}`);
    }
    const all = flags.includes("--all");
    const [stack, ref, ...rest] = all ? [undefined, ...words] : words;
    if ((!all && !stack) || rest.length > 0) {
        throw new UsageError(`stacks: ${listStacks().join(", ")}`);
    }
    return { stacks: all ? "all" : [stack!], ref, markdown: flags.includes("--markdown"), showAdded: flags.includes("--show-added"), charts: !flags.includes("--no-charts") };
}

class UsageError extends Error {}

async function main(): Promise<void> {
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        if (err instanceof UsageError) {
            console.error(`${USAGE}   (${err.message})`);
            process.exit(2);
        }
        throw err;
    }
    const ref = args.ref ?? defaultRef();
    if (args.stacks !== "all" && !listStacks().includes(args.stacks[0])) {
        // A stack only the ref has is fine (the report shows it removed); one in neither is a typo.
        const atRefToo = spawnSync("git", ["cat-file", "-e", `${ref}:Pulumi.${args.stacks[0]}.yaml`], { cwd: ROOT }).status === 0;
        if (!atRefToo) {
            throw new Error(`no stack file Pulumi.${args.stacks[0]}.yaml here or at ${ref}; stacks: ${listStacks().join(", ")}`);
        }
    }
    const shortRef = /^[0-9a-f]{40}$/.test(ref) ? ref.slice(0, 12) : ref;
    const atRef = renderAtRef(ref, args.stacks === "all" ? undefined : args.stacks, ROOT, { charts: args.charts });
    const stacks = args.stacks === "all" ? [...new Set([...atRef.keys(), ...listStacks()])].sort() : args.stacks;
    const diffs: StackDiff[] = [];
    for (const stack of stacks) {
        diffs.push(compareRenderings(stack, atRef.get(stack), await renderWorkingTree(stack, { charts: args.charts })));
    }
    if (args.markdown) {
        process.stdout.write(markdownReport(diffs, { ref: shortRef, showAdded: args.showAdded }));
    } else {
        process.stdout.write(`synth:diff: ${shortRef} → working tree\n` + diffs.map((d) => textReport(d, { showAdded: args.showAdded })).join("\n"));
    }
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(`synth:diff: ${err.message}`);
        process.exit(1);
    });
}
