/**
 * What each ingress controller needs, as pure data: its chart values, its IngressClass, and the
 * annotations the platform's own Ingress objects need on it. components/ingressController.ts
 * installs the chart; the registry and the test app take the class and annotations from here.
 *
 * Both controllers run in the namespace `ingress-nginx` behind ONE Service,
 * `ingress-nginx/ingress-nginx-controller`, rendered by the same Chart resource: pulumi-kubernetes
 * names a chart's objects `<resourcePrefix>-<namespace>/<name>` (provider/pkg/provider/yaml/v2
 * yaml.go parseUnstructured), so the Service keeps its URN when `ingress.controller` changes and
 * is updated in place — its node ports (HAProxy's and Azure's backends) and MetalLB/Azure address
 * stay with it, where a second Service asking for the same fixed node ports would be refused by
 * the API server while the first still exists (Pulumi deletes the old objects only after creating
 * the new ones). The provider replaces a Service only on `.spec.clusterIP` or `.spec.type`
 * (provider/pkg/provider/diff.go forceNewProperties), which neither controller's values change.
 */
import { CHART_IMAGES, fullReference, ImageMirrors, IngressControllerKind, registryFor } from "../../config";

/** The namespace of either controller (the name ingress-nginx gave it first). */
export const CONTROLLER_NAMESPACE = "ingress-nginx";
/** The controller Service's name, whichever controller runs (see above). */
export const CONTROLLER_SERVICE = "ingress-nginx-controller";

/** The IngressClass each controller's chart creates (the cluster's default class). */
export const INGRESS_CLASS: Record<IngressControllerKind, string> = { "ingress-nginx": "nginx", traefik: "traefik" };

/**
 * ingress-nginx's container security context, set explicitly rather than left to the chart's
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

/** What the controller's Service must carry, whichever controller runs. */
export interface ControllerServiceSettings {
    readonly serviceType: "LoadBalancer" | "NodePort";
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
    /** Address to ask MetalLB for (default: any address of the pool). */
    readonly loadBalancerIP?: string;
    /** AKS: Azure's load balancer sits in front (default: false). */
    readonly azure?: boolean;
}

