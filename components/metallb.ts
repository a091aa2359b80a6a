import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { namespaceMetadata, recommendedLabels } from "./render/workload";
import { chartReference, CHARTS, ChartsConfig, ImageMirrors, imageFor } from "../config";

export interface MetalLbArgs {
    /** Prefix of the chart's object resource names, `<namePrefix>-<this name>-chart` (default: the
     * provider's, the chart resource's own name). The stack passes its name kept in state: the
     * objects keep the names they had when resource names carried the stack's name, and a renamed
     * stack keeps them (pulumi-kubernetes helm/v4 chart.go Construct: without resourcePrefix "use
     * the name of the Chart as the resource prefix"). */
    readonly namePrefix?: pulumi.Input<string>;
    readonly provider: k8s.Provider;
    /** Where the chart comes from (default: its public repository, config/versions.ts). */
    readonly charts?: ChartsConfig;
    /** Layer-2 address range "first-last" on the node network (validated in config/checks/addons.ts). */
    readonly addresses: string;
    /** Image mirrors (config `images`; default: none): quay.io's takes the chart's images. */
    readonly imageMirrors?: ImageMirrors;
}

/** The chart's image repositories (charts/metallb/values.yaml at v0.15.2: controller.image,
 * speaker.image and speaker.frr.image (frr on by default), rendered by templates/controller.yaml
 * and speaker.yaml as `<repository>:<tag or appVersion>`; the tags stay the chart's). */
export const METALLB_IMAGES = { controller: "quay.io/metallb/controller", speaker: "quay.io/metallb/speaker", frr: "quay.io/frrouting/frr" } as const;

/** The chart's values for the configured mirrors (`{}` without a quay.io mirror). */
export function metallbImageValues(mirrors: ImageMirrors): Record<string, unknown> {
    const repo = (image: string) => imageFor(image, mirrors);
    if (repo(METALLB_IMAGES.controller) === METALLB_IMAGES.controller) return {};
    return {
        controller: { image: { repository: repo(METALLB_IMAGES.controller) } },
        speaker: { image: { repository: repo(METALLB_IMAGES.speaker) }, frr: { image: { repository: repo(METALLB_IMAGES.frr) } } },
    };
}

/** MetalLB in layer-2 mode (seed 002): LoadBalancer Services get addresses from `addresses`. */
export class MetalLb extends pulumi.ComponentResource {
    constructor(name: string, args: MetalLbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:MetalLb", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        // The speakers need host networking and NET_RAW.
        const ns = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: namespaceMetadata("metallb-system", { name: "metallb" }, "privileged"),
            },
            k8sOpts,
        );
        const images = metallbImageValues(args.imageMirrors ?? {});
        const chart = new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                // The release name names every object: fixed, so a stack rename changes nothing.
                name: "metallb",
                ...chartReference(CHARTS.metallb, args.charts),
                resourcePrefix: args.namePrefix ? pulumi.interpolate`${args.namePrefix}-${name}-chart` : undefined,
                namespace: ns.metadata.name,
                // No values without a quay.io mirror: the chart's inputs stay as they were.
                ...(Object.keys(images).length > 0 ? { values: images } : {}),
            },
            k8sOpts,
        );
        // The pool is validated by MetalLB's webhook, served by its controller: created before the
        // chart is ready it is refused (metallb#1540), so it waits for the whole chart.
        const afterChart = { ...k8sOpts, dependsOn: [chart] };
        const pool = new k8s.apiextensions.CustomResource(
            `${name}-pool`,
            {
                apiVersion: "metallb.io/v1beta1",
                kind: "IPAddressPool",
                metadata: { name: "default", namespace: ns.metadata.name, labels: recommendedLabels({ name: "metallb", component: "address-pool" }) },
                spec: { addresses: [args.addresses] },
            },
            afterChart,
        );
        new k8s.apiextensions.CustomResource(
            `${name}-l2`,
            {
                apiVersion: "metallb.io/v1beta1",
                kind: "L2Advertisement",
                metadata: { name: "default", namespace: ns.metadata.name, labels: recommendedLabels({ name: "metallb", component: "l2-advertisement" }) },
                spec: { ipAddressPools: [pool.metadata.name] },
            },
            afterChart,
        );
        this.registerOutputs({});
    }
}
