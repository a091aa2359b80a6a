import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { ImageMirrors, imageFor, IMAGES, IngressControllerKind } from "../config";
import { registryIngressAnnotations } from "./render/ingress";
import { containerSecurityContext, namespaceMetadata, POD_SECURITY_CONTEXT, recommendedLabels } from "./render/workload";
import { SharedVolume, SharedVolumeBackend } from "./sharedVolume";

export interface RegistryArgs {
    readonly provider: k8s.Provider;
    /** registry.<domain> is the registry's host name. */
    readonly domain: string;
    readonly ingressClassName: string;
    /** The controller serving that class: its annotations for large pushes (default: "ingress-nginx"). */
    readonly ingressController?: IngressControllerKind;
    /** tls: HTTPS with a generated CA and htpasswd auth; insecure: plain HTTP, no auth (seed 000, labs). */
    readonly mode: "tls" | "insecure";
    /** Where the images live (an NFS directory, or a storage class). */
    readonly storage: SharedVolumeBackend;
    /** Size of the data volume (default "10Gi", seed 000). */
    readonly size?: string;
    /** Namespaces that get an imagePullSecret for this registry (default: none). */
    readonly pullSecretNamespaces?: pulumi.Input<string>[];
    /** Image mirrors (config `images`; default: none): docker.io's serves the registry image. */
    readonly imageMirrors?: ImageMirrors;
}

/** What the registry container gets: environment, volumes and their mounts, the TLS secret. */
interface RegistryPod {
    env: k8s.types.input.core.v1.EnvVar[];
    volumes: k8s.types.input.core.v1.Volume[];
    mounts: k8s.types.input.core.v1.VolumeMount[];
    tlsSecretName?: pulumi.Output<string>;
}

export const REGISTRY_USER = "admin";
/** The registry's host name for a domain (the nodes' /etc/hosts and the Ingress agree on it). */
export const registryHostFor = (domain: string): string => `registry.${domain}`;
export const PULL_SECRET_NAME = "registry-credentials";

/** The recommended labels of the registry's objects. */
const LABELS = recommendedLabels({ name: "registry", component: "registry" });
/** The pods' selector (unchanged since the first release: a Deployment's selector is immutable). */
const SELECTOR = { app: "registry" };

/**
 * The private registry of seed 000 §15: the `registry` image as a Deployment with its data on a
 * shared volume, Service :5000, Ingress registry.<domain> with unlimited body size (image layers
 * are large). Beyond the seed: TLS from a CA the program generates, htpasswd auth with a
 * generated password, and pull secrets for the namespaces that use it.
 */
export class Registry extends pulumi.ComponentResource {
    public readonly host: string;
    public readonly url: string;
    /** PEM of the CA nodes must trust (tls mode). */
    public readonly caCertPem?: pulumi.Output<string>;
    public readonly username?: string;
    /** Generated password (secret; tls mode). */
    public readonly password?: pulumi.Output<string>;
    /** {server, username, password} for `docker login` (secret; tls mode). */
    public readonly credentials?: pulumi.Output<{ server: string; username: string; password: string }>;

    constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:Registry", name, {}, opts);
        this.host = registryHostFor(args.domain);
        this.url = `${args.mode === "tls" ? "https" : "http"}://${this.host}`;
        const k8sOpts = { parent: this, provider: args.provider };
        // Baseline, not restricted: the registry runs as root (see workload()).
        const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: namespaceMetadata("registry", { name: "registry" }, "baseline") }, k8sOpts)
            .metadata.name;
        const data = new SharedVolume(
            `${name}-data`,
            { provider: args.provider, namespace, claimName: "registry-data", size: args.size ?? "10Gi", backend: args.storage, labels: LABELS },
            { parent: this },
        );
        const pod: RegistryPod = {
            env: [],
            // The root file system is read-only; /tmp is the one scratch path a Go program may use.
            volumes: [
                { name: "data", persistentVolumeClaim: { claimName: data.claimName } },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ],
            mounts: [
                { name: "data", mountPath: "/var/lib/registry" },
                { name: "tmp", mountPath: "/tmp" },
            ],
        };
        if (args.mode === "tls") {
            const certificates = this.certificates(name, args, namespace);
            this.caCertPem = certificates.caCertPem;
            pod.tlsSecretName = certificates.tlsSecretName;
            const password = this.auth(name, args, namespace, pod);
            this.username = REGISTRY_USER;
            this.password = password;
            const server = this.host;
            this.credentials = pulumi.secret(password.apply((pw) => ({ server, username: REGISTRY_USER, password: pw })));
        }
        this.workload(name, args, namespace, pod);
        this.registerOutputs({ host: this.host, url: this.url });
    }

    /** A CA the nodes trust and a server certificate for registry.<domain>, renewed before expiry. */
    private certificates(name: string, args: RegistryArgs, namespace: pulumi.Output<string>): { caCertPem: pulumi.Output<string>; tlsSecretName: pulumi.Output<string> } {
        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: `k8s-platform registry CA (${args.domain})` },
                validityPeriodHours: 10 * 365 * 24,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            },
            { parent: this },
        );
        const serverKey = new tls.PrivateKey(`${name}-server-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const csr = new tls.CertRequest(
            `${name}-server-csr`,
            { privateKeyPem: serverKey.privateKeyPem, subject: { commonName: this.host }, dnsNames: [this.host] },
            { parent: this },
        );
        const serverCert = new tls.LocallySignedCert(
            `${name}-server-cert`,
            {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.certPem,
                validityPeriodHours: 2 * 365 * 24,
                // Renewed by `pulumi up` during its last 30 days.
                earlyRenewalHours: 30 * 24,
                allowedUses: ["server_auth", "digital_signature", "key_encipherment"],
            },
            { parent: this },
        );
        const tlsSecretName = new k8s.core.v1.Secret(
            `${name}-tls`,
            {
                metadata: { name: "registry-tls", namespace, labels: LABELS },
                type: "kubernetes.io/tls",
                stringData: { "tls.crt": serverCert.certPem, "tls.key": serverKey.privateKeyPem },
            },
            { parent: this, provider: args.provider },
        ).metadata.name;
        return { caCertPem: ca.certPem, tlsSecretName };
    }

    /** htpasswd auth with a generated password, and pull secrets for the namespaces that use the registry. */
    private auth(name: string, args: RegistryArgs, namespace: pulumi.Output<string>, pod: RegistryPod): pulumi.Output<string> {
        const k8sOpts = { parent: this, provider: args.provider };
        const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
        const htpasswd = new k8s.core.v1.Secret(
            `${name}-htpasswd`,
            {
                metadata: { name: "registry-htpasswd", namespace, labels: LABELS },
                stringData: { htpasswd: pulumi.interpolate`${REGISTRY_USER}:${password.bcryptHash}\n` },
            },
            k8sOpts,
        );
        pod.env.push(
            { name: "REGISTRY_AUTH", value: "htpasswd" },
            { name: "REGISTRY_AUTH_HTPASSWD_REALM", value: "k8s-platform registry" },
            { name: "REGISTRY_AUTH_HTPASSWD_PATH", value: "/auth/htpasswd" },
        );
        pod.volumes.push({ name: "auth", secret: { secretName: htpasswd.metadata.name } });
        pod.mounts.push({ name: "auth", mountPath: "/auth", readOnly: true });

        const dockerConfig = pulumi.secret(
            pulumi.all([password.result]).apply(([pw]) =>
                JSON.stringify({
                    auths: { [this.host]: { username: REGISTRY_USER, password: pw, auth: Buffer.from(`${REGISTRY_USER}:${pw}`).toString("base64") } },
                }),
            ),
        );
        (args.pullSecretNamespaces ?? []).forEach((pullNs, i) => {
            new k8s.core.v1.Secret(
                `${name}-pull-secret-${i}`,
                {
                    metadata: { name: PULL_SECRET_NAME, namespace: pullNs, labels: LABELS },
                    type: "kubernetes.io/dockerconfigjson",
                    stringData: { ".dockerconfigjson": dockerConfig },
                },
                k8sOpts,
            );
        });
        return password.result;
    }

    /**
     * The registry Deployment, its Service :5000, the Ingress registry.<domain> and a disruption
     * budget. The container runs as root, as the `registry` image does (its Dockerfile sets no
     * USER): the data on the share was written by root since the first release, and a non-root
     * registry could not write into those directories. Everything else is as tight as restricted:
     * no capability (root owns the data, so none is needed), no privilege escalation, seccomp
     * RuntimeDefault, a read-only root file system.
     */
    private workload(name: string, args: RegistryArgs, namespace: pulumi.Output<string>, pod: RegistryPod): void {
        const k8sOpts = { parent: this, provider: args.provider };
        const labels = { ...SELECTOR, ...LABELS };
        new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: "registry", namespace, labels },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: SELECTOR },
                    // One writer at a time on the shared data.
                    strategy: { type: "Recreate" },
                    template: {
                        metadata: { labels },
                        spec: {
                            securityContext: POD_SECURITY_CONTEXT,
                            containers: [
                                {
                                    name: "registry",
                                    image: imageFor(IMAGES.registry, args.imageMirrors ?? {}),
                                    ports: [{ name: "http", containerPort: 5000 }],
                                    env: pod.env,
                                    volumeMounts: pod.mounts,
                                    securityContext: containerSecurityContext({ user: "image-root" }),
                                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                                    readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 10 },
                                    livenessProbe: { httpGet: { path: "/", port: "http" }, initialDelaySeconds: 10, periodSeconds: 20 },
                                },
                            ],
                            volumes: pod.volumes,
                        },
                    },
                },
            },
            k8sOpts,
        );
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            { metadata: { name: "registry", namespace, labels }, spec: { selector: SELECTOR, ports: [{ name: "http", port: 5000, targetPort: "http" }] } },
            k8sOpts,
        );
        new k8s.networking.v1.Ingress(
            `${name}-ingress`,
            {
                metadata: {
                    name: "registry",
                    namespace,
                    labels: LABELS,
                    // Image layers are large: no request body limit (seed 000), on either controller.
                    annotations: registryIngressAnnotations(args.ingressController ?? "ingress-nginx", args.mode),
                },
                spec: {
                    ingressClassName: args.ingressClassName,
                    ...(pod.tlsSecretName ? { tls: [{ hosts: [this.host], secretName: pod.tlsSecretName }] } : {}),
                    rules: [
                        {
                            host: this.host,
                            http: {
                                paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { number: 5000 } } } }],
                            },
                        },
                    ],
                },
            },
            k8sOpts,
        );
        // One replica (one writer on the shared data): a budget that kept it would block every
        // drain of its node for good. maxUnavailable 1 lets the drain evict it (the registry is
        // down until it runs on another node) while still declaring the budget to tools that
        // read it; the test app's budget is the one that keeps serving through a drain.
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            { metadata: { name: "registry", namespace, labels: LABELS }, spec: { maxUnavailable: 1, selector: { matchLabels: SELECTOR } } },
            k8sOpts,
        );
    }
}