function metallbAnnotations(s: ControllerServiceSettings): Record<string, string> {
    return s.loadBalancerIP ? { "metallb.io/loadBalancerIPs": s.loadBalancerIP } : {};
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

/** ingress-nginx chart 4.15.0's values (unchanged from before `ingress.controller` existed), onto the mirrors (default: none). */
export function ingressNginxValues(s: ControllerServiceSettings, mirrors: ImageMirrors = {}): Record<string, unknown> {
    const annotations: Record<string, string> = { ...metallbAnnotations(s) };
    if (s.azure) {
        // The chart gives its ports appProtocol http/https, so cloud-provider-azure (>= 1.24)
        // probes them over HTTP at "/" — a 404 on ingress-nginx; /healthz answers 200.
        annotations["service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path"] = "/healthz";
    }
    return {
        ...ingressImageValues(mirrors),
        fullnameOverride: "ingress-nginx",
        controller: {
            // Chart v4 applies no Helm hooks (pulumi-kubernetes helm/v4/chart.go sets
            // DisableHooks), and in chart 4.15.0 the webhook's Secret `ingress-nginx-admission`
            // and the caBundle of its ValidatingWebhookConfiguration come only from hook Jobs
            // (templates/admission-webhooks/job-patch/job-createSecret.yaml, job-patchWebhook.yaml).
            // No value lets us supply either (values.yaml: admissionWebhooks.certificate/key are
            // file paths in the pod; the Secret name is fixed). Left on, the controller pod waits
            // forever for the Secret and, with failurePolicy Fail, every Ingress is refused. So it
            // is off: the controller itself still rejects what it cannot load (README "Ingress").
            admissionWebhooks: { enabled: false },
            containerSecurityContext: INGRESS_CONTAINER_SECURITY,
            podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
            ingressClass: INGRESS_CLASS["ingress-nginx"],
            ingressClassResource: { name: INGRESS_CLASS["ingress-nginx"], enabled: true, default: true },
            service: {
                type: s.serviceType,
                nodePorts: { http: s.httpNodePort, https: s.httpsNodePort },
                annotations,
            },
        },
    };
}

/**
 * Traefik's image values onto a docker.io mirror (as pinned without one). The chart pulls
 * `<image.registry>/<image.repository>:<tag>` (templates/_podtemplate.tpl); docker.io's
 * `traefik` is `library/traefik` to a registry (config/images.ts splitReference), so a mirror
 * filled by the copy `npm run images` prints holds it under `library/traefik`.
 */
export function traefikImage(mirrors: ImageMirrors): { registry: string; repository: string; tag: string } {
    const pin = CHART_IMAGES.traefik;
    const registry = registryFor("docker.io", mirrors);
    if (registry === pin.registry) return { ...pin };
    const path = fullReference(pin.repository).slice("docker.io/".length);
    return { registry, repository: path, tag: pin.tag };
}

/**
 * Traefik chart 41.3.0's values (traefik/traefik-helm-chart tag v41.3.0, traefik/values.yaml and
 * the templates named below). Only Ingress objects are served: the platform uses no Traefik CRD,
 * so the CRD provider is off and the chart's CRDs are skipped (`skipCrds`).
 */
export function traefikValues(s: ControllerServiceSettings, mirrors: ImageMirrors = {}): Record<string, unknown> {
    // Traefik v3 reads a whole request, body included, within `readTimeout`, 60 s by default
    // (traefik pkg/config/static/static_config.go: DefaultReadTimeout, "the maximum duration for
    // reading the entire request, including the body"): a registry layer push longer than that
    // would be cut. 0 = no limit, as ingress-nginx's proxy-body-size "0" puts none on a push.
    // (Traefik sets no request body limit unless a buffering middleware asks for one.)
    const entryPointTransport = { respondingTimeouts: { readTimeout: 0 } };
    return {
        fullnameOverride: "traefik",
        // One place for the image (config/versions.ts CHART_IMAGES), in the chart's own shape.
        image: traefikImage(mirrors),
        // No calls home (values.yaml global.checkNewVersion defaults to true).
        global: { checkNewVersion: false, sendAnonymousUsage: false },
        ingressClass: { enabled: true, isDefaultClass: true, name: INGRESS_CLASS.traefik },
        providers: {
            kubernetesCRD: { enabled: false },
            kubernetesIngress: {
                enabled: true,
                // Ingress status from the one controller Service (the chart's default path is
                // <namespace>/<fullname>, templates/_helpers.tpl publishedServicePath, which does
                // not follow service.nameOverride). Pulumi waits for an Ingress's status address.
                publishedService: { enabled: true, pathOverride: `${CONTROLLER_NAMESPACE}/${CONTROLLER_SERVICE}` },
            },
        },
        ports: {
            // Service ports 80/443 (exposedPort) → the pod's web 8000 / websecure 8443; the node
            // ports as fixed by config (templates/_service.tpl "traefik.service-ports").
            web: { nodePort: s.httpNodePort, transport: entryPointTransport },
            websecure: { nodePort: s.httpsNodePort, transport: entryPointTransport },
        },
        service: {
            // templates/_service.tpl "traefik.service-name": the default Service is named
            // service.nameOverride (values.yaml: "useful for adopting an existing Service (e.g.,
            // during migration from another ingress controller)").
            nameOverride: CONTROLLER_SERVICE,
            spec: { type: s.serviceType },
            // No Azure probe path: the chart sets no appProtocol on these ports, so
            // cloud-provider-azure probes the node ports over TCP ("the request path would be
            // ignored when using TCP or the spec.ports.appProtocol is empty", its load balancer
            // docs, "Custom Load Balancer health probe").
            annotations: metallbAnnotations(s),
        },
        // The chart's defaults (values.yaml), set explicitly: as restricted asks.
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
        podSecurityContext: { runAsGroup: 65532, runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
    };
}

/**
 * Annotations of the registry's Ingress, per controller. Image layers are large: ingress-nginx
 * limits request bodies to 1m unless told ("0": none), and redirects HTTP to HTTPS for hosts with
 * TLS unless told not to (insecure mode serves plain HTTP). Traefik needs neither: it limits no
 * body (only its buffering middleware would) and redirects nothing unless an entry point says so.
 */
export function registryIngressAnnotations(controller: IngressControllerKind, mode: "tls" | "insecure"): Record<string, string> {
    if (controller === "traefik") {
        return {};
    }
    return {
        "nginx.ingress.kubernetes.io/proxy-body-size": "0",
        ...(mode === "insecure" ? { "nginx.ingress.kubernetes.io/ssl-redirect": "false" } : {}),
    };
}
