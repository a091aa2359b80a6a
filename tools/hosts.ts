/**
 * `npm run hosts -- <stack> [--file PATH] [--offline]`: the stack's `hostsFile` lines (every
 * machine, and the platform's host names at the ingress address) as a hosts-file block between
 * marker comments naming the stack. Without --file it prints the block; with --file it writes it
 * into that file (`--file /etc/hosts`, as root, for the system's), replacing its own block, never
 * duplicating it, and keeping every other line.
 *
 * The lines come from `pulumi stack output hostsFile` when the Pulumi CLI can read the stack.
 * Otherwise, for stacks whose addresses are all in config (vSphere, existing hosts), from an
 * offline synthesis of this checkout (--offline forces it). Azure and AKS stacks get their
 * addresses (public IPs, the load balancer) only when deployed: offline, the mock runtime would
 * invent them, so those stacks are refused rather than written with made-up addresses.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { addressesKnownBeforeDeployment, parseConfig } from "../config";
import { program } from "../stacks/program";
import { replaceHostsBlock } from "../components/render/hostsFile";
import { listStacks, readStackFile, synthesize } from "./mockRuntime";
import { rawConfigOf } from "./stackSynth";

export const SYSTEM_HOSTS_FILE = "/etc/hosts";

export interface HostsArgs {
    readonly stack: string;
    /** The file to write; undefined: print the block. */
    readonly file?: string;
    readonly offline: boolean;
}

/** The stack output, or why it could not be read (the CLI's first error line). */
function fromPulumi(stack: string): { lines: string } | { error: string } {
    const result = spawnSync("pulumi", ["stack", "output", "hostsFile", "--stack", stack], { encoding: "utf8" });
    if (result.error) {
        return { error: (result.error as NodeJS.ErrnoException).code === "ENOENT" ? "the Pulumi CLI is not installed (no `pulumi` on PATH)" : result.error.message };
    }
    if (result.status !== 0) {
        return { error: (result.stderr.trim().split("\n")[0] || `pulumi exited with status ${result.status}`).trim() };
    }
    return result.stdout.trim() === "" ? { error: "the stack has no hostsFile output yet (run `pulumi up` first)" } : { lines: result.stdout };
}

async function fromSynthesis(stack: string): Promise<string> {
    const { config, secretKeys } = readStackFile(stack);
    const synthesis = await synthesize(stack, config, secretKeys, program);
    return String(synthesis.outputs.hostsFile.value);
}

const USAGE =
    "usage: npm run hosts -- <stack> [--file PATH] [--offline]   prints the stack's hosts block; --file writes it into PATH " +
    `(--file ${SYSTEM_HOSTS_FILE} needs root); --offline reads this checkout's config instead of the stack's outputs`;

export function parseArgs(argv: string[]): HostsArgs {
    const args = [...argv];
    let file: string | undefined;
    let offline = false;
    const positional: string[] = [];
    while (args.length > 0) {
        const arg = args.shift()!;
        if (arg === "--file") {
            const value = args.shift();
            if (!value) {
                throw new Error(`--file needs a path\n${USAGE}`);
            }
            file = value;
        } else if (arg === "--offline") {
            offline = true;
        } else if (arg.startsWith("-")) {
            throw new Error(`unknown option ${arg}\n${USAGE}`);
        } else {
            positional.push(arg);
        }
    }
    if (positional.length !== 1) {
        throw new Error(`${USAGE}\nstacks: ${listStacks().join(", ")}`);
    }
    return { stack: positional[0], file, offline };
}

/** The stack's lines and where they came from; refuses invented addresses. */
export async function hostsLinesFor(stack: string, offline: boolean): Promise<{ lines: string; source: string }> {
    const config = parseConfig(rawConfigOf(stack), { stack, hasSshPrivateKey: true });
    const pulumi = offline ? { error: "--offline" } : fromPulumi(stack);
    if ("lines" in pulumi) {
        return { lines: pulumi.lines, source: "from `pulumi stack output hostsFile`" };
    }
    if (!addressesKnownBeforeDeployment(config)) {
        throw new Error(
            `${stack}: its addresses (${config.infra.provider === "aks" ? "the ingress load balancer" : "the nodes' public IPs and the ingress load balancer"}) ` +
                `are assigned by Azure when the stack is deployed, so they come only from the stack's outputs, never offline; ` +
                `\`pulumi stack output hostsFile --stack ${stack}\` did not answer: ${pulumi.error}`,
        );
    }
    const why = offline ? "--offline" : `\`pulumi stack output\` did not answer: ${pulumi.error}`;
    return { lines: await fromSynthesis(stack), source: `from this checkout's config (${why})` };
}

async function main(): Promise<void> {
    const { stack, file, offline } = parseArgs(process.argv.slice(2));
    const { lines, source } = await hostsLinesFor(stack, offline);
    if (file === undefined) {
        process.stdout.write(replaceHostsBlock("", stack, lines));
        console.error(`(${source}; to write it: sudo npm run hosts -- ${stack} --file ${SYSTEM_HOSTS_FILE})`);
        return;
    }
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
            throw new Error(`cannot write ${file}: permission denied (${file === SYSTEM_HOSTS_FILE ? "it needs root: sudo " : ""}npm run hosts -- ${stack} --file ${file})`);
        }
        throw err;
    }
    console.log(`${file}: wrote the ${stack} block (${source})`);
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
    });
}
