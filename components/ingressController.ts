import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { chartReference, CHARTS, ChartsConfig, ImageMirrors, registryFor } from "../config";
import { namespaceMetadata } from "./render/workload";

/**
 * The controller container's security context, set explicitly rather than left to the chart's
 * defaults (templates/_helpers.tpl "controller.containerSecurityContext": the value, when set,
 * replaces the chart's own): as restricted asks (non-root uid 101, the image's www-data; every
 * capability dropped but NET_BIND_SERVICE, which restricted allows, for ports 80/443; no
 * privilege escalation; seccomp RuntimeDefault). nginx writes its config and temp files under
 * its root file system, so that stays writable.
 */
export const INGRESS_CONTAINER_SECURITY = {
    runAsNonRoot: true,
    runAsUser: 101,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
    seccompProfile: { type: "RuntimeDefault" },
    readOnlyRootFilesystem: false,
} as const;

export interface IngressControllerArgs {
    /** Prefix of the chart's object resource names, `<namePrefix>-<this name>-chart` (default: the
     * provider's, the chart resource's own name). The stack passes its name kept in state: the
     * objects keep the names they had when resource names carried the stack's name, and a renamed
     * stack keeps them (pulumi-kubernetes helm/v4 chart.go Construct: without resourcePrefix "use
     * the name of the Chart as the resource prefix"). */
    readonly namePrefix?: pulumi.Input<string>;
    readonly provider: k8s.Provider;
    /** Where the chart comes from (default: its public repository, config/versions.ts). */
    readonly charts?: ChartsConfig;
    /** LoadBalancer behind MetalLB or a cloud load balancer; NodePort otherwise. */
    readonly serviceType: "LoadBalancer" | "NodePort";
    /** Fixed node ports (HAProxy and cloud load balancer rules point at them). */
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
    /** Address to ask MetalLB for (default: any address of the pool). */
    readonly loadBalancerIP?: string;
    /** AKS: Azure's load balancer probes /healthz instead of / (default: false). */
    readonly azureHealthProbe?: boolean;
    /** Read the address the cloud gave the controller's Service (default: false). */
    readAddress?: boolean;
    /** Image mirrors (config `images`; default: none): registry.k8s.io's takes the chart's images. */
    readonly imageMirrors?: ImageMirrors;
}

/**
 * The chart's values for the configured mirrors (`{}` without a registry.k8s.io mirror). Every
 * image of chart 4.15.0 is `<registry>/<image>:<tag>@<digest>` with `registry` from
 * `global.image.registry` (values.yaml; templates/controller-deployment.yaml merges
 * `.Values.controller.image` over `.Values.global.image`, and so do the admission and
 * default-backend templates): one value moves them all. The digests stay: a mirror copied with
 * its manifests (`crane copy`, `skopeo copy --all`) serves the same digest.
 */
export function ingressImageValues(mirrors: ImageMirrors): Record<string, unknown> {
    const registry = registryFor("registry.k8s.io", mirrors);
    return registry === "registry.k8s.io" ? {} : { global: { image: { registry } } };
}

/**
 * The ingress controller: ingress-nginx from its official chart (seed 000 §12), IngressClass
 * `nginx` as the cluster default. ingress-nginx was retired upstream in 2026 (no more fixes); it
 * stays because the platform specifies it, and everything else only sees `className`, so another
 * controller can replace this component alone.
 */
export class IngressController extends pulumi.ComponentResource {
    /** IngressClass name for Ingress objects. */
    public readonly className = "nginx";
    public readonly namespace: pulumi.Output<string>;
    /** The controller's Service, in `namespace`. */
    public readonly serviceName = "ingress-nginx-controller";
    /** The LoadBalancer address of the controller's Service (with `readAddress`). */
    public readonly address?: pulumi.Output<string>;

    constructor(name: string, args: IngressControllerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:IngressController", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        // Baseline enforced, restricted audited: the controller is configured for restricted
        // (INGRESS_CONTAINER_SECURITY), but the chart's full output is only checked when it is
        // rendered (npm run synth with the chart at hand), so the namespace does not bet on it.
        const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: namespaceMetadata("ingress-nginx", { name: "ingress-nginx" }, "baseline") }, k8sOpts);
        this.namespace = ns.metadata.name;
        const annotations: Record<string, string> = {};
        if (args.loadBalancerIP) {
            annotations["metallb.io/loadBalancerIPs"] = args.loadBalancerIP;
        }
        if (args.azureHealthProbe) {
            annotations["service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path"] = "/healthz";
        }
        const chart = new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                name: "ingress-nginx",
                ...chartReference(CHARTS.ingressNginx, args.charts),
                resourcePrefix: args.namePrefix ? pulumi.interpolate`${args.namePrefix}-${name}-chart` : undefined,
                namespace: this.namespace,
                values: {
                    ...ingressImageValues(args.imageMirrors ?? {}),
                    fullnameOverride: "ingress-nginx",
                    controller: {
                        // Chart v4 applies no Helm hooks (pulumi-kubernetes helm/v4/chart.go sets
                        // DisableHooks), and in chart 4.15.0 the webhook's Secret
                        // `ingress-nginx-admission` and the caBundle of its
                        // ValidatingWebhookConfiguration come only from hook Jobs
                        // (templates/admission-webhooks/job-patch/job-createSecret.yaml,
                        // job-patchWebhook.yaml). No value lets us supply either (values.yaml:
                        // admissionWebhooks.certificate/key are file paths in the pod; the Secret
                        // name is fixed). Left on, the controller pod waits forever for the Secret
                        // and, with failurePolicy Fail, every Ingress is refused. So it is off: the
                        // controller itself still rejects what it cannot load (README "Ingress").
                        admissionWebhooks: { enabled: false },
                        containerSecurityContext: INGRESS_CONTAINER_SECURITY,
                        podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
                        ingressClass: this.className,
                        ingressClassResource: { name: this.className, enabled: true, default: true },
                        service: {
                            type: args.serviceType,
                            nodePorts: { http: args.httpNodePort, https: args.httpsNodePort },
                            annotations,
                        },
                    },
                },
            },
            k8sOpts,
        );
        if (args.readAddress) {
            // The chart waits for the Service's address, so reading it afterwards finds it.
            const service = k8s.core.v1.Service.get(`${name}-service`, pulumi.interpolate`${this.namespace}/${this.serviceName}`, {
                ...k8sOpts,
                dependsOn: [chart],
            });
            this.address = service.status.apply((st) => st?.loadBalancer?.ingress?.[0]?.ip ?? st?.loadBalancer?.ingress?.[0]?.hostname ?? "");
        }
        this.registerOutputs({ namespace: this.namespace, className: this.className });
    }
}
