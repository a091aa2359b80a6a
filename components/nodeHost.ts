import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostSpec, NodeSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";

export interface NodeHostArgs {
    /** The node to prepare. */
    readonly node: NodeSpec;
    /** Every host of the stack: each gets a line in this node's /etc/hosts. */
    readonly hostsEntries: HostSpec[];
    /** Parameters of prepare-node.sh (see config/nodeEnv.ts). */
    readonly prepareEnv: Record<string, string>;
    readonly ssh: SshAccess;
    /** The VM behind the node, when the program creates it (default: none, an existing host). */
    readonly machine?: pulumi.Resource;
}

/**
 * OS preparation of one Kubernetes node (prepare-node.sh) and its /etc/hosts lines, one command
 * per line so that adding a host only adds commands.
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
        for (const entry of args.hostsEntries) {
            const env = { ENTRY_IP: entry.ip, ENTRY_NAME: entry.name };
            runScript(
                `${name}-hosts-${entry.name}`,
                {
                    host: args.node,
                    ssh: args.ssh,
                    create: { script: "hosts-entry", env: { ...env, ACTION: "add" } },
                    delete: { script: "hosts-entry", env: { ...env, ACTION: "remove" } },
                },
                onMachine,
            );
        }
        this.registerOutputs({ prepared: this.prepared.id });
    }
}
