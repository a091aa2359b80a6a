import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ChartsConfig, ImageMirrors, IngressControllerKind } from "../config";
import { IngressController } from "./ingressController";
import { MetalLb } from "./metallb";
import { MetricsServer } from "./metricsServer";
import { PULL_SECRET_NAME, Registry } from "./registry";
import { namespaceMetadata } from "./render/workload";
import { SharedVolume, SharedVolumeBackend } from "./sharedVolume";
import { TEST_APP_LABELS, TestApp } from "./testApp";

/** Where the platform's shared volumes come from. */
export type PlatformStorage =
    /** Directories of an NFS export (kubeadm clusters, seed 000). */
    | { readonly kind: "nfs"; readonly server: string; readonly exportPath: string }
    /** A storage class giving ReadWriteMany claims (AKS: azurefile-csi). */
    | { readonly kind: "storageClass"; readonly storageClassName: string };

export interface PlatformArgs {
    /** Passed to every chart component (see IngressController.namePrefix; default: none). */
    readonly namePrefix?: pulumi.Input<string>;
    readonly provider: k8s.Provider;
    /**
     * kubeadm: on-prem or Azure VMs (MetalLB possible, metrics-server from its chart);
     * aks: Azure's load balancer in front of ingress, AKS's own metrics-server.
     */
    readonly profile: "kubeadm" | "aks";
    /** Where the charts come from (default: their public repositories). */
    readonly charts?: ChartsConfig;
    /** Image mirrors (config `images`), for every chart and workload here (default: none). */
    readonly imageMirrors?: ImageMirrors;
    /** Base domain of the platform's host names (registry.<domain>, share-storage.<domain>). */
    readonly domain: string;
    /** The ingress controller (default: none; the registry and test app need it). */
    readonly ingress?: {
        /** Which controller (default: "ingress-nginx"). */
        readonly controller?: IngressControllerKind;
        readonly serviceType: "LoadBalancer" | "NodePort";
        readonly httpNodePort: number;
        readonly httpsNodePort: number;
        /** The address MetalLB should give the controller (default: any from the pool). */
        readonly loadBalancerIP?: string;
    };
    /** MetalLB layer-2 pool (default: no MetalLB). */
    readonly metallb?: { readonly addresses: string };
    readonly storage?: PlatformStorage;
    /** The private registry (default: none). */
    readonly registry?: { readonly mode: "tls" | "insecure"; readonly size: string; readonly storageClassName?: string };
    /** The tomcat test app (default: none). */
    readonly testApp?: { readonly replicas: number; readonly size: string };
    /** metrics-server from its chart (default: none; AKS runs its own). */
    readonly metricsServer?: { readonly kubeletInsecureTls: boolean };
    /** HPA on the test app (default: none). */
    readonly autoscaling?: { readonly minReplicas: number; readonly maxReplicas: number; readonly cpuUtilization: number };
    /** Resources shared storage needs before pods mount it (e.g. the NFS server; default: none). */
    readonly storageReady?: pulumi.Resource[];
    /** Seed 004's single-pod managed-disk claim (ReadWriteOnce) in the app namespace (default: none). */
    readonly managedDiskClaim?: { readonly storageClassName: string; readonly size: string };
}

/** The shared volume backend for one directory of the platform's storage. */
export function volumeBackend(storage: PlatformStorage, directory: string): SharedVolumeBackend {
    return storage.kind === "nfs"
        ? { kind: "nfs", server: storage.server, path: `${storage.exportPath}/${directory}` }
        : { kind: "storageClass", storageClassName: storage.storageClassName };
}

/** NFS subdirectories the platform's volumes use (seed 000 names). */
export const VOLUME_DIRECTORIES = { registry: "docker_registry", testApp: "test_service" } as const;

/**
 * Everything on the cluster above the network: ingress, MetalLB, registry, test app, metrics and
 * autoscaling. One component for every kind of cluster; `profile` and the per-stack switches
 * choose what is in it. Switching an add-on off removes exactly its resources.
 */
