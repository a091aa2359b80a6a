import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { NodeSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";

export interface ClusterMemberArgs {
    /** The joining node. */
    readonly node: NodeSpec;
    /** The initialised control-plane node, where cluster-side steps run with admin.conf. */
    readonly admin: NodeSpec;
    readonly ssh: SshAccess;
    /** Rendered JoinConfiguration (no secrets: placeholders). */
    readonly joinConfig: pulumi.Input<string>;
    /** Bootstrap token (secret). */
    readonly bootstrapToken: pulumi.Input<string>;
    /** Certificate key for control-plane joins (secret); undefined for workers. */
    readonly certificateKey?: pulumi.Input<string>;
    /** Resources that must be done before this node joins (see KubeadmCluster). */
    readonly after: pulumi.Resource[];
    /** How long a removal waits for pods to be evicted (default "10m"). */
    readonly drainTimeout?: string;
}

/**
 * One node's membership in the cluster, as three commands whose create order is
 * credentials → join → membership and whose delete order is therefore the reverse, exactly the
 * safe removal sequence (seed 003 §3.2.9):
 *  1. membership (on the control plane): create labels the node; delete drains it
 *     (--ignore-daemonsets --delete-emptydir-data) and fails the removal if pods cannot move;
 *  2. join (on the node): create runs kubeadm join; delete runs kubeadm reset, so the kubelet
 *     stops before its Node object goes (otherwise it would register itself again);
 *  3. credentials (on the control plane): create re-issues the bootstrap token (and uploads the
 *     control-plane certificates) just before the join; delete removes the Node object.
 * The VM, if any, is destroyed only after all three, because prep (and so the VM) comes first.
 */
export class ClusterMember extends pulumi.ComponentResource {
    public readonly joined: command.remote.Command;

    constructor(name: string, args: ClusterMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:ClusterMember", name, {}, opts);
        const nodeEnv = { NODE_NAME: args.node.name };

        const credentials = runScript(
            `${name}-credentials`,
            {
                host: args.admin,
                ssh: args.ssh,
                create: { script: "cluster-admin", env: { ...nodeEnv, ACTION: "issue-join-credentials" } },
                secrets: { BOOTSTRAP_TOKEN: args.bootstrapToken, CERTIFICATE_KEY: args.certificateKey },
                delete: { script: "cluster-admin", env: { ...nodeEnv, ACTION: "delete-node" } },
            },
            // Issued on the initialised control plane, after whatever this join waits for.
            { parent: this, dependsOn: args.after },
        );

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
                    })),
                },
                secrets: { BOOTSTRAP_TOKEN: args.bootstrapToken, CERTIFICATE_KEY: args.certificateKey },
                delete: { script: "kubeadm-reset", env: nodeEnv },
            },
            // The token must be valid when the node presents it; reset must run before a re-join.
            { parent: this, dependsOn: [credentials], deleteBeforeReplace: true },
        );

        runScript(
            `${name}-membership`,
            {
                host: args.admin,
                ssh: args.ssh,
                create: {
                    script: "cluster-admin",
                    env: { ...nodeEnv, ACTION: "label", NODE_LABEL: args.node.role === "worker" ? "worker" : "control-plane" },
                },
                delete: { script: "cluster-admin", env: { ...nodeEnv, ACTION: "drain", DRAIN_TIMEOUT: args.drainTimeout ?? "10m" } },
            },
            // Created after the join so that it is deleted (drain) before the join is (reset).
            { parent: this, dependsOn: [this.joined] },
        );

        this.registerOutputs({ joined: this.joined.id });
    }
}
