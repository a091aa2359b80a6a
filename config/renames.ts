import { NodeSpec } from "./types";

/** A node as the stack output `nodes` lists it (stacks/outputs.ts): every kubeadm stack has had it
 * since the first version, with the dedicated HAProxy/NFS hosts under roles of their own. */
export interface RecordedNode {
    readonly name: string;
    readonly role: string;
    readonly ip: string;
}

/**
 * Refuses, before anything runs, a node that is new in this `up` at the address of a node that the
 * last completed `up` had (the stack output `nodes`) and this config no longer has: one machine
 * renamed. The engine creates what is new before it deletes what is gone, so the new name's
 * preparation and join would run on the host that is still the old node (existing hosts), or a new
 * VM would be given the address the old VM holds until its deletion (vSphere: two guests with one
 * static IP while the commands connect to it; Azure: a NIC whose static private IP is in use). On
 * vSphere and Azure the program makes one VM per node name, so a new name is always a new machine
 * and the address is all the two share. Without a record (a new stack) nothing is compared. Only
 * cluster nodes (control-plane, worker) are compared: the dedicated hosts' roles are not nodes.
 * Pure; throws one error naming every such pair.
 */
export function checkRenamedNodes(args: {
    /** The `nodes` output of the last completed `up` (undefined: none, a new stack). */
    readonly recorded?: readonly RecordedNode[];
    /** The stack's nodes now. */
    readonly nodes: readonly NodeSpec[];
}): void {
    if (!args.recorded) {
        return;
    }
    const isNode = (n: RecordedNode) => n.role === "control-plane" || n.role === "worker";
    const configured = new Set(args.nodes.map((n) => n.name));
    const recordedNames = new Set(args.recorded.map((n) => n.name));
    const leaving = args.recorded.filter((n) => isNode(n) && !configured.has(n.name));
    const problems = args.nodes
        .filter((n) => !recordedNames.has(n.name))
        .flatMap((added) => leaving.filter((old) => old.ip === added.ip).map((old) => ({ added, old })));
    if (problems.length === 0) {
        return;
    }
    throw new Error(
        problems
            .map(
                ({ added, old }) =>
                    `k8s-platform:nodes: ${added.name} is new in this \`up\` at IP ${added.ip}, the IP of ${old.name}, which the last completed \`up\` had ` +
                        `(the stack output nodes) and this config no longer has: a rename of one machine. Pulumi creates ${added.name} before it removes ` +
                        `${old.name}, so ${added.name}'s join would run on the machine that is still ${old.name}, and ${old.name}'s removal would then reset ` +
                        `it. Refused before anything runs (nothing was changed). Rename in two \`up\`s: remove ${old.name} from nodes and \`pulumi up\` ` +
                        `(drained, reset, deleted), then add ${added.name} at ${added.ip} and \`pulumi up\` (it joins afresh); or keep the name ${old.name}.`,
            )
            .join("\n"),
    );
}
