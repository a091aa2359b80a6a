import * as pulumi from "@pulumi/pulumi";
import { ImagesSettings } from "./images";
import { AksConfig, AzureConfig, CertRenewalConfig, ChartsConfig, NodeRole, OsConfig, OsDiskType, Raw, VsphereConfig } from "./schema";

/** The typed, validated configuration every layer above receives (built by ./parse.ts). */

export type { AksConfig, AzureConfig, CertRenewalConfig, ChartsConfig, NodeRole, OsConfig, VsphereConfig } from "./schema";

/** `kubernetes.etcdBackup`, with the NFS copy resolved to the share's address. */
export interface EtcdBackupSettings {
    readonly enabled: boolean;
    /** systemd OnCalendar expression. */
    readonly schedule: string;
    readonly directory: string;
    readonly retention: number;
    /** "<NFS server IP>:<export path>" when snapshots are also copied to the share (default: none). */
    readonly nfsTarget?: string;
}

export interface MachineSize {
    readonly cpus: number;
    readonly memoryMb: number;
    readonly diskGb: number;
}

/** Seed 000's sizes. */
export const DEFAULT_SIZES = {
    controlPlane: { cpus: 2, memoryMb: 2048, diskGb: 50 },
    worker: { cpus: 2, memoryMb: 4096, diskGb: 50 },
    storage: { cpus: 1, memoryMb: 1024, diskGb: 20 },
    loadBalancer: { cpus: 1, memoryMb: 1024, diskGb: 20 },
} as const satisfies Record<string, MachineSize>;

/** A machine the program reaches over SSH. */
export interface HostSpec {
    readonly name: string;
    readonly ip: string;
    readonly sshUser: string;
    readonly sshPort: number;
    /** The host's SSH public key, pinned (default: none — any host key is accepted). */
    readonly hostKey?: string;
    /** Only used when the program creates the machine (vSphere). */
    readonly size: MachineSize;
}

export interface NodeSpec extends HostSpec {
    readonly role: NodeRole;
}

/** An add-on host: a cluster node or a machine of its own (created as a VM or existing). */
export type AddonHost =
    | { readonly kind: "node"; readonly host: NodeSpec }
    | { readonly kind: "dedicated"; readonly host: HostSpec; readonly provision: "vm" | "existing" };

export interface KubernetesConfig {
    /** "1.MINOR" or "1.MINOR.PATCH". */
    readonly version: string;
    /** "1.MINOR": selects the pkgs.k8s.io repository. */
    readonly minor: string;
    /** Whether the stack sets kubernetes.version (unset: an existing cluster keeps the version it
     * runs, see config/upgrade.ts). */
    readonly versionSet: boolean;
    /** How a version change rolls out. */
    readonly upgrade: { readonly maxUnavailable: number };
    readonly podSubnet: string;
    readonly serviceSubnet: string;
    readonly dnsDomain: string;
    /** host:port every node and the kubeconfig use to reach the API server. */
    readonly controlPlaneEndpoint: string;
    /** What answers at the endpoint (kubernetes.controlPlaneEndpoint): "node" the one control
     * plane's own IP, "haproxy" the HAProxy host, "kube-vip" a virtual IP the control planes hold,
     * "external" a load balancer or DNS name the user runs. */
    readonly endpointMode: "node" | "haproxy" | "kube-vip" | "external";
    /** kube-vip's settings when endpointMode is "kube-vip" (default: none). */
    readonly kubeVip?: { readonly address: string; readonly interface?: string };
    readonly apiServerCertSANs: string[];
    /** Name of the control plane that runs `kubeadm init` ("" on AKS). */
    readonly bootstrapNode: string;
    /** How flanneld picks its interface. */
    readonly podNetworkInterface: { readonly canReach: string } | { readonly name: string } | { readonly regex: string };
    /** Scheduled etcd snapshots on every control plane. */
    readonly etcdBackup: EtcdBackupSettings;
    /** Automatic renewal of kubeadm's control-plane certificates. */
    readonly certRenewal: CertRenewalConfig;
}

export interface PlatformConfig {
    readonly project: string;
    readonly stack: string;
    readonly kubernetes: KubernetesConfig;
    readonly infra:
        | { readonly provider: "vsphere"; readonly vsphere: VsphereConfig }
        | { readonly provider: "existing" }
        | {
              readonly provider: "azure";
              /** dnsLabelPrefix stays undefined when not configured: the stack then generates one. */
              readonly azure: AzureConfig & { readonly osDiskType: OsDiskType };
          }
        | { readonly provider: "aks"; readonly aks: AksConfig };
    readonly network: Raw["network"];
    /** Cluster nodes, control-plane nodes first in config order. */
    readonly nodes: NodeSpec[];
    readonly ssh: {
        readonly bastion?: { host: string; port: number; user: string; hostKey?: string };
        /** Dial attempts per command before it fails (15 s each). */
        readonly dialErrorLimit: number;
    };
    readonly os: OsConfig;
    /** Where the pinned Helm charts come from. */
    readonly charts: ChartsConfig;
    /** Where images are pulled from: each source registry's mirror, the CA and the account the
     * mirrors are reached with (`images`; default: none). */
    readonly images: ImagesSettings;
    readonly domain: string;
    readonly ingress: Raw["ingress"] & { readonly serviceType: "LoadBalancer" | "NodePort" };
    readonly metallb: { readonly enabled: false } | { readonly enabled: true; readonly addresses: string };
    readonly haproxy: { readonly enabled: false } | { readonly enabled: true; readonly host: AddonHost; readonly frontsApiServer: boolean };
    readonly nfs: { readonly enabled: false } | { readonly enabled: true; readonly host: AddonHost; readonly exportPath: string };
    readonly registry: Omit<Raw["registry"], "enabled"> & { readonly enabled: boolean };
    readonly testApp: Raw["testApp"];
    readonly metricsServer: Omit<Raw["metricsServer"], "enabled"> & { readonly enabled: boolean };
    readonly autoscaling: Raw["autoscaling"];
}

/** Secret inputs, kept out of `PlatformConfig` so that they only ever travel as Pulumi secrets. */
export interface StackSecrets {
    /** From `k8s-platform:sshPrivateKey`; undefined when the stack does not set it. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** From `k8s-platform:imagesPassword` (the password of `images.username`); undefined when not set. */
    readonly imagesPassword?: pulumi.Output<string>;
    /** From `k8s-platform:imagesHostPasswords` (host → the password of `images.hosts."<host>".username`);
     * undefined when not set. */
    readonly imagesHostPasswords?: pulumi.Output<Record<string, string>>;
}
