import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { chartReference, CHARTS, ChartsConfig, ImageMirrors, IngressControllerKind } from "../config";
import { CONTROLLER_NAMESPACE, CONTROLLER_SERVICE, INGRESS_CLASS, ingressNginxValues, traefikValues } from "./render/ingress";
import { namespaceMetadata } from "./render/workload";

export interface IngressControllerArgs {
    /** Prefix of the chart's object resource names, `<namePrefix>-<this name>-chart` (default: the
     * provider's, the chart resource's own name). The stack passes its name kept in state: the
     * objects keep the names they had when resource names carried the stack's name, and a renamed
     * stack keeps them (pulumi-kubernetes helm/v4 chart.go Construct: without resourcePrefix "use
     * the name of the Chart as the resource prefix"). */
    readonly namePrefix?: pulumi.Input<string>;
    readonly provider: k8s.Provider;
    /** Which controller (default: "ingress-nginx", the design's; "traefik": Traefik Proxy). */
    readonly controller?: IngressControllerKind;
    /** Where the chart comes from (default: its public repository, config/versions.ts). */
    readonly charts?: ChartsConfig;
    /** LoadBalancer behind MetalLB or a cloud load balancer; NodePort otherwise. */
    readonly serviceType: "LoadBalancer" | "NodePort";
    /** Fixed node ports (HAProxy and cloud load balancer rules point at them). */
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
    /** Address to ask MetalLB for (default: any address of the pool). */
    readonly loadBalancerIP?: string;
    /** AKS: Azure's load balancer is in front (ingress-nginx: it probes /healthz; default: false). */
    readonly azureHealthProbe?: boolean;
    /** Read the address the cloud gave the controller's Service (default: false). */
    readAddress?: boolean;
    /** Image mirrors (config `images`; default: none): registry.k8s.io's takes the chart's images. */
    readonly imageMirrors?: ImageMirrors;
}

/**
 * The ingress controller, the cluster's default IngressClass: ingress-nginx from its official
 * chart (seed 000 §12) — retired upstream in March 2026 (no releases, fixes or security patches),
 * kept because the design names it — or Traefik Proxy from its official chart. Either one is the
 * same Chart resource, namespace and Service (components/render/ingress.ts says why): changing
 * `controller` updates that Service in place and replaces everything else of the chart.
 */
export class IngressController extends pulumi.ComponentResource {
    public readonly controller: IngressControllerKind;
    /** IngressClass name for Ingress objects. */
    public readonly className: string;
    public readonly namespace: pulumi.Output<string>;
    /** The controller's Service, in `namespace`. */
    public readonly serviceName = CONTROLLER_SERVICE;
    /** The LoadBalancer address of the controller's Service (with `readAddress`). */
    public readonly address?: pulumi.Output<string>;

    constructor(name: string, args: IngressControllerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:IngressController", name, {}, opts);
        this.controller = args.controller ?? "ingress-nginx";
        this.className = INGRESS_CLASS[this.controller];
        const k8sOpts = { parent: this, provider: args.provider };
        // Baseline enforced, restricted audited: the controller is configured for restricted, but
        // the chart's full output is only checked when it is rendered (npm run synth with the
        // chart at hand), so the namespace does not bet on it.
        const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: namespaceMetadata("ingress-nginx", { name: CONTROLLER_NAMESPACE }, "baseline") }, k8sOpts);
        this.namespace = ns.metadata.name;
        const mirrors = args.imageMirrors ?? {};
        const service = {
            serviceType: args.serviceType,
            httpNodePort: args.httpNodePort,
            httpsNodePort: args.httpsNodePort,
            loadBalancerIP: args.loadBalancerIP,
            azure: args.azureHealthProbe,
        };
        const chart = new k8s.helm.v4.Chart(
            // One resource name for both controllers: the Service keeps its URN across a switch.
            `${name}-chart`,
            {
                name: this.controller,
                ...chartReference(this.controller === "traefik" ? CHARTS.traefik : CHARTS.ingressNginx, args.charts),
                resourcePrefix: args.namePrefix ? pulumi.interpolate`${args.namePrefix}-${name}-chart` : undefined,
                namespace: this.namespace,
                // Traefik: no CRD is used (its CRD provider is off), so none is installed.
                ...(this.controller === "traefik" ? { skipCrds: true } : {}),
                values: this.controller === "traefik" ? traefikValues(service, mirrors) : ingressNginxValues(service, mirrors),
            },
            k8sOpts,
        );
        if (args.readAddress) {
            // The chart waits for the Service's address, so reading it afterwards finds it.
            const svc = k8s.core.v1.Service.get(`${name}-service`, pulumi.interpolate`${this.namespace}/${this.serviceName}`, {
                ...k8sOpts,
                dependsOn: [chart],
            });
            this.address = svc.status.apply((st) => st?.loadBalancer?.ingress?.[0]?.ip ?? st?.loadBalancer?.ingress?.[0]?.hostname ?? "");
        }
        this.registerOutputs({ namespace: this.namespace, className: this.className });
    }
}
