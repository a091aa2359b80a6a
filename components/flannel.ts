import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { namespaceMetadata } from "./render/workload";
import { chartReference, CHARTS, ChartsConfig, ImageMirrors, KubernetesConfig, mirroredRepositories } from "../config";

export interface FlannelArgs {
    /** Prefix of the chart's object resource names, `<namePrefix>-<this name>-chart` (default: the
     * provider's, the chart resource's own name). The stack passes its name kept in state: the
     * objects keep the names they had when resource names carried the stack's name, and a renamed
     * stack keeps them (pulumi-kubernetes helm/v4 chart.go Construct: without resourcePrefix "use
     * the name of the Chart as the resource prefix"). */
    readonly namePrefix?: pulumi.Input<string>;
    /** The pod network: the same config value kubeadm's podSubnet gets (default 10.244.0.0/16). */
    readonly podCidr: string;
    /** How flanneld picks the interface it sends VXLAN traffic from (kubernetes.podNetworkInterface;
     * default in config: the interface that reaches the control-plane endpoint). */
    readonly podNetworkInterface: KubernetesConfig["podNetworkInterface"];
    /** Provider of the target cluster. */
    readonly provider: k8s.Provider;
    /** Where the chart comes from (default: its public repository, config/versions.ts). */
    readonly charts?: ChartsConfig;
    /** Image mirrors (config `images`; default: none): ghcr.io's takes the chart's images. */
    readonly imageMirrors?: ImageMirrors;
}

/** The chart's image repositories (chart/kube-flannel/values.yaml at v0.27.4: flannel.image and
 * flannel.image_cni, rendered by templates/daemonset.yaml as `<repository>:<tag>`; the tags stay
 * the chart's). */
export const FLANNEL_IMAGES = { image: "ghcr.io/flannel-io/flannel", image_cni: "ghcr.io/flannel-io/flannel-cni-plugin" } as const;

/** flanneld's interface flag for the configured choice (pure; tested directly). */
export function flannelInterfaceArg(choice: KubernetesConfig["podNetworkInterface"]): string {
    if ("canReach" in choice) {
        return `--iface-can-reach=${choice.canReach}`;
    }
    return "name" in choice ? `--iface=${choice.name}` : `--iface-regex=${choice.regex}`;
}

/** Flannel CNI from its official chart (seed 000 §11), version pinned in config/versions.ts. */
export class Flannel extends pulumi.ComponentResource {
    public readonly namespace = "kube-flannel";

    constructor(name: string, args: FlannelArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:network:Flannel", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        // The chart has had no Namespace template since v0.21.4 (its README: "Needs manual creation
        // of namespace"; chart/kube-flannel/templates at v0.27.4 use .Release.Namespace). flanneld
        // needs host networking and NET_ADMIN, so the namespace allows privileged pods.
        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: namespaceMetadata(this.namespace, { name: "flannel" }, "privileged"),
            },
            k8sOpts,
        );
        new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                // The release name names every object: fixed, so a stack rename changes nothing.
                name: "flannel",
                ...chartReference(CHARTS.flannel, args.charts),
                resourcePrefix: args.namePrefix ? pulumi.interpolate`${args.namePrefix}-${name}-chart` : undefined,
                namespace: namespace.metadata.name,
                values: {
                    podCidr: args.podCidr,
                    // Helm replaces lists: the chart's defaults (values.yaml flannel.args at v0.27.4:
                    // --ip-masq, --kube-subnet-mgr) are repeated before the interface choice.
                    flannel: {
                        args: ["--ip-masq", "--kube-subnet-mgr", flannelInterfaceArg(args.podNetworkInterface)],
                        ...mirroredRepositories(FLANNEL_IMAGES, args.imageMirrors ?? {}),
                    },
                },
            },
            k8sOpts,
        );
        this.registerOutputs({ namespace: this.namespace });
    }
}
