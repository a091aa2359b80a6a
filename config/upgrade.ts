/**
 * Which Kubernetes version a kubeadm cluster runs after this `up`, from the configured one and the
 * one recorded by the last completed `up` (the stack output `kubernetesVersion`). Pure.
 *
 * kubeadm's skew policy (kubernetes.io "Upgrading kubeadm clusters": "Skipping MINOR versions when
 * upgrading is unsupported"; cmd/kubeadm/app/phases/upgrade/policy.go at v1.35: "Specified version
 * to upgrade to ... is at least one minor release higher than the kubeadm minor release"/"too
 * high; kubeadm can upgrade only 1 minor version at a time"): a change is an upgrade when it moves
 * one minor up, or changes the patch within the minor; anything else is refused before anything
 * runs. kubeadm would take one minor down (MaximumAllowedMinorVersionDowngradeSkew = 1), but what
 * the newer version wrote to etcd is not promised to read back in the older one: the way back is
 * an etcd restore (README "Restore etcd"), so downgrades are refused too.
 */

export interface KubernetesVersionPlan {
    /** The version this `up` brings the cluster to ("1.MINOR" or "1.MINOR.PATCH"). */
    readonly version: string;
    /** Its "1.MINOR". */
    readonly minor: string;
    /** none: a new cluster or no change; patch: within the minor; minor: one minor up. */
    readonly upgrade: "none" | "patch" | "minor";
}

interface Parsed {
    readonly minor: number;
    readonly patch?: number;
}

function parse(version: string): Parsed {
    const [major, minor, patch] = version.split(".");
    if (major !== "1" || minor === undefined) {
        throw new Error(`not a Kubernetes version: ${JSON.stringify(version)}`);
    }
    return { minor: Number(minor), ...(patch !== undefined ? { patch: Number(patch) } : {}) };
}

const minorOf = (version: string) => version.split(".").slice(0, 2).join(".");

/**
 * The version to run: the configured one when the stack sets kubernetes.version, else the recorded
 * one (a moved default must not upgrade a running cluster), else the default. Throws the refusal
 * (naming the key, both versions and what is allowed) for a skipped minor or a downgrade.
 */
export function planKubernetesVersion(args: {
    /** kubernetes.version, or the default when unset. */
    readonly configured: string;
    /** Whether the stack sets kubernetes.version. */
    readonly explicit: boolean;
    /** What the last completed `up` recorded; undefined on a new stack (or one from before the record). */
    readonly recorded?: string;
    /**
     * Whether the stack already has outputs (a completed `up` before this one; default false: a
     * new stack). With outputs but no recorded version, the stack predates the record.
     */
    readonly existing?: boolean;
}): KubernetesVersionPlan {
    const { configured, explicit, recorded } = args;
    if (recorded === undefined || recorded === "") {
        if (args.existing === true && !explicit) {
            // The stack predates the record: the default is not what its nodes run (taking it would
            // record a version the nodes do not have, and later joins would install it: skew).
            throw new Error(
                `k8s-platform:kubernetes.version: this stack predates the Kubernetes version record (it has outputs but no \`kubernetesVersion\`) and does not set kubernetes.version, ` +
                    `so the version its nodes run is not known (the default, ${configured}, may not be it). Set kubernetes.version to the version the cluster runs ` +
                    `(\`kubectl version\` or \`kubeadm version\` on a control plane), e.g. "1.35.2", and \`pulumi up\` again: that \`up\` records it and upgrades nothing.`,
            );
        }
        return { version: configured, minor: minorOf(configured), upgrade: "none" };
    }
    if (!explicit || configured === recorded) {
        return { version: recorded, minor: minorOf(recorded), upgrade: "none" };
    }
    const from = parse(recorded);
    const to = parse(configured);
    const next = `1.${from.minor + 1}`;
    const allowed =
        `allowed: a patch of 1.${from.minor} (e.g. "1.${from.minor}.${(from.patch ?? 0) + 1}") or the next minor ("${next}" or "${next}.PATCH"); ` +
        `kubeadm upgrades one minor at a time (kubernetes.io "Upgrading kubeadm clusters"), and this program does not downgrade (the way back is an etcd restore).`;
    const refuse = (why: string) =>
        new Error(
            `k8s-platform:kubernetes.version: the cluster runs ${recorded} (recorded by the last completed \`pulumi up\`), the config now gives ` +
                `${configured}: ${why}; ${allowed} Set kubernetes.version to an allowed value (to reach ${configured}, one minor per \`pulumi up\`).`,
        );
    if (to.minor === from.minor) {
        if (to.patch !== undefined && from.patch !== undefined && to.patch < from.patch) {
            throw refuse("a patch downgrade");
        }
        return { version: configured, minor: minorOf(configured), upgrade: "patch" };
    }
    if (to.minor === from.minor + 1) {
        return { version: configured, minor: minorOf(configured), upgrade: "minor" };
    }
    if (to.minor < from.minor) {
        throw refuse("a downgrade");
    }
    throw refuse(`it skips ${to.minor - from.minor - 1 === 1 ? `minor 1.${from.minor + 1}` : `minors 1.${from.minor + 1} to 1.${to.minor - 1}`}`);
}
