import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "./schema";

/**
 * Every problem found in a stack's config, reported together before anything is declared, each
 * once. A `RunError`: a refused config is the user's input, not a bug, and the Node.js language
 * host prints a RunError's message alone, without "failed with an unhandled exception" and a stack
 * trace (@pulumi/pulumi 3.270.0 cmd/run/run.js: "Always hide the stack for RunErrors").
 */
export class ConfigError extends pulumi.RunError {
    readonly problems: string[];
    constructor(problems: string[]) {
        const unique = [...new Set(problems)];
        super(`Invalid stack configuration (${unique.length} problem${unique.length === 1 ? "" : "s"}):\n${unique.map((p) => `  - ${p}`).join("\n")}`);
        this.problems = unique;
        this.name = "ConfigError";
    }
}

/** The candidate nearest to `word` (Levenshtein distance), if it is near enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
    let best: { candidate: string; distance: number } | undefined;
    for (const candidate of candidates) {
        const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
        if (!best || distance < best.distance) best = { candidate, distance };
    }
    return best && best.distance <= Math.max(1, Math.floor(word.length / 3)) ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/** "k8s-platform:<key>": how every message names the key it is about. */
export const configKey = (key: string): string => `${PROJECT}:${key}`;

/** "k8s-platform:nodes[1].ip" from a zod path. */
export function keyName(path: ReadonlyArray<PropertyKey>): string {
    let out = configKey(String(path[0] ?? ""));
    for (const part of path.slice(1)) {
        out += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
    }
    return out;
}

/** Collects problems; each check appends to one list so the user sees them all at once. */
export type Problems = string[];

export function duplicates(values: string[]): string[] {
    return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}
