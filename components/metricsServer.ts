import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { chartReference, CHARTS, ChartsConfig, ImageMirrors, mirroredRepositories } from "../config";

export interface MetricsServerArgs {
    /** Prefix of the chart's object resource names, `<namePrefix>-<this name>-chart` (default: the
     * provider's, the chart resource's own name). The stack passes its name kept in state: the
     * objects keep the names they had when resource names carried the stack's name, and a renamed
     * stack keeps them (pulumi-kubernetes helm/v4 chart.go Construct: without resourcePrefix "use
     * the name of the Chart as the resource prefix"). */
    readonly namePrefix?: pulumi.Input<string>;
    readonly provider: k8s.Provider;
    /** Where the chart comes from (default: its public repository, config/versions.ts). */
    readonly charts?: ChartsConfig;
    /** kubeadm's kubelets serve self-signed certificates (default: true). */
    readonly kubeletInsecureTls?: boolean;
    /** Image mirrors (config `images`; default: none): registry.k8s.io's takes the chart's images. */
    readonly imageMirrors?: ImageMirrors;
}

/** The chart's image repositories (charts/metrics-server/values.yaml at metrics-server-helm-chart-3.13.1:
 * image.repository, rendered by templates/_helpers.tpl "metrics-server.image" as `<repository>:<tag or
 * v<appVersion>>`; addonResizer.image likewise, rendered only with addonResizer.enabled). */
export const METRICS_SERVER_IMAGES = { image: "registry.k8s.io/metrics-server/metrics-server" } as const;

/** metrics-server from its chart (seed 002): CPU and memory metrics for `kubectl top` and HPAs. */
export class MetricsServer extends pulumi.ComponentResource {
    constructor(name: string, args: MetricsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:MetricsServer", name, {}, opts);
        new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                // The release name names every object: fixed, so a stack rename changes nothing.
                name: "metrics-server",
                ...chartReference(CHARTS.metricsServer, args.charts),
                resourcePrefix: args.namePrefix ? pulumi.interpolate`${args.namePrefix}-${name}-chart` : undefined,
                namespace: "kube-system",
                values: {
                    args: (args.kubeletInsecureTls ?? true) ? ["--kubelet-insecure-tls"] : [],
                    ...mirroredRepositories(METRICS_SERVER_IMAGES, args.imageMirrors ?? {}),
                },
            },
            { parent: this, provider: args.provider },
        );
        this.registerOutputs({});
    }
}
