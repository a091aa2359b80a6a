/**
 * `npm run hosts -- <stack> [--file PATH]`: writes the stack's `hostsFile` lines (every machine, and
 * the platform's host names at the ingress address) into a hosts file, between marker comments
 * naming the stack. It replaces its own block, never duplicates it, and keeps every other line.
 * Without --file it edits /etc/hosts, which needs root (sudo).
 *
 * The lines come from `pulumi stack output hostsFile` when the Pulumi CLI can read the stack;
 * otherwise from an offline synthesis of this checkout (the lines depend on config only).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { program } from "../stacks/program";
import { replaceHostsBlock } from "../components/render/hostsFile";
import { listStacks, readStackFile, synthesize } from "./mockRuntime";

export const DEFAULT_HOSTS_FILE = "/etc/hosts";

function fromPulumi(stack: string): string | undefined {
    const result = spawnSync("pulumi", ["stack", "output", "hostsFile", "--stack", stack], { encoding: "utf8" });
    return result.status === 0 && result.stdout.trim() !== "" ? result.stdout : undefined;
}

async function fromSynthesis(stack: string): Promise<string> {
    const { config, secretKeys } = readStackFile(stack);
    const synthesis = await synthesize(stack, config, secretKeys, program);
    return String(synthesis.outputs.hostsFile.value);
}

export function parseArgs(argv: string[]): { stack: string; file: string; offline: boolean } {
    const args = [...argv];
    let file = DEFAULT_HOSTS_FILE;
    let offline = false;
    const positional: string[] = [];
    while (args.length > 0) {
        const arg = args.shift()!;
        if (arg === "--file") {
            const value = args.shift();
            if (!value) {
                throw new Error("--file needs a path");
            }
            file = value;
        } else if (arg === "--offline") {
            offline = true;
        } else if (arg.startsWith("-")) {
            throw new Error(`unknown option ${arg}`);
        } else {
            positional.push(arg);
        }
    }
    if (positional.length !== 1) {
        throw new Error(`usage: npm run hosts -- <stack> [--file PATH] [--offline]   (stacks: ${listStacks().join(", ")}; default file ${DEFAULT_HOSTS_FILE}, which needs root)`);
    }
    return { stack: positional[0], file, offline };
}

async function main(): Promise<void> {
    const { stack, file, offline } = parseArgs(process.argv.slice(2));
    const pulumiLines = offline ? undefined : fromPulumi(stack);
    const lines = pulumiLines ?? (await fromSynthesis(stack));
    const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const updated = replaceHostsBlock(existing, stack, lines);
    if (updated === existing) {
        console.log(`${file}: already up to date for ${stack}`);
        return;
    }
    try {
        fs.writeFileSync(file, updated);
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EACCES" || code === "EPERM") {
            throw new Error(`cannot write ${file}: permission denied (editing ${DEFAULT_HOSTS_FILE} needs root: sudo npm run hosts -- ${stack})`);
        }
        throw err;
    }
    console.log(`${file}: wrote the ${stack} block (${pulumiLines ? "from pulumi stack output" : "from this checkout, offline"})`);
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
    });
}
