/**
 * `npm run synth -- <stack>`: evaluates a stack offline (Pulumi's mock runtime: no cloud, no
 * Pulumi CLI, no credentials) and writes what it declares under out/<stack>/:
 *   resources.txt          every resource: type, name, parent
 *   commands/<name>.sh     each remote command exactly as it runs on its host (script, parameters)
 *   commands/<name>.delete.sh  what runs when that resource is removed
 *   manifests/<name>.yaml  each Kubernetes object
 *   charts/<name>.yaml     each Helm chart: chart, version, repository, values
 *   charts/<name>.rendered/<Kind>.<namespace>.<name>.yaml  each object the chart renders to, as
 *                          Chart v4 renders it (tools/helmRender.ts); or, when the chart cannot
 *                          be had (no network, no Go), charts/<name>.not-rendered.txt saying why.
 *                          `--no-charts` skips rendering.
 *   resources/<name>.yaml  inputs of every other resource (VMs, Azure resources, …)
 *   outputs.json           stack outputs, secrets masked
 * Secrets show as "[secret]", as in `pulumi preview`.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { program } from "../stacks/program";
import { KUBERNETES_VERSION } from "../config";
import { findHelm, renderCharts } from "./helmRender";
import { DeclaredResource, listStacks, maskSecrets, readStackFile, synthesize, Synthesis, unwrapSecrets } from "./mockRuntime";

/** A Kubernetes object from a `kubernetes:<group>/<version>:<Kind>` resource's inputs. */
export function manifestOf(resource: DeclaredResource): Record<string, unknown> | undefined {
    const match = /^kubernetes:([^/]+)\/([^:]+):(.+)$/.exec(resource.type);
    if (!match || match[1].startsWith("helm.sh") || resource.read) {
        return undefined;
    }
    const [, group, version, kind] = match;
    const apiVersion = group === "core" ? version : `${group}/${version}`;
    // A `<Kind>Patch` resource is a server-side apply of part of an existing <Kind> object.
    return { apiVersion, kind: kind.replace(/Patch$/, ""), ...(maskSecrets(resource.inputs) as Record<string, unknown>) };
}

/** Where each kind of content goes, relative to out/<stack>/. */
const PATHS = {
    command: (name: string) => `commands/${name}.sh`,
    deleteCommand: (name: string) => `commands/${name}.delete.sh`,
    chart: (name: string) => `charts/${name}.yaml`,
    manifest: (name: string) => `manifests/${name}.yaml`,
    inputs: (name: string) => `resources/${name}.yaml`,
};

/**
 * Files (relative to out/<stack>/) a resource of this type and name may be written to; which
 * of them exist depends on its inputs (a delete step) and on whether it is read (`Resource.get`).
 */
export function renderedPaths(type: string, name: string): string[] {
    if (type === "command:remote:Command") {
        return [PATHS.command(name), PATHS.deleteCommand(name)];
    }
    if (type.startsWith("kubernetes:helm.sh/")) {
        return [PATHS.chart(name)];
    }
    return type.startsWith("kubernetes:") ? [PATHS.manifest(name), PATHS.inputs(name)] : [PATHS.inputs(name)];
}

