import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { NodeSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";

export interface NodeHostArgs {
    /** The node to prepare. */
    readonly node: NodeSpec;
    /** The stack's block of /etc/hosts lines ("IP<TAB>names"), the same on every node. */
    readonly hostsLines: pulumi.Input<string>;
    /** Names the marked block in /etc/hosts (the stack). */
    readonly hostsBlockName: pulumi.Input<string>;
    /** Parameters of prepare-node.sh (see config/nodeEnv.ts). */
    readonly prepareEnv: Record<string, string>;
    readonly ssh: SshAccess;
    /** The VM behind the node, when the program creates it (default: none, an existing host). */
    readonly machine?: pulumi.Resource;
}

/**
 * OS preparation of one Kubernetes node (prepare-node.sh) and its /etc/hosts block: one command
 * whose input is the whole block, so adding a machine updates this one command (cheap and
 * idempotent) instead of adding a command per pair of machines.
 */
export class NodeHost extends pulumi.ComponentResource {
    /** Done when the node can run kubeadm. */
    public readonly prepared: command.remote.Command;

    constructor(name: string, args: NodeHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:NodeHost", name, {}, opts);
        // The VM must exist (and so have booted far enough to answer SSH) before anything runs on it.
        const onMachine: pulumi.CustomResourceOptions = { parent: this, dependsOn: args.machine ? [args.machine] : [] };

        this.prepared = runScript(
            `${name}-prepare`,
            { host: args.node, ssh: args.ssh, create: { script: "prepare-node", env: args.prepareEnv } },
            onMachine,
        );
        runScript(
            `${name}-hosts`,
            {
                host: args.node,
                ssh: args.ssh,
                create: {
                    script: "hosts-block",
                    env: pulumi.all([args.hostsLines, args.hostsBlockName]).apply(([lines, block]) => ({ BLOCK_NAME: block, HOSTS_LINES: lines })),
                },
            },
            onMachine,
        );
        this.registerOutputs({ prepared: this.prepared.id });
    }
}
