import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ImageMirrors, imageFor, IMAGES } from "../config";
import { containerSecurityContext, POD_SECURITY_CONTEXT, recommendedLabels } from "./render/workload";
import { SharedVolume, SharedVolumeBackend } from "./sharedVolume";

export const TEST_JSP = fs.readFileSync(path.join(__dirname, "assets", "test.jsp"), "utf8");
/** A static file beside test.jsp for the probes: test.jsp opens a 30-minute session on every hit. */
export const PROBE_PATH = "/healthz.txt";
/** The recommended labels of the test app's objects. */
export const TEST_APP_LABELS = recommendedLabels({ name: "tomcat", instance: "test-app", component: "web" });
/**
 * The uid tomcat runs as: the image sets no USER but makes its install readable by all and its
 * writable directories world-writable (docker-library/tomcat Dockerfile: `chmod -R +rX .;
 * chmod 1777 logs temp work`), so any uid works; those directories are emptyDirs here anyway.
 */
export const TOMCAT_UID = 1000;
/** Paths tomcat writes to, each an emptyDir under a read-only root: logs, temp files, compiled
 * JSPs, the per-host config base tomcat creates at start, and the JVM's /tmp (hsperfdata). */
const TOMCAT_SCRATCH = { logs: "/usr/local/tomcat/logs", temp: "/usr/local/tomcat/temp", work: "/usr/local/tomcat/work", "conf-catalina": "/usr/local/tomcat/conf/Catalina", tmp: "/tmp" };

export interface TestAppArgs {
    readonly provider: k8s.Provider;
    /** Namespace to deploy into (created by the caller, so pull secrets can be placed first). */
    readonly namespace: pulumi.Input<string>;
    /** share-storage.<domain>. */
    readonly host: string;
    readonly ingressClassName: string;
    /** Where `webapps` lives (an NFS directory, or a storage class). */
    readonly storage: SharedVolumeBackend;
    /** Size of the webapps volume (default "1Gi", seed 000). */
    readonly size?: string;
    /** Replicas (default 3, seed 000); with autoscaling, the HPA owns the count. */
    readonly replicas?: number;
    /** Image pull secret in `namespace` (default: none). */
    readonly imagePullSecret?: pulumi.Input<string>;
    /** An autoscaling/v2 HPA on CPU (seed 002; default: none). */
    readonly autoscaling?: { readonly minReplicas: number; readonly maxReplicas: number; readonly cpuUtilization: number };
    /** Image mirrors (config `images`; default: none): docker.io's serves the tomcat image. */
    readonly imageMirrors?: ImageMirrors;
}

/**
 * The test application of seed 000 §16: tomcat with `webapps` on a shared volume holding
 * ROOT/test.jsp (the session page), so every replica serves the same files; Service :8080 and
 * Ingress share-storage.<domain>. The program delivers test.jsp itself: an init container copies
 * it from a ConfigMap onto the shared volume.
 */
export class TestApp extends pulumi.ComponentResource {
    public readonly url: string;

