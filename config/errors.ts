import { PROJECT } from "./schema";

/** Every problem found in a stack's config, reported together before anything is declared. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
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
