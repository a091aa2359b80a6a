import * as pulumi from "@pulumi/pulumi";
import { checkNodesAddedDuringUpgrade, checkRecordedContainerd, CONTAINERD_MINIMUMS, forMinor, KubernetesConfig, KubernetesVersionPlan, planKubernetesVersion } from "../config";
import { refusal } from "../components/refusals";

/** The stack output that records the version the cluster runs (set only by a completed `up`). */
export const KUBERNETES_VERSION_OUTPUT = "kubernetesVersion";
/** The stack output that records each node's containerd version as its last preparation found it. */
export const CONTAINERD_VERSIONS_OUTPUT = "containerdVersions";
/** The stack output that lists every machine of the last completed `up` (name, role, IP; stacks/kubeadmPlatform.ts). */
export const NODES_OUTPUT = "nodes";

/**
 * The version the last completed `up` recorded: this stack's own output `kubernetesVersion`, read
 * through a StackReference to the stack itself (the engine's builtin provider reads the stack's
 * last checkpoint: pulumi pkg/resource/deploy/builtins.go readStackReference ->
 * backendClient.GetStackOutputs). Unlike a RandomId record (keepers ignored: it never moves; not
 * ignored: a preview shows the new value, never the old one), this holds the old version at
 * preview and during the whole `up`, and moves only when an `up` finished every upgrade step: the
 * output resolves after them, and a failed `up` keeps the outputs it had (the stack's outputs
 * are registered when the program completes). Undefined on a new stack, and on a stack from
 * before the record: that one has the program's other outputs, and unless kubernetes.version is
 * set (then taken as what the cluster runs) it is refused (config/upgrade.ts).
 */
export function recordedKubernetesVersion(): pulumi.Output<RecordedVersion> {
    const self = new pulumi.StackReference("kubernetes-version-record", {
        name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
    });
    // apiEndpoint: exported by every kubeadm stack since the first version (stacks/outputs.ts), not
    // a secret (getOutput of a plain output stays plain, so the plan does not become one).
    return pulumi
        .all([self.getOutput(KUBERNETES_VERSION_OUTPUT), self.getOutput(EXISTING_STACK_OUTPUT), self.getOutput(CONTAINERD_VERSIONS_OUTPUT), self.getOutput(NODES_OUTPUT)])
        .apply(([v, endpoint, containerd, nodes]) => ({
            recorded: typeof v === "string" && v !== "" ? v : undefined,
            existing: endpoint !== undefined && endpoint !== null,
            ...(containerd !== null && typeof containerd === "object" ? { containerd: stringValues(containerd as Record<string, unknown>) } : {}),
            ...(Array.isArray(nodes) ? { nodes: kubernetesNodeNames(nodes) } : {}),
        }));
}

/**
 * The Kubernetes nodes of the `nodes` output (exported by every kubeadm stack since the first
 * version, plain): its control planes and workers; the add-on hosts (load-balancer, storage) are
 * not nodes. Not `containerdVersions`: a node last prepared before that record has no entry in it.
 */
function kubernetesNodeNames(nodes: unknown[]): string[] {
    return nodes.flatMap((n) => {
        const { name, role } = (n ?? {}) as { name?: unknown; role?: unknown };
        return typeof name === "string" && (role === "control-plane" || role === "worker") ? [name] : [];
    });
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** An output every kubeadm stack has had since the first version: its presence means "not a new stack". */
export const EXISTING_STACK_OUTPUT = "apiEndpoint";

/** What the stack's own outputs say: the recorded version, and whether it has any outputs. */
export interface RecordedVersion {
    readonly recorded?: string;
    /** The stack has outputs from an earlier completed `up` (it is not new). */
    readonly existing: boolean;
    /** Node name -> containerd version at its last preparation (the output `containerdVersions`;
     * undefined on a stack whose last `up` predates it: prepare-node.sh then checks alone). */
    readonly containerd?: Readonly<Record<string, string>>;
    /** The control planes and workers of the last completed `up` (the output `nodes`; undefined on a new stack). */
    readonly nodes?: readonly string[];
}

/**
 * The version this `up` brings the cluster to, or the refusal (registered with the other
 * refusals, so it fails the program and every command on a node waits for it): a skipped minor or
 * a downgrade, a minor whose containerd minimum is above a node's recorded containerd, and nodes
 * added in the same `up` as the version change.
 */
export function kubernetesVersionPlan(
    kubernetes: KubernetesConfig,
    record: pulumi.Output<RecordedVersion>,
    nodes?: {
        readonly names: readonly string[];
        /** The stack's control planes and workers now, with their roles (nodes added during an upgrade are refused). */
        readonly members: readonly { readonly name: string; readonly role: "control-plane" | "worker" }[];
        readonly prepareStep: (node: string) => string;
    },
): pulumi.Output<KubernetesVersionPlan> {
    return refusal(
        record.apply((r) => {
            const plan = planKubernetesVersion({ configured: kubernetes.version, explicit: kubernetes.versionSet, recorded: r.recorded, existing: r.existing });
            if (nodes) {
                checkRecordedContainerd({
                    plan,
                    recordedVersion: r.recorded,
                    containerd: r.containerd,
                    nodes: nodes.names,
                    minimums: forMinor(CONTAINERD_MINIMUMS, "CONTAINERD_MINIMUMS", plan.minor),
                    prepareStep: nodes.prepareStep,
                });
                checkNodesAddedDuringUpgrade({ plan, recordedVersion: r.recorded, recordedNodes: r.nodes, nodes: nodes.members });
            }
            return plan;
        }),
    );
}
