/**
 * A committed stack, synthesized offline with its config optionally edited first: what the tests,
 * `npm run bench` and other tools use to try a variant of a stack without writing a stack file.
 */
import { decodeConfigValue } from "../config";
import { program } from "../stacks/program";
import { MockOverrides, readStackFile, synthesize, Synthesis } from "./mockRuntime";

/** A stack's config as plain objects keyed without the project prefix (for editing in tests). */
export type RawConfig = Record<string, unknown>;

const PREFIX = "k8s-platform:";

/** The prefix-less, decoded view of a stack's plain (non-secret) project config. */
function rawOf(config: Record<string, string>, secretKeys: string[]): RawConfig {
    const raw: RawConfig = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith(PREFIX) && !secretKeys.includes(key)) {
            raw[key.slice(PREFIX.length)] = decodeConfigValue(value);
        }
    }
    return raw;
}

/** Runs the real program for a committed stack, optionally with its config edited first. */
export async function synthStack(
    stack: string,
    edit?: (raw: RawConfig) => void,
    opts: {
        withoutSshKey?: boolean;
        mocks?: MockOverrides;
        /** Project keys set besides the file's, as `pulumi config set [--secret] <key>` would
         * (e.g. `{ imagesPassword: { value: "…", secret: true } }`). */
        extraKeys?: Record<string, { value: string; secret: boolean }>;
    } = {},
): Promise<Synthesis> {
    const { config, secretKeys } = readStackFile(stack, opts);
    for (const [key, { value, secret }] of Object.entries(opts.extraKeys ?? {})) {
        config[PREFIX + key] = value;
        if (secret) secretKeys.push(PREFIX + key);
    }
    if (edit) {
        const raw = rawOf(config, secretKeys);
        edit(raw);
        for (const key of Object.keys(rawOf(config, secretKeys))) {
            delete config[PREFIX + key];
        }
        for (const [key, value] of Object.entries(raw)) {
            config[PREFIX + key] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return synthesize(stack, config, secretKeys, program, opts.mocks);
}

/** The raw (prefix-less) config of a committed stack file, for parseConfig tests. */
export function rawConfigOf(stack: string): RawConfig {
    const { config, secretKeys } = readStackFile(stack);
    return rawOf(config, secretKeys);
}