    constructor(name: string, args: TestAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:TestApp", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        // The selector is unchanged since the first release (a Deployment's selector is immutable).
        const selector = { app: "tomcat" };
        const labels = { ...selector, ...TEST_APP_LABELS };
        const webapps = new SharedVolume(
            `${name}-webapps`,
            { provider: args.provider, namespace: args.namespace, claimName: "tomcat-webapps", size: args.size ?? "1Gi", backend: args.storage, labels: TEST_APP_LABELS },
            { parent: this },
        );
        const page = new k8s.core.v1.ConfigMap(
            `${name}-page`,
            { metadata: { name: "tomcat-test-page", namespace: args.namespace, labels: TEST_APP_LABELS }, data: { "test.jsp": TEST_JSP } },
            k8sOpts,
        );
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: "tomcat", namespace: args.namespace, labels },
                spec: {
                    replicas: args.autoscaling?.minReplicas ?? args.replicas ?? 3,
                    selector: { matchLabels: selector },
                    template: {
                        metadata: { labels },
                        spec: {
                            securityContext: POD_SECURITY_CONTEXT,
                            imagePullSecrets: args.imagePullSecret ? [{ name: args.imagePullSecret }] : undefined,
                            initContainers: [
                                {
                                    name: "deliver-test-page",
                                    image: imageFor(IMAGES.tomcat, args.imageMirrors ?? {}),
                                    command: ["sh", "-c", `mkdir -p /webapps/ROOT && cp /page/test.jsp /webapps/ROOT/test.jsp && echo ok > /webapps/ROOT${PROBE_PATH}`],
                                    volumeMounts: [
                                        { name: "webapps", mountPath: "/webapps" },
                                        { name: "page", mountPath: "/page", readOnly: true },
                                    ],
                                    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                                    // Root, as the image: ROOT/ and test.jsp on the share were written by
                                    // root since the first release, and it overwrites them on every start.
                                    // This root container is why the namespace is baseline, not restricted.
                                    securityContext: containerSecurityContext({ user: "image-root" }),
                                },
                            ],
                            containers: [
                                {
                                    name: "tomcat",
                                    image: imageFor(IMAGES.tomcat, args.imageMirrors ?? {}),
                                    ports: [{ name: "http", containerPort: 8080 }],
                                    volumeMounts: [
                                        { name: "webapps", mountPath: "/usr/local/tomcat/webapps" },
                                        ...Object.entries(TOMCAT_SCRATCH).map(([volume, mountPath]) => ({ name: volume, mountPath })),
                                    ],
                                    securityContext: containerSecurityContext({ user: TOMCAT_UID }),
                                    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                                    readinessProbe: { httpGet: { path: PROBE_PATH, port: "http" }, initialDelaySeconds: 10, periodSeconds: 10 },
                                    livenessProbe: { tcpSocket: { port: "http" }, initialDelaySeconds: 30, periodSeconds: 20 },
                                },
                            ],
                            volumes: [
                                { name: "webapps", persistentVolumeClaim: { claimName: webapps.claimName } },
                                { name: "page", configMap: { name: page.metadata.name } },
                                ...Object.keys(TOMCAT_SCRATCH).map((volume) => ({ name: volume, emptyDir: { sizeLimit: "256Mi" } })),
                            ],
                        },
                    },
                },
            },
            // With an HPA the replica count is the HPA's: re-applying ours would undo its scaling.
            { ...k8sOpts, ignoreChanges: args.autoscaling ? ["spec.replicas"] : [] },
        );
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: "tomcat", namespace: args.namespace, labels },
                spec: { selector, ports: [{ name: "http", port: 8080, targetPort: "http" }] },
            },
            k8sOpts,
        );
        new k8s.networking.v1.Ingress(
            `${name}-ingress`,
            {
                metadata: { name: "tomcat", namespace: args.namespace, labels: TEST_APP_LABELS },
                spec: {
                    ingressClassName: args.ingressClassName,
                    rules: [
                        {
                            host: args.host,
                            http: {
                                paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { number: 8080 } } } }],
                            },
                        },
                    ],
                },
            },
            k8sOpts,
        );
        if (args.autoscaling) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-hpa`,
                {
                    metadata: { name: "tomcat", namespace: args.namespace, labels: TEST_APP_LABELS },
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
                        minReplicas: args.autoscaling.minReplicas,
                        maxReplicas: args.autoscaling.maxReplicas,
                        metrics: [
                            { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.autoscaling.cpuUtilization } } },
                        ],
                    },
                },
                k8sOpts,
            );
        }
        // A drain evicts one replica at a time and waits until its replacement is ready: the app
        // keeps serving. With a single replica (replicas: 1) the budget still lets the drain evict
        // it; minAvailable would block that drain for good.
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            { metadata: { name: "tomcat", namespace: args.namespace, labels: TEST_APP_LABELS }, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
            k8sOpts,
        );
        this.url = `http://${args.host}/test.jsp`;
        this.registerOutputs({ url: this.url });
    }
}
