/**
 * Small models of what the Pulumi engine does with a program's registrations, for tests that must
 * show what a `pulumi up` would diff or which URN a resource keeps. Each follows the engine's or
 * the SDK's own code at the locked versions, quoted where it is used.
 */
import { DeclaredResource } from "./mockRuntime";

type Json = unknown;

/** A property path as the engine parses it ("a.b", "a[0]", "a[*].b"; resource.ParsePropertyPath). */
function parsePath(path: string): (string | number | "*")[] {
    const parts: (string | number | "*")[] = [];
    for (const segment of path.split(".")) {
        const match = /^([^[\]]*)((?:\[(?:\d+|\*)\])*)$/.exec(segment);
        if (!match) {
            throw new Error(`unsupported property path ${path}`);
        }
        if (match[1]) {
            parts.push(match[1]);
        }
        for (const index of match[2].matchAll(/\[(\d+|\*)\]/g)) {
            parts.push(index[1] === "*" ? "*" : Number(index[1]));
        }
    }
    return parts;
}

function has(value: Json, key: string | number): boolean {
    return value !== null && typeof value === "object" && (value as Record<string | number, Json>)[key] !== undefined;
}

/** PropertyPath.Reset: the old value where the old inputs have one, else the path removed. */
function reset(path: (string | number | "*")[], olds: Json, news: Json): void {
    const [head, ...rest] = path;
    if (news === null || typeof news !== "object") {
        return;
    }
    const target = news as Record<string | number, Json>;
    const source = (olds ?? {}) as Record<string | number, Json>;
    const keys = head === "*" ? Object.keys(target).map((k) => (Array.isArray(target) ? Number(k) : k)) : [head];
    for (const key of keys) {
        if (rest.length === 0) {
            if (has(source, key)) {
                target[key] = structuredClone(source[key]);
            } else {
                delete target[key];
            }
        } else if (has(target, key)) {
            reset(rest, source[key], target[key]);
        }
    }
}

/**
 * The inputs the engine hands the provider's Diff: the program's inputs with every ignoreChanges
 * path set back to the old inputs' value (or removed where the old inputs have none). Pulumi
 * pkg/resource/deploy/step_generator.go (v3.27x), processIgnoreChanges:
 *   "processIgnoreChanges sets the value for each ignoreChanges property in inputs to the value from
 *    oldInputs. This has the effect of ensuring that no changes will be made for the corresponding
 *    property." … `ok := path.Reset(oldInputs, ignoredInputs)`
 * On an import the old inputs are what the provider's Read reports for the existing resource.
 */
export function inputsAfterIgnoreChanges(news: Record<string, Json>, olds: Record<string, Json>, ignoreChanges: string[]): Record<string, Json> {
    const result = structuredClone(news);
    for (const path of ignoreChanges) {
        reset(parsePath(path), olds, result);
    }
    return result;
}

/** A resource's identity in the engine: type, name and its parent's name (the stack when none). */
export interface Identity {
    readonly type: string;
    readonly name: string;
    readonly parent?: string;
}

export const identityKey = (i: Identity): string => `${i.type} ${i.name} ${i.parent ?? "-"}`;

/**
 * Every identity under which the engine finds a resource in existing state: its own, each alias
 * it declares (`{name}`: same type and parent), and those inherited from its parent's identities.
 * @pulumi/pulumi 3.270.0 resource.ts, allAliases / inheritedChildAlias:
 *   "If the child name has the parent name as a prefix, then we make the assumption that it was
 *    constructed from the convention of using `{name}-details` as the name of the child resource.
 *    To ensure this is aliased correctly, we must then also replace the parent aliases name in the
 *    prefix of the child resource name."
 *   `if (childName.startsWith(parentName)) { … return parentAliasName + childName.substring(parentName.length) }`
 * and, for each parent alias, the child's own aliases are inherited the same way. (With an engine
 * that takes alias specs, the SDK sends the specs and the engine applies the same rule.)
 */
export function identities(resource: DeclaredResource, all: Map<string, DeclaredResource>): Identity[] {
    const own: Identity[] = [
        { type: resource.type, name: resource.name, parent: resource.parent },
        ...(resource.aliases ?? []).map((name) => ({ type: resource.type, name, parent: resource.parent })),
    ];
    const parent = resource.parent ? all.get(resource.parent) : undefined;
    if (!parent) {
        return own;
    }
    const result = [...own];
    for (const parentIdentity of identities(parent, all).slice(1)) {
        for (const child of own) {
            const name = child.name.startsWith(parent.name) ? parentIdentity.name + child.name.substring(parent.name.length) : child.name;
            result.push({ type: resource.type, name, parent: parentIdentity.name });
        }
    }
    return result;
}
