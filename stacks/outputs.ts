import * as pulumi from "@pulumi/pulumi";

/** What every stack exports (the README's "Outputs" section). */

export interface NodeInventoryEntry {
    readonly name: string;
    readonly role: string;
    readonly ip: string;
}

export interface StackOutputs {
    /** Every machine of the stack: name, role, IP. */
    readonly nodes: NodeInventoryEntry[];
    /** https://<control-plane endpoint> */
    readonly apiEndpoint: pulumi.Input<string>;
    /** Admin kubeconfig (secret). */
    readonly kubeconfig: pulumi.Output<string>;
    /** /etc/hosts lines: every machine, and the platform's host names at the ingress address. */
    readonly hostsFile: pulumi.Input<string>;
    readonly [key: string]: unknown;
}
