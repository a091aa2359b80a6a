import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CHARTS } from "../stacks/versions";

export interface FlannelArgs {
    /** The pod network: the same config value kubeadm's podSubnet gets (default 10.244.0.0/16). */
    readonly podCidr: string;
    /** Provider of the target cluster. */
    readonly provider: k8s.Provider;
}

/** Flannel CNI from its official chart (seed 000 §11), version pinned in stacks/versions.ts. */
export class Flannel extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;

    constructor(name: string, args: FlannelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:network:Flannel", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        // flanneld needs host networking and NET_ADMIN: the namespace must allow privileged pods.
        this.namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: {
                    name: "kube-flannel",
                    labels: {
                        "pod-security.kubernetes.io/enforce": "privileged",
                        "pod-security.kubernetes.io/audit": "privileged",
                        "pod-security.kubernetes.io/warn": "privileged",
                    },
                },
            },
            k8sOpts,
        );
        new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                chart: CHARTS.flannel.chart,
                version: CHARTS.flannel.version,
                repositoryOpts: { repo: CHARTS.flannel.repo },
                namespace: this.namespace.metadata.name,
                values: { podCidr: args.podCidr },
            },
            k8sOpts,
        );
        this.registerOutputs({ namespace: this.namespace.metadata.name });
    }
}
