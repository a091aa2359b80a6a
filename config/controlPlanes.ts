/**
 * How the set of control planes may change from one `up` to the next, from the configured ones and
 * those the last completed `up` recorded (the stack output `nodes`, role control-plane). Pure.
 *
 * Each control plane is one etcd member. Removing one is checked on the bootstrap control plane
 * against etcd's quorum, counting the members unhealthy at that moment (scripts/etcd-member.sh):
 * only etcd knows which are. What the node list alone tells is checked here, before anything runs:
 *  - one control plane removed per `up`: each removal is checked, drained, removed from etcd and
 *    reset on its own, and a refused one leaves the others' members in place;
 *  - an even count (2, 4, 6) only on the way down: it tolerates no more failed members than one
 *    fewer (etcd's quorum of 4 is 3), so it is refused for a new stack and when control planes are
 *    added, but it is the step that replacing a control plane whose host is gone needs — kubeadm's
 *    join of the replacement checks every member's health first (cmd/kubeadm/app/cmd/phases/join/
 *    checketcd.go → CheckLocalEtcdClusterStatus; util/etcd/etcd.go getClusterStatus asks each
 *    endpoint's Status and fails on the first that does not answer), so the dead member must be
 *    gone before the replacement joins: remove it (3 → 2), `up`, add the new one (2 → 3), `up`.
 * Throws one error naming the key, the values and the procedure.
 */
export function checkControlPlaneChange(args: {
    /** The control planes in config, by name. */
    readonly configured: readonly string[];
    /** The control planes the last completed `up` recorded (undefined: a new stack, or none recorded). */
    readonly recorded?: readonly string[];
}): void {
    const { configured, recorded } = args;
    const removed = recorded ? recorded.filter((n) => !configured.includes(n)) : [];
    const added = recorded ? configured.filter((n) => !recorded.includes(n)) : [...configured];
    if (removed.length > 1) {
        throw new Error(
            `k8s-platform:nodes: this up would remove ${removed.length} control planes at once (${removed.join(", ")}; the last completed up recorded ` +
                `${recorded!.join(", ")}, the config now has ${configured.join(", ")}). Each removal takes one etcd member away and is checked against ` +
                `etcd's quorum on its own: remove one control plane per \`pulumi up\` (put ${removed.slice(1).join(", ")} back into nodes for now). Nothing was changed.`,
        );
    }
    if (configured.length > 1 && configured.length % 2 === 0 && (recorded === undefined || added.length > 0)) {
        const why = recorded === undefined ? "this stack has no recorded control planes (a new stack)" : `it adds ${added.join(", ")} to the recorded ${recorded.join(", ")}`;
        throw new Error(
            `k8s-platform:nodes: ${configured.length} control-plane nodes is an even number; etcd needs a majority, so use 1, 3, 5 or 7 ` +
                `(an even count tolerates no more failed members than one fewer). It is allowed only on the way down, one control plane removed per up, ` +
                `as when replacing a control plane whose host is gone (README "Removing a node whose host is gone"); here ${why}. Nothing was changed.`,
        );
    }
}