/** One resource's content, path → text, as `npm run synth` writes it; secrets masked. */
export function renderResource(resource: DeclaredResource): Record<string, string> {
    const { type, name, inputs } = resource;
    if (type === "command:remote:Command") {
        const connection = unwrapSecrets(inputs.connection) as
            | { host?: string; user?: string; port?: number; hostKey?: string; dialErrorLimit?: number; perDialTimeout?: number }
            | undefined;
        const secretOutput = resource.options.additionalSecretOutputs?.includes("stdout") && inputs.logging === "none";
        const header = [
            `# ${name}: runs on ${connection?.user}@${connection?.host}:${connection?.port ?? 22}`,
            `# host key: ${connection?.hostKey ? `pinned (${connection.hostKey.split(" ")[0]})` : "not pinned"}`,
            // A connection input too: changing it re-runs the command, so synth:diff must see it.
            `# unreachable host: fails after ${connection?.dialErrorLimit ?? 10} dials of ${connection?.perDialTimeout ?? 15} s`,
            inputs.stdin !== undefined ? "# standard input: [secret]" : "# standard input: none",
            `# output: ${secretOutput ? "secret in state, not logged" : "kept in state and logged"}`,
            ...(inputs.create === undefined && inputs.update === undefined ? ["# on create: nothing (a delete-only step: no SSH session until it is removed)"] : []),
            ...(inputs.create === undefined && inputs.update !== undefined ? ["# on create: nothing; runs only when its inputs change (update step)"] : []),
            ...(Array.isArray(inputs.triggers) ? [`# triggers (a change replaces it, so it runs again): ${JSON.stringify(maskSecrets(inputs.triggers))}`] : []),
            "",
        ].join("\n");
        return {
            [PATHS.command(name)]: header + String(maskSecrets(inputs.create ?? inputs.update) ?? ""),
            ...(inputs.delete !== undefined ? { [PATHS.deleteCommand(name)]: header + String(maskSecrets(inputs.delete)) } : {}),
        };
    }
    if (type.startsWith("kubernetes:helm.sh/")) {
        return { [PATHS.chart(name)]: stringify(maskSecrets(inputs)) };
    }
    const manifest = manifestOf(resource);
    if (manifest) {
        return { [PATHS.manifest(name)]: stringify(manifest) };
    }
    if (resource.custom && !type.startsWith("pulumi:providers:")) {
        return { [PATHS.inputs(name)]: stringify({ type, inputs: maskSecrets(inputs) }) };
    }
    return {};
}

/**
 * Everything `npm run synth` writes for a stack, path (relative to out/<stack>/) → content:
 * resources.txt, each resource's files (`renderResource`) and outputs.json. Shared with
 * `npm run synth:diff`, which compares two of these.
 */
export function renderSynthesis(synthesis: Synthesis): Record<string, string> {
    const rows = synthesis.resources.map((r) => [r.type, r.name, r.parent ?? ""]);
    const widths = [0, 1].map((i) => Math.max(0, ...rows.map((row) => row[i].length)));
    const files: Record<string, string> = {
        "resources.txt": rows.map((row) => `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`.trimEnd()).join("\n") + "\n",
    };
    for (const resource of synthesis.resources) {
        Object.assign(files, renderResource(resource));
    }
    const outputs = Object.fromEntries(
        Object.entries(synthesis.outputs).map(([key, out]) => [key, out.secret ? "[secret]" : out.value]),
    );
    files["outputs.json"] = JSON.stringify(outputs, null, 2) + "\n";
    return files;
}

/** `renderSynthesis` plus the charts rendered by Helm (or notes saying why not). */
export function renderWithCharts(synthesis: Synthesis, opts: { charts: boolean }): Record<string, string> {
    return { ...renderSynthesis(synthesis), ...renderCharts(synthesis, findHelm({ build: opts.charts }), KUBERNETES_VERSION) };
}

export function writeSynthesis(stack: string, synthesis: Synthesis, outDir: string, opts: { charts: boolean } = { charts: false }): void {
    fs.rmSync(outDir, { recursive: true, force: true });
    for (const [file, content] of Object.entries(renderWithCharts(synthesis, opts))) {
        fs.mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
        fs.writeFileSync(path.join(outDir, file), content);
    }
}

async function main(): Promise<void> {
    const stack = process.argv[2];
    const charts = !process.argv.slice(3).includes("--no-charts");
    if (!stack || stack.startsWith("-")) {
        console.error(`usage: npm run synth -- <stack> [--no-charts]   (stacks: ${listStacks().join(", ")})`);
        process.exit(2);
    }
    const { config, secretKeys } = readStackFile(stack);
    const synthesis = await synthesize(stack, config, secretKeys, program);
    const outDir = path.resolve(__dirname, "..", "out", stack);
    writeSynthesis(stack, synthesis, outDir, { charts });
    const commands = synthesis.resources.filter((r) => r.type === "command:remote:Command").length;
    console.log(`${stack}: ${synthesis.resources.length} resources (${commands} remote commands) written to ${path.relative(process.cwd(), outDir) || "."}/`);
    for (const note of fs.existsSync(path.join(outDir, "charts")) ? fs.readdirSync(path.join(outDir, "charts")).filter((f) => f.endsWith(".not-rendered.txt")) : []) {
        console.log(`  chart ${note.replace(/\.not-rendered\.txt$/, "")}: ${fs.readFileSync(path.join(outDir, "charts", note), "utf8").split("\n")[0]}`);
    }
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
    });
}
