/**
 * Counts that show how a stack scales with its number of nodes, computed from what the program
 * declares (the mock runtime's synthesis): used by `npm run bench` and asserted by tests.
 */
import { DeclaredResource, Synthesis, unwrapSecrets } from "./mockRuntime";

const COMMAND = "command:remote:Command";

export interface ScaleStats {
    readonly resources: number;
    readonly remoteCommands: number;
    /** Most remote commands that run at create on any one host. */
    readonly mostCommandsOnOneHost: { host: string; count: number };
    /** Most of one host's create-time commands with no dependency between them (could run at once). */
    readonly mostConcurrentOnOneHost: { host: string; count: number };
    /** Remote commands in the longest chain of explicit dependencies. */
    readonly longestCommandChain: number;
}

/** The host a remote command connects to. */
export function commandHost(r: DeclaredResource): string {
    return String((unwrapSecrets(r.inputs.connection) as { host?: string } | undefined)?.host ?? "?");
}

/** A command that runs something when created (delete-only steps open no session until removal). */
const runsOnCreate = (r: DeclaredResource) => r.type === COMMAND && r.inputs.create !== undefined;

/** name → every resource it waits for, directly or through others (explicit dependsOn and parents' dependsOn). */
function ancestors(s: Synthesis): Map<string, Set<string>> {
    const byName = new Map<string, DeclaredResource[]>();
    for (const r of s.resources) {
        byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    }
    // A component's dependsOn holds for everything inside it.
    const direct = (name: string): string[] =>
        (byName.get(name) ?? []).flatMap((r) => [...r.dependsOn, ...(r.parent && byName.has(r.parent) ? direct(r.parent) : [])]);
    const memo = new Map<string, Set<string>>();
    const visit = (name: string, stack: Set<string>): Set<string> => {
        const known = memo.get(name);
        if (known) return known;
        const all = new Set<string>();
        for (const dep of direct(name)) {
            if (stack.has(dep)) continue;
            all.add(dep);
            stack.add(dep);
            visit(dep, stack).forEach((d) => all.add(d));
            stack.delete(dep);
        }
        memo.set(name, all);
        return all;
    };
    for (const r of s.resources) visit(r.name, new Set([r.name]));
    return memo;
}

function longestChain(s: Synthesis, deps: Map<string, Set<string>>): number {
    const commands = s.resources.filter(runsOnCreate);
    const names = new Set(commands.map((c) => c.name));
    const memo = new Map<string, number>();
    const depth = (name: string): number => {
        const known = memo.get(name);
        if (known !== undefined) return known;
        let best = 0;
        for (const dep of deps.get(name) ?? []) {
            if (names.has(dep)) best = Math.max(best, depth(dep));
        }
        memo.set(name, best + 1);
        return best + 1;
    };
    return Math.max(0, ...commands.map((c) => depth(c.name)));
}

/** Size of the largest set of commands none of which waits for another (exact for small sets). */
function largestIndependentSet(names: string[], deps: Map<string, Set<string>>): number {
    const related = (a: string, b: string) => deps.get(a)?.has(b) || deps.get(b)?.has(a);
    let best = 0;
    const grow = (chosen: string[], from: number) => {
        best = Math.max(best, chosen.length);
        for (let i = from; i < names.length; i++) {
            if (chosen.every((c) => !related(c, names[i]))) grow([...chosen, names[i]], i + 1);
        }
    };
    grow([], 0);
    return best;
}

export function scaleStats(s: Synthesis): ScaleStats {
    const deps = ancestors(s);
    const perHost = new Map<string, string[]>();
    for (const c of s.resources.filter(runsOnCreate)) {
        perHost.set(commandHost(c), [...(perHost.get(commandHost(c)) ?? []), c.name]);
    }
    let most = { host: "", count: 0 };
    let concurrent = { host: "", count: 0 };
    for (const [host, names] of perHost) {
        if (names.length > most.count) most = { host, count: names.length };
        const independent = largestIndependentSet(names, deps);
        if (independent > concurrent.count) concurrent = { host, count: independent };
    }
    return {
        resources: s.resources.length,
        remoteCommands: s.resources.filter((r) => r.type === COMMAND).length,
        mostCommandsOnOneHost: most,
        mostConcurrentOnOneHost: concurrent,
        longestCommandChain: longestChain(s, deps),
    };
}

/** Lab's topology with `count` (at most 150) workers at 192.168.1.101 …: the benchmark's and the tests' scale knob. */
export function withWorkers(count: number) {
    return (raw: Record<string, unknown>): void => {
        const nodes = (raw.nodes as { role: string }[]).filter((n) => n.role !== "worker");
        for (let i = 1; i <= count; i++) {
            nodes.push({ name: `w${i}-k8s`, ip: `192.168.1.${100 + i}`, role: "worker" } as never);
        }
        raw.nodes = nodes;
    };
}
