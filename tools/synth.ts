/**
 * `npm run synth -- <stack>`: evaluates a stack offline (Pulumi's mock runtime: no cloud, no
 * Pulumi CLI, no credentials) and writes what it declares under out/<stack>/:
 *   resources.txt          every resource: type, name, parent
 *   commands/<name>.sh     each remote command exactly as it runs on its host (script, parameters)
 *   commands/<name>.delete.sh  what runs when that resource is removed
 *   manifests/<name>.yaml  each Kubernetes object
 *   charts/<name>.yaml     each Helm chart: chart, version, repository, values
 *   resources/<name>.yaml  inputs of every other resource (VMs, Azure resources, …)
 *   outputs.json           stack outputs, secrets masked
 * Secrets show as "[secret]", as in `pulumi preview`.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { program } from "../stacks/program";
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

function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
}

export function writeSynthesis(stack: string, synthesis: Synthesis, outDir: string): void {
    fs.rmSync(outDir, { recursive: true, force: true });
    const rows = synthesis.resources.map((r) => [r.type, r.name, r.parent ?? ""]);
    const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i].length)));
    write(
        path.join(outDir, "resources.txt"),
        rows.map((row) => `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`.trimEnd()).join("\n") + "\n",
    );
    for (const resource of synthesis.resources) {
        const { type, name, inputs } = resource;
        if (type === "command:remote:Command") {
            const connection = unwrapSecrets(inputs.connection) as { host?: string; user?: string; port?: number } | undefined;
            const header = [
                `# ${name}: runs on ${connection?.user}@${connection?.host}:${connection?.port ?? 22}`,
                inputs.stdin !== undefined ? "# standard input: [secret]" : "# standard input: none",
                "",
            ].join("\n");
            write(path.join(outDir, "commands", `${name}.sh`), header + String(maskSecrets(inputs.create) ?? ""));
            if (inputs.delete !== undefined) {
                write(path.join(outDir, "commands", `${name}.delete.sh`), header + String(maskSecrets(inputs.delete)));
            }
        } else if (type.startsWith("kubernetes:helm.sh/")) {
            write(path.join(outDir, "charts", `${name}.yaml`), stringify(maskSecrets(inputs)));
        } else if (manifestOf(resource)) {
            write(path.join(outDir, "manifests", `${name}.yaml`), stringify(manifestOf(resource)));
        } else if (resource.custom && !type.startsWith("pulumi:providers:")) {
            write(path.join(outDir, "resources", `${name}.yaml`), stringify({ type, inputs: maskSecrets(inputs) }));
        }
    }
    const outputs = Object.fromEntries(
        Object.entries(synthesis.outputs).map(([key, out]) => [key, out.secret ? "[secret]" : out.value]),
    );
    write(path.join(outDir, "outputs.json"), JSON.stringify(outputs, null, 2) + "\n");
}

async function main(): Promise<void> {
    const stack = process.argv[2];
    if (!stack || stack.startsWith("-")) {
        console.error(`usage: npm run synth -- <stack>   (stacks: ${listStacks().join(", ")})`);
        process.exit(2);
    }
    const { config, secretKeys } = readStackFile(stack);
    const synthesis = await synthesize(stack, config, secretKeys, program);
    const outDir = path.resolve(__dirname, "..", "out", stack);
    writeSynthesis(stack, synthesis, outDir);
    const commands = synthesis.resources.filter((r) => r.type === "command:remote:Command").length;
    console.log(`${stack}: ${synthesis.resources.length} resources (${commands} remote commands) written to ${path.relative(process.cwd(), outDir) || "."}/`);
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
    });
}