export class Platform extends pulumi.ComponentResource {
    public readonly ingress?: IngressController;
    public readonly registry?: Registry;
    public readonly testApp?: TestApp;

    constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:platform:Platform", name, {}, opts);
        const child = { parent: this };

        const metallb = args.metallb ? new MetalLb(`${name}-metallb`, { provider: args.provider, charts: args.charts, namePrefix: args.namePrefix, addresses: args.metallb.addresses, imageMirrors: args.imageMirrors }, child) : undefined;
        if (args.ingress) {
            this.ingress = new IngressController(
                `${name}-ingress`,
                {
                    provider: args.provider,
                    charts: args.charts,
                    namePrefix: args.namePrefix,
                    imageMirrors: args.imageMirrors,
                    ...args.ingress,
                    azureHealthProbe: args.profile === "aks",
                    readAddress: args.profile === "aks",
                },
                // A LoadBalancer Service is ready once MetalLB gives it an address.
                { parent: this, dependsOn: metallb ? [metallb] : [] },
            );
        }
        if (args.metricsServer) {
            new MetricsServer(`${name}-metrics-server`, { provider: args.provider, charts: args.charts, namePrefix: args.namePrefix, imageMirrors: args.imageMirrors, ...args.metricsServer }, child);
        }

        // Config validation guarantees both; this only guards direct use of the component.
        const needsIngress = (what: string) => {
            if (!this.ingress) {
                throw new Error(`${what} needs the ingress controller`);
            }
            if (!args.storage) {
                throw new Error(`${what} needs shared storage`);
            }
            return { ingress: this.ingress, storage: args.storage };
        };
        // Ingress objects are served once the controller is up (Pulumi waits for their status
        // address, which the controller publishes); volumes need their storage.
        const afterIngress = () => ({ parent: this, dependsOn: [this.ingress!, ...(args.storageReady ?? [])] });

        const appNamespace = args.testApp || args.managedDiskClaim
            ? // Baseline: the test app's init container runs as root (components/testApp.ts).
              new k8s.core.v1.Namespace(`${name}-apps-namespace`, { metadata: namespaceMetadata("test-app", { name: "test-app" }, "baseline") }, { parent: this, provider: args.provider })
                  .metadata.name
            : undefined;

        if (args.registry) {
            const { ingress, storage } = needsIngress("the registry");
            this.registry = new Registry(
                `${name}-registry`,
                {
                    provider: args.provider,
                    domain: args.domain,
                    ingressClassName: ingress.className,
                    ingressController: ingress.controller,
                    mode: args.registry.mode,
                    storage: volumeBackend(storage, VOLUME_DIRECTORIES.registry),
                    size: args.registry.size,
                    pullSecretNamespaces: appNamespace ? [appNamespace] : [],
                    imageMirrors: args.imageMirrors,
                },
                afterIngress(),
            );
        }
        if (args.testApp && appNamespace) {
            const { ingress, storage } = needsIngress("the test app");
            this.testApp = new TestApp(
                `${name}-test-app`,
                {
                    provider: args.provider,
                    namespace: appNamespace,
                    host: `share-storage.${args.domain}`,
                    ingressClassName: ingress.className,
                    storage: volumeBackend(storage, VOLUME_DIRECTORIES.testApp),
                    size: args.testApp.size,
                    replicas: args.testApp.replicas,
                    imagePullSecret: this.registry?.password ? PULL_SECRET_NAME : undefined,
                    autoscaling: args.autoscaling,
                    imageMirrors: args.imageMirrors,
                },
                afterIngress(),
            );
        }
        if (args.managedDiskClaim && appNamespace) {
            new SharedVolume(
                `${name}-managed-disk`,
                {
                    provider: args.provider,
                    namespace: appNamespace,
                    claimName: "managed-disk",
                    size: args.managedDiskClaim.size,
                    backend: { kind: "storageClass", storageClassName: args.managedDiskClaim.storageClassName, accessMode: "ReadWriteOnce" },
                    labels: { ...TEST_APP_LABELS, "app.kubernetes.io/component": "storage" },
                },
                child,
            );
        }
        this.registerOutputs({});
    }
}
