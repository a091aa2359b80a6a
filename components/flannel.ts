import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CHARTS } from "../config";

export interface FlannelArgs {
    /** The pod network: the same config value kubeadm's podSubnet gets (default 10.244.0.0/16). */
    readonly podCidr: string;
    /** Provider of the target cluster. */
    readonly provider: k8s.Provider;
}

/** Flannel CNI from its official chart (seed 000 §11), version pinned in config/versions.ts. */
export class Flannel extends pulumi.ComponentResource {
    public readonly namespace = "kube-flannel";

    constructor(name: string, args: FlannelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:network:Flannel", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        // The chart creates the kube-flannel namespace itself (so no Namespace resource of ours).
        const chart = new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                chart: CHARTS.flannel.chart,
                version: CHARTS.flannel.version,
                repositoryOpts: { repo: CHARTS.flannel.repo },
                namespace: this.namespace,
                values: { podCidr: args.podCidr },
            },
            k8sOpts,
        );
        // flanneld needs host networking and NET_ADMIN: the namespace must allow privileged pods.
        // The chart sets `enforce`; this makes the whole policy explicit, whatever the chart version.
        new k8s.core.v1.NamespacePatch(
            `${name}-pod-security`,
            {
                metadata: {
                    name: this.namespace,
                    labels: {
                        "pod-security.kubernetes.io/enforce": "privileged",
                        "pod-security.kubernetes.io/audit": "privileged",
                        "pod-security.kubernetes.io/warn": "privileged",
                    },
                },
            },
            // The namespace exists once the chart is applied.
            { ...k8sOpts, dependsOn: [chart] },
        );
        this.registerOutputs({ namespace: this.namespace });
    }
}
