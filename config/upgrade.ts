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

/**
 * Whether a containerd version is one containerd recommends for a Kubernetes minor, given that
 * minor's row of CONTAINERD_MINIMUMS ("2.3.0", "2.2.0"): at least the minimum of its own release
 * line, or a line newer than every listed one. The same rule as prepare-node.sh's
 * containerd_supported (which refuses such a containerd during `up`). Pure.
 */
export function containerdSupported(version: string, minimums: readonly string[]): boolean {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
    if (!m) {
        return false;
    }
    const [major, minor, patch] = m.slice(1).map(Number);
    let newest = 0;
    for (const min of minimums) {
        const [minMajor, minMinor, minPatch] = min.split(".").map(Number);
        if (major === minMajor && minor === minMinor) {
            return patch >= minPatch;
        }
        newest = Math.max(newest, minMajor * 1000 + minMinor);
    }
    return major * 1000 + minor > newest;
}

/**
 * Refuses, before anything runs, a Kubernetes version whose containerd minimum is above the
 * containerd a node ran at its last preparation (the stack output `containerdVersions`, recorded by
 * prepare-node.sh). prepare-node.sh installs containerd only where none is installed and never
 * upgrades an installed one (apt: `ensure_packages` keeps an installed containerd or containerd.io;
 * dnf: containerd.io is version-locked), so such a node would fail its preparation part way through
 * the `up`. Nodes without a record (a new node, a stack whose nodes were last prepared before the
 * record) are left to prepare-node.sh, which checks the installed containerd itself. Pure; throws
 * one error naming every such node.
 */
export function checkRecordedContainerd(args: {
    /** The version this `up` brings the cluster to. */
    readonly plan: KubernetesVersionPlan;
    /** The version the last completed `up` recorded (undefined: a new stack). */
    readonly recordedVersion?: string;
    /** Node name -> the containerd version its last preparation found (undefined: no record). */
    readonly containerd?: Readonly<Record<string, string>>;
    /** The stack's nodes now (a recorded node that is gone is not checked). */
    readonly nodes: readonly string[];
    /** The planned minor's row of CONTAINERD_MINIMUMS. */
    readonly minimums: readonly string[];
    /** The name of a node's preparation step, for `pulumi up --replace` (e.g. "cluster-w1-prepare"). */
    readonly prepareStep: (node: string) => string;
}): void {
    const recorded = args.containerd ?? {};
    const tooOld = args.nodes.filter((n) => typeof recorded[n] === "string" && /^\d+\.\d+\.\d+$/.test(recorded[n]) && !containerdSupported(recorded[n], args.minimums));
    if (tooOld.length === 0) {
        return;
    }
    const needs = args.minimums.map((m) => `${m}+`).join(" or ");
    const runs = tooOld.map((n) => `${n} runs containerd ${recorded[n]}`).join(", ");
    const stay = args.recordedVersion ?? args.plan.version;
    const change = args.plan.upgrade === "none" ? `Kubernetes ${args.plan.version}` : `the upgrade to ${args.plan.version} (from ${stay})`;
    throw new Error(
        `k8s-platform:kubernetes.version: Kubernetes ${args.plan.minor} needs containerd ${needs} (containerd RELEASES.md; CONTAINERD_MINIMUMS in config/versions.ts), ` +
            `but ${runs} (recorded by the node's last preparation, the stack output containerdVersions); this program never upgrades an installed containerd, ` +
            `so ${change} is refused before anything runs (nothing was changed). ` +
            `Upgrade containerd on ${tooOld.join(", ")} first (Rocky/RHEL: \`dnf versionlock delete containerd.io && dnf upgrade containerd.io && dnf versionlock add containerd.io\`; ` +
            `Ubuntu: Docker's containerd.io, unheld, installed and held again; README "Upgrading Kubernetes"), ` +
            `then record it with kubernetes.version still at ${stay}: \`pulumi up --replace '<URN>'\` for ${tooOld.map((n) => args.prepareStep(n)).join(", ")} ` +
            `(URNs from \`pulumi stack --show-urns\`; the preparation is idempotent and re-reads containerd's version), then set kubernetes.version again.`,
    );
}

