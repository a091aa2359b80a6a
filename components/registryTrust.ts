import * as pulumi from "@pulumi/pulumi";
import { NodeSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";

export interface RegistryTrustArgs {
    /** Nodes whose containerd pulls from the registry. */
    readonly nodes: NodeSpec[];
    readonly ssh: SshAccess;
    /** registry.<domain>. */
    readonly registryHost: string;
    /** The port nodes reach the ingress on, when not the scheme's default (e.g. a node port). */
    readonly ingressPort?: number;
    readonly mode: "tls" | "insecure";
    /** The registry CA (tls mode). */
    readonly caCertPem?: pulumi.Input<string>;
    /** Per node name, what must be done first (its preparation: containerd installed). */
    readonly after: Record<string, pulumi.Resource>;
}

/**
 * Every node's containerd trusts the registry (hosts.toml with the registry CA, or plain HTTP in
 * insecure mode); registry.<domain> resolves through the nodes' /etc/hosts block (NodeHost). One
 * command per node, so adding a node only adds its own.
 */
export class RegistryTrust extends pulumi.ComponentResource {
    constructor(name: string, args: RegistryTrustArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:RegistryTrust", name, {}, opts);
        for (const node of args.nodes) {
            // containerd's certs.d must exist (node preparation) before it is configured.
            const nodeOpts = { parent: this, dependsOn: [args.after[node.name]] };
            runScript(
                `${name}-${node.name}-containerd`,
                {
                    host: node,
                    ssh: args.ssh,
                    create: {
                        script: "registry-trust",
                        env: pulumi.output(args.caCertPem ?? "").apply((ca) => ({
                            REGISTRY_HOST: args.registryHost,
                            REGISTRY_MODE: args.mode,
                            ...(args.ingressPort ? { REGISTRY_PORT: String(args.ingressPort) } : {}),
                            ...(args.mode === "tls" ? { REGISTRY_CA: ca } : {}),
                        })),
                    },
                },
                nodeOpts,
            );
        }
        this.registerOutputs({});
    }
}
