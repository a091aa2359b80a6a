import * as pulumi from "@pulumi/pulumi";
import { HostSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";
import { haproxyPorts, HaproxyConfigInput, renderHaproxyConfig } from "./render/haproxy";

export interface HaproxyBalancerArgs {
    /** The machine HAProxy runs on (a control plane as in seed 000, or a host of its own). */
    readonly host: HostSpec;
    readonly ssh: SshAccess;
    /** Backends: the workers' ingress node ports and, optionally, the API servers. */
    readonly backends: HaproxyConfigInput;
    /** disabled or open (os.firewall). */
    readonly firewall: "disabled" | "open";
    /** What must be done on the host first (its VM, or its node preparation; default: nothing). */
    readonly after?: pulumi.Resource[];
}

/** HAProxy as the software load balancer (seed 000 §13), installed and configured over SSH. */
export class HaproxyBalancer extends pulumi.ComponentResource {
    public readonly address: string;

    constructor(name: string, args: HaproxyBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:network:HaproxyBalancer", name, {}, opts);
        runScript(
            `${name}-haproxy`,
            {
                host: args.host,
                ssh: args.ssh,
                create: {
                    script: "haproxy",
                    env: {
                        HAPROXY_CONFIG: renderHaproxyConfig(args.backends),
                        HAPROXY_PORTS: haproxyPorts(args.backends).join(" "),
                        FIREWALL_MODE: args.firewall,
                    },
                },
            },
            // Package installs on one host must not run concurrently (dpkg/rpm locks).
            { parent: this, dependsOn: args.after ?? [] },
        );
        this.address = args.host.ip;
        this.registerOutputs({ address: this.address });
    }
}
