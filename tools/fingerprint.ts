/**
 * A stack's identity, one line per resource: type, name, parent and a hash of everything the
 * engine receives for it (inputs with their secret markers, explicit dependencies, plugin
 * version). Two programs with the same fingerprint declare the same URNs with the same inputs, so
 * a refactoring that keeps it needs no alias and changes nothing on `pulumi up`.
 */
import { createHash } from "crypto";
import { identities } from "./engineModel";
import { Synthesis } from "./mockRuntime";

/** JSON with object keys sorted, so the hash does not depend on declaration order of fields. */
function stableJson(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
            : v,
    );
}

/**
 * One line per resource; a resource that keeps an older URN through an alias lists it after
 * "aka" (`<name>@<parent name or ->`), so a rename shows in the golden file with the identity it keeps.
 */
export function fingerprint(synthesis: Synthesis): string[] {
    const all = new Map(synthesis.resources.map((r) => [r.name, r]));
    return synthesis.resources
        .map((r) => {
            const hash = createHash("sha256")
                .update(stableJson({ inputs: r.inputs, dependsOn: [...r.dependsOn].sort(), version: r.version ?? null, read: r.read, options: r.options }))
                .digest("hex")
                .slice(0, 16);
            const aka = identities(r, all)
                .slice(1)
                .map((i) => `${i.name}@${i.parent ?? "-"}`);
            return `${r.type} ${r.name} ${r.parent ?? "-"} ${hash}${aka.length > 0 ? ` aka ${aka.join(" ")}` : ""}`;
        })
        .sort();
}
