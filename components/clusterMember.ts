import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import { NodeSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";

export interface ClusterMemberArgs {
    /** The joining node. */
    readonly node: NodeSpec;
    /** The initialised control-plane node, where cluster-side steps run with admin.conf. */
    readonly admin: NodeSpec;
    readonly ssh: SshAccess;
    /** The cluster's Kubernetes provider (labels and uncordons the node through the API). */
    readonly provider: k8s.Provider;
    /** Rendered JoinConfiguration (no secrets: placeholders). */
    readonly joinConfig: pulumi.Input<string>;
    /** Bootstrap token (secret). */
    readonly bootstrapToken: pulumi.Input<string>;
    /** Certificate key for control-plane joins (secret); undefined for workers. */
    readonly certificateKey?: pulumi.Input<string>;
    /** kube-vip's static pod, placed before a control plane joins (default: none, no kube-vip). */
    readonly kubeVipManifest?: string;
    /** Resources that must be done before this node joins (its preparation, the armed token; see KubeadmCluster). */
    readonly after: pulumi.Resource[];
    /** Resources that end only once this node's kubelet has registered its Node (the join credentials
     * step, which waits for it): the role patch waits for them (default: none, only the join). */
    readonly registered?: pulumi.Resource[];
    /** How long a removal waits for pods to be evicted (default "10m"). */
    readonly drainTimeout?: string;
    /** The names of every control plane in config (default: none). A control plane's removal never
     * removes the etcd member of one of the others (scripts/etcd-member.sh, KEEP_MEMBERS). */
    readonly controlPlanes?: string[];
}

/**
 * One node's membership in the cluster. Created in the order join → role, deleted in the reverse
 * order, which is exactly the safe removal sequence (seed 003 §3.2.9):
 *  1. role (Kubernetes API): create labels the node with its role and makes it schedulable
 *     (a node that was drained and comes back into config is uncordoned); delete leaves it;
 *  2. membership (control plane, delete only): drains the node (--ignore-daemonsets
 *     --delete-emptydir-data) and fails the removal if pods cannot move;
 *  3. join (on the node): create runs kubeadm join; delete runs kubeadm reset, so the kubelet
 *     stops before its Node object goes (otherwise it would register itself again);
 *  4. node object (control plane, delete only): deletes the Node object.
 * A control plane has two more steps, both on the bootstrap control plane, delete only
 * (scripts/etcd-member.sh): `etcd-quorum`, deleted first, refuses the removal before anything
 * changes when etcd would lose quorum without the node's member (counting the members unhealthy
 * now); `etcd-member`, deleted after the drain and before the reset, removes the node's etcd member
 * and fails while it is still listed. kubeadm reset alone does not ensure that: its
 * remove-etcd-member phase only warns when the removal fails, wipes the data and exits 0, and a
 * node whose host is gone runs no reset at all. So the removal runs: etcd-quorum → drain →
 * etcd-member → reset → node object.
 * The delete-only steps have no create: pulumi-command v1.2.1 (remote/commandController.go,
 * Create: "if input.Create == nil { return }") opens no SSH session for them until a removal, so
 * the control plane sees no session per node while nodes join. The VM, if any, goes last,
 * because the node's preparation (and so the VM) comes first.
 */
export class ClusterMember extends pulumi.ComponentResource {
    public readonly joined: command.remote.Command;

    constructor(name: string, args: ClusterMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:ClusterMember", name, {}, opts);
        const nodeEnv = { NODE_NAME: args.node.name };

        const nodeObject = runScript(
            `${name}-node-object`,
            { host: args.admin, ssh: args.ssh, delete: { script: "cluster-admin", env: { ...nodeEnv, ACTION: "delete-node" } } },
            // Was `-credentials`, which also issued the token; that is one step per cluster now.
            { parent: this, dependsOn: args.after, aliases: [{ name: `${name}-credentials` }] },
        );

        const leftover = args.node.role === "control-plane" ? this.etcdLeftoverStep(name, args) : undefined;

        this.joined = runScript(
            `${name}-join`,
            {
                host: args.node,
                ssh: args.ssh,
                create: {
                    script: "kubeadm-join",
                    env: pulumi.output(args.joinConfig).apply((config) => ({
                        ...nodeEnv,
                        KUBEADM_CONFIG: config,
                        ...(args.kubeVipManifest ? { KUBE_VIP_MANIFEST: args.kubeVipManifest } : {}),
                    })),
                },
                secrets: { BOOTSTRAP_TOKEN: args.bootstrapToken, CERTIFICATE_KEY: args.certificateKey },
                delete: { script: "kubeadm-reset", env: nodeEnv },
            },
            // The token must be valid when the node presents it; reset must run before the Node
            // object goes, and before a re-join; and before the leftover member's removal.
            { parent: this, dependsOn: [nodeObject, ...(leftover ? [leftover] : []), ...args.after], deleteBeforeReplace: true },
        );

        const etcdMember = args.node.role === "control-plane" ? this.etcdMemberStep(name, args) : undefined;

        const membership = runScript(
            `${name}-membership`,
            {
                host: args.admin,
                ssh: args.ssh,
                delete: { script: "cluster-admin", env: { ...nodeEnv, ACTION: "drain", DRAIN_TIMEOUT: args.drainTimeout ?? "10m" } },
            },
            // Created after the join so that it is deleted (drain) before the join is (reset); a
            // control plane's after its etcd-member step too, so the drain comes before the member's
            // removal (a refused drain leaves etcd as it was).
            { parent: this, dependsOn: [this.joined, ...(etcdMember ? [etcdMember] : [])] },
        );

        if (etcdMember) {
            runScript(
                `${name}-etcd-quorum`,
                { host: args.admin, ssh: args.ssh, delete: { script: "etcd-member", env: this.etcdEnv(args, "check-removal") } },
                // After the drain's step, so that it is deleted first: the quorum check comes before
                // anything of the removal changes (drain, member removal, reset).
                { parent: this, dependsOn: [membership] },
            );
        }

        new k8s.core.v1.NodePatch(
            `${name}-role`,
            {
                metadata: {
                    name: args.node.name,
                    labels: { [`node-role.kubernetes.io/${args.node.role === "worker" ? "worker" : "control-plane"}`]: "" },
                    // A node drained by an earlier removal is cordoned: being in config again means schedulable.
                    annotations: { "pulumi.com/patchForce": "true" },
                },
                spec: { unschedulable: false },
            },
            // Only once the node's kubelet registered its Node: a *Patch resource creates the object
            // when it is missing. pulumi-kubernetes v4.25.0 provider/pkg/await/await.go, Creation
            // with server-side apply sends an apply PATCH ("Note that the AlreadyExists error does
            // not occur since we always send a PATCH request during creates with SSA enabled. This
            // means that we currently always upsert the object."), and provider.go's Check only
            // requires .metadata.name for Patch resources. A join that passes without joining (a
            // renamed node on a host that is still the old one) would so leave a Node with no
            // kubelet, which the join credentials step would take for a registered node. So the
            // patch waits for the join and for that step (`registered`), which ends only once the
            // kubelet registered the Node: the patch can never be what makes it exist.
            { parent: this, provider: args.provider, dependsOn: [this.joined, ...(args.registered ?? [])] },
        );

        this.registerOutputs({ joined: this.joined.id });
    }

    /**
     * A control plane's second member removal, created before its join and deleted after the
     * join's reset. A join that fails part way (kubeadm adds the etcd member before it starts
     * etcd, cmd/kubeadm/app/cmd/phases/join/controlplanejoin.go) leaves a member while none of the
     * steps that come after the join exist: the engine creates no dependent of a failed resource.
     * This one exists all the same, so removing that node from config removes the member it left
     * (after the same quorum check). After a complete removal the member is gone already: nothing
     * to do.
     */
    private etcdLeftoverStep(name: string, args: ClusterMemberArgs): command.remote.Command {
        return runScript(
            `${name}-etcd-member-leftover`,
            { host: args.admin, ssh: args.ssh, delete: { script: "etcd-member", env: this.etcdEnv(args, "remove") } },
            // With the join's own prerequisites (the init it removes members through).
            { parent: this, dependsOn: args.after },
        );
    }

    /** The etcd-member step of a control plane (see the class comment). */
    private etcdMemberStep(name: string, args: ClusterMemberArgs): command.remote.Command {
        return runScript(
            `${name}-etcd-member`,
            { host: args.admin, ssh: args.ssh, delete: { script: "etcd-member", env: this.etcdEnv(args, "remove") } },
            // Created after the join so that it is deleted (the member removed) before the join's
            // delete runs kubeadm reset, which would wipe the member's data even when its own
            // removal failed; a refusal (quorum) thus leaves the node's member and data in place.
            { parent: this, dependsOn: [this.joined] },
        );
    }

    private etcdEnv(args: ClusterMemberArgs, action: "check-removal" | "remove"): Record<string, string> {
        // Sorted: a set, so re-ordering `nodes` (kubernetes.bootstrapNode) changes no step's inputs.
        const others = (args.controlPlanes ?? []).filter((n) => n !== args.node.name).sort();
        return { ACTION: action, NODE_NAME: args.node.name, NODE_IP: args.node.ip, KEEP_MEMBERS: others.join(" ") };
    }
}
