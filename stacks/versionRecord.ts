import * as pulumi from "@pulumi/pulumi";
import { checkControlPlaneChange, checkNodesAddedDuringUpgrade, checkRecordedContainerd, checkRenamedNodes, CONTAINERD_MINIMUMS, forMinor, KubernetesConfig, KubernetesVersionPlan, NodeSpec, planKubernetesVersion, RecordedNode } from "../config";
import { refusal } from "../components/refusals";

/** The stack output that records the version the cluster runs (set only by a completed `up`). */
export const KUBERNETES_VERSION_OUTPUT = "kubernetesVersion";
/** The stack output that records each node's containerd version as its last preparation found it. */
export const CONTAINERD_VERSIONS_OUTPUT = "containerdVersions";
/** The stack output that lists every machine (name, role, IP; stacks/outputs.ts), since the first version. */
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
            ...(Array.isArray(nodes) ? { nodes: nodes.filter(isRecordedNode) } : {}),
        }));
}

/**
 * The Kubernetes nodes of the recorded `nodes` output: its control planes and workers; the add-on
 * hosts (load-balancer, storage) are not nodes. Not `containerdVersions`: a node last prepared
 * before that record has no entry in it.
 */
function kubernetesNodeNames(nodes: readonly RecordedNode[] | undefined, roles: readonly string[] = ["control-plane", "worker"]): string[] | undefined {
    return nodes?.filter((n) => roles.includes(n.role)).map((n) => n.name);
}

function isRecordedNode(entry: unknown): entry is RecordedNode {
    const e = entry as Record<string, unknown> | null;
    return e !== null && typeof e === "object" && typeof e.name === "string" && typeof e.role === "string" && typeof e.ip === "string";
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
    /** Every machine of the last completed `up` (the output `nodes`; undefined on a new stack). */
    readonly nodes?: readonly RecordedNode[];
}

/**
 * The refusal of a node that is new at a leaving node's address (config/renames.ts), from the
 * `nodes` output of the last completed `up`: like the version, it holds the old list at preview
 * and during the whole `up`, and moves only when an `up` completed (so the removal of the old name
 * must have finished before the new name may take its address). A new stack (no outputs) has no
 * list and nothing is compared. Resolves to true; the caller makes every command wait for it.
 */
export function nodeRenameCheck(nodes: readonly NodeSpec[], record: pulumi.Output<RecordedVersion>): pulumi.Output<true> {
    return refusal(
        record.apply((r) => {
            checkRenamedNodes({ recorded: r.nodes, nodes });
            return true as const;
        }),
    );
}

/**
 * The version this `up` brings the cluster to, or the refusal (registered with the other
 * refusals, so it fails the program and every command on a node waits for it): a skipped minor or
 * a downgrade, a minor whose containerd minimum is above a node's recorded containerd, a
 * change of the control planes the node list refuses (config/controlPlanes.ts: several removed at
 * once, an even count other than on the way down), and nodes added in the same `up` as the
 * version change.
 */
export function kubernetesVersionPlan(
    kubernetes: KubernetesConfig,
    record: pulumi.Output<RecordedVersion>,
    nodes?: {
        /** The stack's control planes and workers now, with their roles. */
        readonly members: readonly { readonly name: string; readonly role: "control-plane" | "worker" }[];
        readonly prepareStep: (node: string) => string;
    },
): pulumi.Output<KubernetesVersionPlan> {
    return refusal(
        record.apply((r) => {
            const plan = planKubernetesVersion({ configured: kubernetes.version, explicit: kubernetes.versionSet, recorded: r.recorded, existing: r.existing });
            if (nodes) {
                // One removed per up; an even count only on the way down (config/controlPlanes.ts).
                checkControlPlaneChange({
                    configured: nodes.members.filter((n) => n.role === "control-plane").map((n) => n.name),
                    recorded: kubernetesNodeNames(r.nodes, ["control-plane"]),
                });
                checkRecordedContainerd({
                    plan,
                    recordedVersion: r.recorded,
                    containerd: r.containerd,
                    nodes: nodes.members.map((n) => n.name),
                    minimums: forMinor(CONTAINERD_MINIMUMS, "CONTAINERD_MINIMUMS", plan.minor),
                    prepareStep: nodes.prepareStep,
                });
                checkNodesAddedDuringUpgrade({ plan, recordedVersion: r.recorded, recordedNodes: kubernetesNodeNames(r.nodes), nodes: nodes.members });
            }
            return plan;
        }),
    );
}