/**
 * Refuses, before anything runs, nodes added in the same `up` as a version change (compared with
 * the nodes the last completed `up` recorded, the stack output `nodes`). A new node is prepared
 * with the new version and joins before the upgrade steps run (the bootstrap node's upgrade waits
 * for the maintenance step, which waits for every join), so it joins a control plane that still
 * runs the old version:
 * - a minor: a new worker's kubelet is newer than the API server (the version skew policy,
 *   kubernetes.io "Version Skew Policy": "kubelet must not be newer than kube-apiserver"), and a
 *   new control plane fails kubeadm's join preflight (cmd/kubeadm/app/preflight/checks.go at
 *   v1.35.4, KubeletVersionCheck: "the kubelet version is higher than the control plane
 *   version") — the upgrade waits for that join, so the rollout is stuck until the node is taken
 *   out of config again;
 * - a patch: the same check compares minors only (checks.go: `kubeletVersion.Minor() >
 *   k8sVersion.Minor()`), and the skew policy is stated per minor, so a new worker one patch
 *   ahead of the API server is supported and passes. A new control plane is not: kubeadm join
 *   writes its static pods at the cluster's ClusterConfiguration version (the old patch), and its
 *   upgrade step does nothing when it is created (components/kubernetesUpgrade.ts: update only),
 *   so it would stay at the old patch while the record says the new one.
 * Without a record (a new stack, no `nodes` output) nothing is compared. Pure; throws one error
 * naming every such node and the procedure.
 */
export function checkNodesAddedDuringUpgrade(args: {
    /** The version this `up` brings the cluster to. */
    readonly plan: KubernetesVersionPlan;
    /** The version the last completed `up` recorded. */
    readonly recordedVersion?: string;
    /** The Kubernetes nodes (control planes and workers) the last completed `up` recorded; undefined: no record. */
    readonly recordedNodes?: readonly string[];
    /** The stack's nodes now. */
    readonly nodes: readonly { readonly name: string; readonly role: "control-plane" | "worker" }[];
}): void {
    const { plan, recordedNodes } = args;
    if (plan.upgrade === "none" || recordedNodes === undefined || args.recordedVersion === undefined) {
        return;
    }
    const added = args.nodes.filter((n) => !recordedNodes.includes(n.name) && (plan.upgrade === "minor" || n.role === "control-plane"));
    if (added.length === 0) {
        return;
    }
    const from = args.recordedVersion;
    const to = plan.version;
    const names = added.map((n) => n.name).join(", ");
    const why =
        plan.upgrade === "minor"
            ? `a new node installs ${to} and joins before the upgrade runs (the upgrade waits for every join), so it would join a control plane still at ${from}: ` +
              `a worker's kubelet newer than the API server is outside Kubernetes' version skew policy, and a control plane's join fails kubeadm's preflight ([ERROR KubeletVersion]) and holds the upgrade back`
            : `a new control plane joins before the upgrade runs and writes its control plane at the cluster's version (${from}), and its upgrade step does nothing when it is created, ` +
              `so it would stay at ${from} (a new worker one patch ahead is allowed: the skew policy and kubeadm's check are per minor)`;
    throw new Error(
        `k8s-platform:nodes: ${names} ${added.length === 1 ? "is" : "are"} new (not among the nodes the last completed \`pulumi up\` recorded, the stack output \`nodes\`), ` +
            `and k8s-platform:kubernetes.version moves the cluster from ${from} to ${to} in the same \`pulumi up\`: refused before anything runs (nothing was changed). ` +
            `Why: ${why}. Do it in two \`pulumi up\`s: upgrade first (leave ${names} out of nodes, \`pulumi up\`; then add ${added.length === 1 ? "it" : "them"}, \`pulumi up\`: ` +
            `${added.length === 1 ? "it installs" : "they install"} ${to} and join a cluster at ${to}), or add first (kubernetes.version at ${from}, \`pulumi up\`; then ${to}, \`pulumi up\`: the upgrade takes the new nodes along). README "Upgrading Kubernetes".`,
    );
}
