import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { cidrContains, cidrsOverlap, ipToNumber, isIpv4, networkAddress, parseCidr, parseIpRange, rangeContains } from "./net";
import { AKS_KUBERNETES_VERSION, AZURE_NODE_IMAGE, KUBERNETES_VERSION } from "./versions";

/**
 * The one place stack configuration is read and validated. Everything downstream receives the
 * typed `PlatformConfig`; no component calls `new pulumi.Config()`.
 *
 * Every key lives in the project namespace (`k8s-platform:<key>`); the README documents each key
 * and its default. Bad input throws a `ConfigError` naming the key, the bad value and what is
 * allowed, before any resource is declared.
 */

export const PROJECT = "k8s-platform";

/** Top-level keys read from the stack. `sshPrivateKey` is read separately, as a secret. */
export const CONFIG_KEYS = [
    "kubernetes",
    "infra",
    "network",
    "nodes",
    "ssh",
    "os",
    "domain",
    "ingress",
    "metallb",
    "haproxy",
    "nfs",
    "registry",
    "testApp",
    "metricsServer",
    "autoscaling",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

export const SSH_KEY_CONFIG = "sshPrivateKey";

const show = (value: unknown): string => (value === undefined ? "nothing" : JSON.stringify(value));

/** A strict object: unknown keys are refused with the list of allowed ones (catches typos). */
function strict<T extends z.ZodRawShape>(shape: T) {
    return z.strictObject(shape, {
        error: (iss) =>
            iss.code === "unrecognized_keys"
                ? `unknown key ${iss.keys.map((k) => `"${k}"`).join(", ")}; allowed keys: ${Object.keys(shape).join(", ")}`
                : `expected an object, got ${show(iss.input)}`,
    });
}

const ipv4 = z.string({ error: (iss) => `expected an IPv4 address string, got ${show(iss.input)}` }).refine(isIpv4, {
    error: (iss) => `${show(iss.input)} is not a valid IPv4 address (expected a.b.c.d)`,
});

const cidr = z.string({ error: (iss) => `expected a CIDR string, got ${show(iss.input)}` }).superRefine((value, ctx) => {
    const parsed = parseCidr(value);
    if (!parsed) {
        ctx.addIssue({ code: "custom", message: `${show(value)} is not a valid IPv4 CIDR (expected a.b.c.d/n, n from 0 to 32)` });
    } else if (networkAddress(parsed) !== parsed.address.toString()) {
        ctx.addIssue({
            code: "custom",
            message: `${show(value)} has host bits set; did you mean "${networkAddress(parsed)}/${parsed.prefix}"?`,
        });
    }
});

const dnsLabel = z
    .string({ error: (iss) => `expected a host name string, got ${show(iss.input)}` })
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
        error: (iss) =>
            `${show(iss.input)} is not a valid node name (lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit)`,
    });

/** A whole number in [min, max]; every failure names the value and the range. */
const intRange = (min: number, max: number, what: string) => {
    const error = (iss: { input?: unknown }) => `${show(iss.input)} is not ${what} (${min}-${max})`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const port = intRange(1, 65535, "a TCP port");

const positiveInt = (what: string) =>
    z.number({ error: (iss) => `expected a whole number of ${what}, got ${show(iss.input)}` }).int({ error: `expected a whole number of ${what}` }).positive({ error: (iss) => `${show(iss.input)} ${what}: must be at least 1` });

const choice = <T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { error: (iss) => `${show(iss.input)} is not allowed; allowed values: ${values.join(", ")}` });

const kubernetesVersion = z
    .string({ error: (iss) => `expected a version string such as "1.35", got ${show(iss.input)}` })
    .regex(/^1\.\d{1,2}(\.\d{1,3})?$/, {
        error: (iss) => `${show(iss.input)} is not a Kubernetes version; allowed: "1.MINOR" or "1.MINOR.PATCH" (no "v" prefix), e.g. "1.35" or "1.35.2"`,
    });

const sizeSchema = strict({
    cpus: positiveInt("CPUs").optional(),
    memoryMb: positiveInt("MB of memory").optional(),
    diskGb: positiveInt("GB of disk").optional(),
});

const kubernetesSchema = strict({
    version: kubernetesVersion.default(KUBERNETES_VERSION),
    podSubnet: cidr.default("10.244.0.0/16"),
    serviceSubnet: cidr.default("10.96.0.0/12"),
    dnsDomain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).default("cluster.local"),
    controlPlaneEndpoint: z
        .string()
        .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, { error: (iss) => `${show(iss.input)} is not "host" or "host:port"` })
        .optional(),
    apiServerCertSANs: z.array(z.string()).default([]),
});

const vsphereSchema = strict({
    datacenter: z.string().min(1),
    computeCluster: z.string().min(1).optional(),
    resourcePool: z.string().min(1).optional(),
    datastore: z.string().min(1),
    network: z.string().min(1),
    folder: z.string().optional(),
    template: z.string().min(1),
    linkedClone: z.boolean().default(false),
    domain: z.string().default("local"),
    controlPlaneSize: sizeSchema.prefault({}),
    workerSize: sizeSchema.prefault({}),
    storageSize: sizeSchema.prefault({}),
    loadBalancerSize: sizeSchema.prefault({}),
});

const vmSize = z.string({ error: (iss) => `expected an Azure VM size, got ${show(iss.input)}` }).regex(/^Standard_[A-Za-z0-9]+(_[A-Za-z0-9]+)*$/, {
    error: (iss) => `${show(iss.input)} is not an Azure VM size (expected e.g. "Standard_D2s_v3")`,
});

const azureSchema = strict({
    location: z.string().min(1),
    resourceGroupName: z.string().min(1).optional(),
    /** Public DNS labels of the nodes: <prefix>-<node>.<location>.cloudapp.azure.com. */
    dnsLabelPrefix: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/, { error: (iss) => `${show(iss.input)} is not a DNS label prefix (lowercase letters, digits, '-')` }).optional(),
    /** Networks allowed to reach SSH and the API server. */
    adminCidrs: z.array(z.string()).default([]),
    allowSshFromAnywhere: z.boolean().default(false),
    /** publicIp: every node has a public IP; bastion: private nodes reached through ssh.bastion. */
    access: choice(["publicIp", "bastion"] as const).default("publicIp"),
    adminUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/).default("azureuser"),
    controlPlaneSize: vmSize.default("Standard_D2s_v3"),
    workerSize: vmSize.default("Standard_D2s_v3"),
    osDiskGb: positiveInt("GB of disk").default(50),
    image: strict({
        publisher: z.string().default(AZURE_NODE_IMAGE.publisher),
        offer: z.string().default(AZURE_NODE_IMAGE.offer),
        sku: z.string().default(AZURE_NODE_IMAGE.sku),
        version: z.string().default(AZURE_NODE_IMAGE.version),
    }).prefault({}),
});

const aksSchema = strict({
    location: z.string().min(1),
    resourceGroupName: z.string().min(1).optional(),
    kubernetesVersion: kubernetesVersion.default(AKS_KUBERNETES_VERSION),
    nodeCount: intRange(1, 1000, "a node count").default(3),
    vmSize: vmSize.default("Standard_DS2_v2"),
    networkPlugin: choice(["azure", "kubenet"] as const).default("azure"),
    networkPluginMode: choice(["overlay", "none"] as const).default("overlay"),
    podCidr: cidr.default("10.244.0.0/16"),
    serviceCidr: cidr.default("10.0.0.0/16"),
    dnsServiceIP: ipv4.default("10.0.0.10"),
    /** Cluster autoscaler bounds for the system pool (default: off, a fixed nodeCount). */
    autoscaler: strict({ minCount: intRange(1, 1000, "a node count"), maxCount: intRange(1, 1000, "a node count") }).optional(),
    acrSku: choice(["Basic", "Standard", "Premium"] as const).default("Basic"),
    /** ReadWriteMany storage class for the shared volumes. */
    sharedStorageClass: z.string().default("azurefile-csi"),
    /** Seed 004's managed-disk claim (ReadWriteOnce, one pod) next to the shared ones. */
    managedDiskClaim: z.boolean().default(false),
});

const infraSchema = strict({
    provider: choice(["vsphere", "existing", "azure", "aks"] as const),
    vsphere: vsphereSchema.optional(),
    azure: azureSchema.optional(),
    aks: aksSchema.optional(),
});

const networkSchema = strict({
    cidr,
    gateway: ipv4.optional(),
    dnsServers: z.array(ipv4).default([]),
});

const roleSchema = choice(["control-plane", "worker"] as const);

const nodeSchema = strict({
    name: dnsLabel,
    ip: ipv4,
    role: roleSchema,
    sshUser: z.string().min(1).optional(),
    sshPort: port.optional(),
    cpus: positiveInt("CPUs").optional(),
    memoryMb: positiveInt("MB of memory").optional(),
    diskGb: positiveInt("GB of disk").optional(),
});

const sshSchema = strict({
    user: z.string().min(1).default("root"),
    port: port.default(22),
    /** Jump host for nodes that are not reachable directly. */
    bastion: strict({ host: z.string().min(1), port: port.default(22), user: z.string().min(1).optional() }).optional(),
});

const osSchema = strict({
    firewall: choice(["disabled", "open"] as const).default("disabled"),
    httpProxy: z.string().optional(),
    httpsProxy: z.string().optional(),
    noProxy: z.string().optional(),
    kubernetesRepoBase: z.url().default("https://pkgs.k8s.io/core:/stable:"),
    containerdRepoUrl: z.url().default("https://download.docker.com/linux/centos/docker-ce.repo"),
});

/** A host for an add-on: an existing cluster node by name, or a host of its own. */
const hostRefSchema = z.union(
    [
        strict({ node: dnsLabel }),
        strict({
            name: dnsLabel,
            ip: ipv4,
            sshUser: z.string().min(1).optional(),
            /** vm: the program creates it (vSphere); existing: it already runs a supported OS. */
            provision: choice(["vm", "existing"] as const).optional(),
            cpus: positiveInt("CPUs").optional(),
            memoryMb: positiveInt("MB of memory").optional(),
            diskGb: positiveInt("GB of disk").optional(),
        }),
    ],
    { error: () => `expected {node: "<cluster node name>"} or {name, ip[, sshUser, provision]} for a host of its own` },
);

const nodePort = intRange(30000, 32767, "in the NodePort range");

const addonSchemas = {
    domain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: (iss) => `${show(iss.input)} is not a DNS domain` }).default("localtest.com"),
    ingress: strict({
        enabled: z.boolean().default(true),
        httpNodePort: nodePort.default(30080),
        httpsNodePort: nodePort.default(30443),
    }).prefault({}),
    metallb: strict({
        enabled: z.boolean().default(false),
        addresses: z.string().optional(),
    }).prefault({}),
    haproxy: strict({
        enabled: z.boolean().default(false),
        host: hostRefSchema.optional(),
    }).prefault({}),
    nfs: strict({
        enabled: z.boolean().default(false),
        host: hostRefSchema.optional(),
        exportPath: z.string().regex(/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/, { error: (iss) => `${show(iss.input)} is not an absolute directory path` }).default("/share_storage"),
    }).prefault({}),
    registry: strict({
        /** Default: on, except on AKS (images come from ACR). */
        enabled: z.boolean().optional(),
        mode: choice(["tls", "insecure"] as const).default("tls"),
        size: z.string().regex(/^\d+(Mi|Gi|Ti)$/).default("10Gi"),
    }).prefault({}),
    testApp: strict({
        enabled: z.boolean().default(true),
        replicas: positiveInt("replicas").default(3),
        size: z.string().regex(/^\d+(Mi|Gi|Ti)$/).default("1Gi"),
    }).prefault({}),
    metricsServer: strict({
        /** Default: on, except on AKS (it runs its own). */
        enabled: z.boolean().optional(),
        kubeletInsecureTls: z.boolean().default(true),
    }).prefault({}),
    autoscaling: strict({
        enabled: z.boolean().default(true),
        minReplicas: positiveInt("replicas").default(3),
        maxReplicas: positiveInt("replicas").default(30),
        cpuUtilization: intRange(1, 100, "a percentage").default(50),
    }).prefault({}),
};

const rawSchema = z.object({
    kubernetes: kubernetesSchema.prefault({}),
    infra: infraSchema,
    network: networkSchema,
    nodes: z.array(nodeSchema, { error: (iss) => `expected a list of nodes, got ${show(iss.input)}` }).default([]),
    ssh: sshSchema.prefault({}),
    os: osSchema.prefault({}),
    ...addonSchemas,
});

type Raw = z.output<typeof rawSchema>;

export type NodeRole = z.output<typeof roleSchema>;

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
    readonly podSubnet: string;
    readonly serviceSubnet: string;
    readonly dnsDomain: string;
    /** host:port every node and the kubeconfig use to reach the API server. */
    readonly controlPlaneEndpoint: string;
    readonly apiServerCertSANs: string[];
}

export type VsphereConfig = z.output<typeof vsphereSchema>;
export type AzureConfig = z.output<typeof azureSchema>;
export type AksConfig = z.output<typeof aksSchema>;
export type OsConfig = z.output<typeof osSchema>;

export interface PlatformConfig {
    readonly project: string;
    readonly stack: string;
    readonly kubernetes: KubernetesConfig;
    readonly infra:
        | { readonly provider: "vsphere"; readonly vsphere: VsphereConfig }
        | { readonly provider: "existing" }
        | { readonly provider: "azure"; readonly azure: AzureConfig & { readonly resourceGroupName: string; readonly dnsLabelPrefix: string } }
        | { readonly provider: "aks"; readonly aks: AksConfig & { readonly resourceGroupName: string } };
    readonly network: Raw["network"];
    /** Cluster nodes, control-plane nodes first in config order. */
    readonly nodes: NodeSpec[];
    readonly ssh: { readonly bastion?: { host: string; port: number; user: string } };
    readonly os: OsConfig;
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

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** "k8s-platform:nodes[1].ip" from a zod path. */
function keyName(path: ReadonlyArray<PropertyKey>): string {
    let out = `${PROJECT}:${String(path[0] ?? "")}`;
    for (const part of path.slice(1)) {
        out += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
    }
    return out;
}

/**
 * Validates raw stack config (the values of `k8s-platform:*`, objects already parsed) into a
 * `PlatformConfig`. `hasSshPrivateKey` says whether the secret `k8s-platform:sshPrivateKey` is set:
 * the key itself never passes through here, so it never appears in an error message.
 */
export function parseConfig(raw: Record<string, unknown>, opts: { stack: string; hasSshPrivateKey: boolean }): PlatformConfig {
    const unknownKeys = Object.keys(raw).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k) && k !== SSH_KEY_CONFIG);
    const problems: string[] = unknownKeys.map(
        (k) => `${PROJECT}:${k}: unknown key; allowed keys: ${[...CONFIG_KEYS, SSH_KEY_CONFIG].join(", ")}`,
    );
    const parsed = rawSchema.safeParse(raw);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            const message = issue.code === "invalid_type" && issue.input === undefined ? "is required" : issue.message;
            problems.push(`${keyName(issue.path)}: ${message}`);
        }
        throw new ConfigError(problems);
    }
    const config = buildConfig(parsed.data, opts, problems);
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return config;
}

function buildConfig(raw: Raw, opts: { stack: string; hasSshPrivateKey: boolean }, problems: string[]): PlatformConfig {
    const k = (key: string) => `${PROJECT}:${key}`;
    const provider = raw.infra.provider;

    const managed = provider === "aks";
    if (!opts.hasSshPrivateKey && !managed) {
        problems.push(
            `${k(SSH_KEY_CONFIG)}: is required (the SSH private key for the nodes); set it with ` +
                `\`pulumi config set --secret ${SSH_KEY_CONFIG} < ~/.ssh/id_ed25519\``,
        );
    }
    if (provider === "vsphere" && !raw.infra.vsphere) {
        problems.push(`${k("infra.vsphere")}: is required when infra.provider is "vsphere"`);
    }
    if (raw.infra.vsphere && !raw.infra.vsphere.computeCluster && !raw.infra.vsphere.resourcePool) {
        problems.push(`${k("infra.vsphere")}: set computeCluster or resourcePool (where the VMs run)`);
    }
    for (const cloud of ["azure", "aks"] as const) {
        if (provider === cloud && !raw.infra[cloud]) {
            problems.push(`${k(`infra.${cloud}`)}: is required when infra.provider is "${cloud}"`);
        }
    }
    const azure = provider === "azure" ? raw.infra.azure : undefined;
    if (azure) {
        checkAdminCidrs(azure, problems);
        if (azure.access === "bastion" && !raw.ssh.bastion) {
            problems.push(`${k("infra.azure.access")}: "bastion" reaches private nodes through ssh.bastion; set ssh.bastion {host, user}`);
        }
        if (raw.metallb.enabled) {
            problems.push(
                `${k("metallb.enabled")}: MetalLB's layer-2 mode answers ARP on a shared network segment, which an Azure virtual network ` +
                    `does not provide; on Azure the ingress is exposed through an Azure Standard Load Balancer instead: set metallb.enabled to false`,
            );
        }
        if (raw.haproxy.enabled) {
            problems.push(`${k("haproxy.enabled")}: on Azure the Azure Standard Load Balancer is the L4 balancer in front of ingress; set haproxy.enabled to false`);
        }
    }
    const aks = provider === "aks" ? raw.infra.aks : undefined;
    if (managed) {
        const refuse = (key: string, why: string) => problems.push(`${k(key)}: ${why}`);
        if (raw.nodes.length > 0) refuse("nodes", "AKS manages its own nodes; remove the list and set infra.aks.nodeCount");
        if (raw.metallb.enabled) refuse("metallb.enabled", "AKS gives LoadBalancer Services Azure load balancer addresses; set it to false");
        if (raw.haproxy.enabled) refuse("haproxy.enabled", "AKS puts an Azure load balancer in front of ingress; set it to false");
        if (raw.nfs.enabled) refuse("nfs.enabled", `on AKS shared volumes come from the ${aks?.sharedStorageClass ?? "azurefile-csi"} storage class; set it to false`);
        if (raw.metricsServer.enabled) refuse("metricsServer.enabled", "AKS runs its own metrics-server (the HPA uses it); set it to false");
    }
    if (aks) {
        if (aks.autoscaler && aks.autoscaler.minCount > aks.autoscaler.maxCount) {
            problems.push(`${k("infra.aks.autoscaler.minCount")}: ${aks.autoscaler.minCount} is above autoscaler.maxCount ${aks.autoscaler.maxCount}`);
        }
        if (aks.autoscaler && (aks.nodeCount < aks.autoscaler.minCount || aks.nodeCount > aks.autoscaler.maxCount)) {
            problems.push(`${k("infra.aks.nodeCount")}: ${aks.nodeCount} is outside the autoscaler's ${aks.autoscaler.minCount}-${aks.autoscaler.maxCount}`);
        }
        const service = parseCidr(aks.serviceCidr)!;
        if (!cidrContains(service, aks.dnsServiceIP)) {
            problems.push(`${k("infra.aks.dnsServiceIP")}: ${aks.dnsServiceIP} is outside infra.aks.serviceCidr ${aks.serviceCidr}`);
        }
        const vnet = parseCidr(raw.network.cidr)!;
        const pods = parseCidr(aks.podCidr)!;
        for (const [a, an, b, bn] of [[service, "serviceCidr", vnet, "network.cidr"], [pods, "podCidr", vnet, "network.cidr"], [pods, "podCidr", service, "infra.aks.serviceCidr"]] as const) {
            if (cidrsOverlap(a, b)) {
                problems.push(`${k(`infra.aks.${an}`)}: ${a.text} overlaps ${bn} ${b.text}; they must not overlap`);
            }
        }
    }

    // Networks: seed 000 insists the pod network never overlaps the host network.
    const nodeNet = parseCidr(raw.network.cidr)!;
    const podNet = parseCidr(raw.kubernetes.podSubnet)!;
    const svcNet = parseCidr(raw.kubernetes.serviceSubnet)!;
    const nets: Array<[string, typeof nodeNet]> = [
        [`kubernetes.podSubnet (${podNet.text})`, podNet],
        [`kubernetes.serviceSubnet (${svcNet.text})`, svcNet],
        [`network.cidr (${nodeNet.text})`, nodeNet],
    ];
    for (let i = 0; i < nets.length; i++) {
        for (let j = i + 1; j < nets.length; j++) {
            if (cidrsOverlap(nets[i][1], nets[j][1])) {
                problems.push(`${k(nets[i][0].split(" ")[0])}: ${nets[i][0]} overlaps ${nets[j][0]}; the pod, service and node networks must not overlap`);
            }
        }
    }
    if (raw.network.gateway && !cidrContains(nodeNet, raw.network.gateway)) {
        problems.push(`${k("network.gateway")}: ${show(raw.network.gateway)} is outside network.cidr ${nodeNet.text}`);
    }

    // Azure VMs are created with the admin user; root logins are disabled there.
    const defaultUser = azure ? azure.adminUser : raw.ssh.user;
    const vsphereSizes = raw.infra.vsphere;
    const sizeFor = (role: NodeRole, node: { cpus?: number; memoryMb?: number; diskGb?: number }): MachineSize => {
        const roleDefault = role === "control-plane" ? DEFAULT_SIZES.controlPlane : DEFAULT_SIZES.worker;
        const roleConfig = role === "control-plane" ? vsphereSizes?.controlPlaneSize : vsphereSizes?.workerSize;
        return {
            cpus: node.cpus ?? roleConfig?.cpus ?? roleDefault.cpus,
            memoryMb: node.memoryMb ?? roleConfig?.memoryMb ?? roleDefault.memoryMb,
            diskGb: node.diskGb ?? roleConfig?.diskGb ?? roleDefault.diskGb,
        };
    };

    // Nodes
    const nodes: NodeSpec[] = raw.nodes.map((n) => ({
        name: n.name,
        ip: n.ip,
        role: n.role,
        sshUser: n.sshUser ?? defaultUser,
        sshPort: n.sshPort ?? raw.ssh.port,
        size: sizeFor(n.role, n),
    }));
    const controlPlanes = nodes.filter((n) => n.role === "control-plane");
    if (managed) {
        // No kubeadm nodes to check.
    } else if (controlPlanes.length === 0) {
        problems.push(`${k("nodes")}: needs at least one node with role "control-plane" (got ${nodes.length} node(s), none control-plane)`);
    } else if (controlPlanes.length > 1 && controlPlanes.length % 2 === 0) {
        problems.push(
            `${k("nodes")}: ${controlPlanes.length} control-plane nodes is an even number; etcd needs a majority, so use 1, 3, 5 or 7`,
        );
    }

    const hosts: HostSpec[] = [...nodes];
    const hostKeys = new Map<HostSpec, string>(nodes.map((n, i) => [n, k(`nodes[${i}].ip`)]));
    const addonHost = (key: "haproxy" | "nfs", ref: z.output<typeof hostRefSchema> | undefined, sizeDefault: MachineSize): AddonHost | undefined => {
        if (!ref) {
            problems.push(`${k(`${key}.host`)}: is required when ${key}.enabled is true ({node: "<cluster node>"} or {name, ip})`);
            return undefined;
        }
        if ("node" in ref) {
            const node = nodes.find((n) => n.name === ref.node);
            if (!node) {
                problems.push(`${k(`${key}.host.node`)}: ${show(ref.node)} is not a node in k8s-platform:nodes (nodes: ${nodes.map((n) => n.name).join(", ")})`);
                return undefined;
            }
            return { kind: "node", host: node };
        }
        const host: HostSpec = {
            name: ref.name,
            ip: ref.ip,
            sshUser: ref.sshUser ?? defaultUser,
            sshPort: raw.ssh.port,
            size: { cpus: ref.cpus ?? sizeDefault.cpus, memoryMb: ref.memoryMb ?? sizeDefault.memoryMb, diskGb: ref.diskGb ?? sizeDefault.diskGb },
        };
        const provision = ref.provision ?? (provider === "vsphere" ? "vm" : "existing");
        if (provision === "vm" && provider !== "vsphere") {
            problems.push(`${k(`${key}.host.provision`)}: "vm" needs infra.provider "vsphere" (got ${show(provider)}); use "existing"`);
        }
        if (!hosts.some((h) => h.name === host.name)) {
            hosts.push(host);
            hostKeys.set(host, k(`${key}.host.ip`));
        }
        return { kind: "dedicated", host, provision };
    };

    const lbSize = { ...DEFAULT_SIZES.loadBalancer, ...stripUndefined(vsphereSizes?.loadBalancerSize) };
    const storageSize = { ...DEFAULT_SIZES.storage, ...stripUndefined(vsphereSizes?.storageSize) };
    const haproxyHost = raw.haproxy.enabled ? addonHost("haproxy", raw.haproxy.host, lbSize) : undefined;
    const nfsHost = raw.nfs.enabled ? addonHost("nfs", raw.nfs.host, storageSize) : undefined;

    // Every machine: inside the node network, unique IPs and names.
    hosts.forEach((h) => {
        if (!cidrContains(nodeNet, h.ip)) {
            problems.push(`${hostKeys.get(h)}: IP ${show(h.ip)} of ${h.name} is outside network.cidr ${nodeNet.text}`);
        }
    });
    if (provider === "azure") {
        // Azure keeps the first four addresses and the last one of every subnet.
        const first = ipToNumber(networkAddress(nodeNet));
        const last = first + 2 ** (32 - nodeNet.prefix) - 1;
        hosts.filter((h) => isIpv4(h.ip) && (ipToNumber(h.ip) < first + 4 || ipToNumber(h.ip) === last)).forEach((h) =>
            problems.push(`${hostKeys.get(h)}: ${h.ip} is reserved by Azure in ${nodeNet.text} (the first four addresses and the last); pick another`),
        );
    }
    duplicates(hosts.map((h) => h.ip)).forEach((ip) =>
        problems.push(`${k("nodes")}: IP ${ip} is used by more than one host (${hosts.filter((h) => h.ip === ip).map((h) => h.name).join(", ")}); every host needs its own`),
    );
    duplicates(hosts.map((h) => h.name)).forEach((name) =>
        problems.push(`${k("nodes")}: host name ${show(name)} is used more than once; host names must be unique`),
    );
    if (raw.network.gateway && hosts.some((h) => h.ip === raw.network.gateway)) {
        problems.push(`${k("network.gateway")}: ${raw.network.gateway} is also a host's IP`);
    }

    // Control-plane endpoint: one control plane → its own address; several → a load balancer.
    let controlPlaneEndpoint = raw.kubernetes.controlPlaneEndpoint;
    const haproxyFrontsApi = Boolean(haproxyHost) && controlPlanes.length > 1;
    if (haproxyHost && haproxyFrontsApi && haproxyHost.kind === "node") {
        problems.push(
            `${k("haproxy.host")}: with ${controlPlanes.length} control-plane nodes HAProxy fronts the API server on :6443 ` +
                `and must answer before kubeadm init; give it a host of its own ({name, ip}) instead of node ${haproxyHost.host.name}`,
        );
    }
    if (!controlPlaneEndpoint && !managed) {
        if (controlPlanes.length === 1) {
            controlPlaneEndpoint = `${controlPlanes[0].ip}:6443`;
        } else if (haproxyFrontsApi && haproxyHost) {
            controlPlaneEndpoint = `${haproxyHost.host.ip}:6443`;
        } else if (controlPlanes.length > 1) {
            problems.push(
                `${k("kubernetes.controlPlaneEndpoint")}: is required with ${controlPlanes.length} control-plane nodes ` +
                    `(an L4 load balancer address in front of them), or enable haproxy on a host that is not a control plane`,
            );
        }
    }
    const endpoint = controlPlaneEndpoint && !/:\d+$/.test(controlPlaneEndpoint) ? `${controlPlaneEndpoint}:6443` : (controlPlaneEndpoint ?? "");

    // MetalLB (seed 002): the pool must sit in the node network and clash with nothing.
    let metallb: PlatformConfig["metallb"] = { enabled: false };
    if (raw.metallb.enabled) {
        const range = raw.metallb.addresses ? parseIpRange(raw.metallb.addresses) : undefined;
        if (!raw.metallb.addresses) {
            problems.push(`${k("metallb.addresses")}: is required when metallb.enabled is true (e.g. "192.168.1.11-192.168.1.13")`);
        } else if (!range) {
            problems.push(`${k("metallb.addresses")}: ${show(raw.metallb.addresses)} is not a range "first-last" of IPv4 addresses with first <= last`);
        } else {
            if (!cidrContains(nodeNet, range.first) || !cidrContains(nodeNet, range.last)) {
                problems.push(`${k("metallb.addresses")}: ${raw.metallb.addresses} is not inside network.cidr ${nodeNet.text}; layer-2 addresses must be on the node network`);
            }
            hosts.filter((h) => rangeContains(range, h.ip)).forEach((h) =>
                problems.push(`${k("metallb.addresses")}: ${raw.metallb.addresses} contains ${h.ip}, the address of ${h.name}`),
            );
            if (raw.network.gateway && rangeContains(range, raw.network.gateway)) {
                problems.push(`${k("metallb.addresses")}: ${raw.metallb.addresses} contains the gateway ${raw.network.gateway}`);
            }
            metallb = { enabled: true, addresses: `${range.first}-${range.last}` };
        }
    }

    if (raw.ingress.httpNodePort === raw.ingress.httpsNodePort) {
        problems.push(`${k("ingress.httpsNodePort")}: ${raw.ingress.httpsNodePort} is the same as ingress.httpNodePort; they must differ`);
    }
    if (raw.haproxy.enabled && !raw.ingress.enabled) {
        problems.push(`${k("haproxy.enabled")}: HAProxy forwards to the ingress controller's node ports; enable ingress too`);
    }
    const registryEnabled = raw.registry.enabled ?? !managed;
    const metricsServerEnabled = raw.metricsServer.enabled ?? !managed;
    for (const [key, on] of [["registry", registryEnabled], ["testApp", raw.testApp.enabled]] as const) {
        if (on && !raw.ingress.enabled) {
            problems.push(`${k(`${key}.enabled`)}: it is served through the ingress controller; enable ingress or set ${key}.enabled to false`);
        }
        if (on && !raw.nfs.enabled && !managed) {
            problems.push(`${k(`${key}.enabled`)}: its data lives on the NFS share; enable nfs (with nfs.host) or set ${key}.enabled to false`);
        }
    }
    if (raw.autoscaling.enabled && raw.autoscaling.minReplicas > raw.autoscaling.maxReplicas) {
        problems.push(`${k("autoscaling.minReplicas")}: ${raw.autoscaling.minReplicas} is above autoscaling.maxReplicas ${raw.autoscaling.maxReplicas}`);
    }
    if (raw.autoscaling.enabled && !raw.testApp.enabled) {
        problems.push(`${k("autoscaling.enabled")}: the HPA scales the test app; enable testApp or set autoscaling.enabled to false`);
    }
    if (raw.autoscaling.enabled && !metricsServerEnabled && !managed) {
        problems.push(`${k("autoscaling.enabled")}: the HPA reads CPU from metrics-server; enable metricsServer too`);
    }

    const [major, minor] = raw.kubernetes.version.split(".");
    const bastion = raw.ssh.bastion ? { host: raw.ssh.bastion.host, port: raw.ssh.bastion.port, user: raw.ssh.bastion.user ?? defaultUser } : undefined;
    return {
        project: PROJECT,
        stack: opts.stack,
        kubernetes: {
            version: raw.kubernetes.version,
            minor: `${major}.${minor}`,
            podSubnet: raw.kubernetes.podSubnet,
            serviceSubnet: raw.kubernetes.serviceSubnet,
            dnsDomain: raw.kubernetes.dnsDomain,
            controlPlaneEndpoint: endpoint,
            apiServerCertSANs: raw.kubernetes.apiServerCertSANs,
        },
        infra: infraConfig(raw, opts.stack),
        network: raw.network,
        nodes: [...controlPlanes, ...nodes.filter((n) => n.role === "worker")],
        ssh: { bastion },
        os: raw.os,
        domain: raw.domain,
        ingress: { ...raw.ingress, serviceType: metallb.enabled ? "LoadBalancer" : "NodePort" },
        metallb,
        haproxy: haproxyHost ? { enabled: true, host: haproxyHost, frontsApiServer: haproxyFrontsApi } : { enabled: false },
        nfs: nfsHost ? { enabled: true, host: nfsHost, exportPath: raw.nfs.exportPath } : { enabled: false },
        registry: { ...raw.registry, enabled: registryEnabled },
        testApp: raw.testApp,
        metricsServer: { ...raw.metricsServer, enabled: metricsServerEnabled },
        autoscaling: raw.autoscaling,
    };
}

function infraConfig(raw: Raw, stack: string): PlatformConfig["infra"] {
    const infra = raw.infra;
    switch (infra.provider) {
        case "vsphere":
            return { provider: "vsphere", vsphere: infra.vsphere! };
        case "azure":
            return {
                provider: "azure",
                azure: { ...infra.azure!, resourceGroupName: infra.azure!.resourceGroupName ?? `${PROJECT}-${stack}`, dnsLabelPrefix: infra.azure!.dnsLabelPrefix ?? `k8sp-${stack}` },
            };
        case "aks":
            return { provider: "aks", aks: { ...infra.aks!, resourceGroupName: infra.aks!.resourceGroupName ?? `${PROJECT}-${stack}` } };
        default:
            return { provider: "existing" };
    }
}

/** SSH and the API server must not be open to the internet unless the stack says so explicitly. */
function checkAdminCidrs(azure: AzureConfig, problems: string[]): void {
    const key = `${PROJECT}:infra.azure.adminCidrs`;
    if (azure.adminCidrs.length === 0) {
        problems.push(`${key}: is required: the networks (CIDRs) allowed to reach SSH (22) and the API server (6443), e.g. ["203.0.113.0/24"]`);
    }
    azure.adminCidrs.forEach((entry, i) => {
        const anywhere = entry === "*" || entry === "0.0.0.0/0" || entry.toLowerCase() === "internet" || entry.toLowerCase() === "any";
        if (anywhere) {
            if (!azure.allowSshFromAnywhere) {
                problems.push(
                    `${key}[${i}]: ${show(entry)} opens SSH and the API server to the whole internet; list your admin networks, ` +
                        `or set infra.azure.allowSshFromAnywhere to true if you really mean it`,
                );
            }
        } else if (!parseCidr(entry)) {
            problems.push(`${key}[${i}]: ${show(entry)} is not a valid IPv4 CIDR (expected a.b.c.d/n)`);
        }
    });
}

function duplicates(values: string[]): string[] {
    return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
    return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Secret inputs, kept out of `PlatformConfig` so that they only ever travel as Pulumi secrets. */
export interface StackSecrets {
    /** From `k8s-platform:sshPrivateKey`; undefined when the stack does not set it. */
    readonly sshPrivateKey?: pulumi.Output<string>;
}

/** A raw config value as Pulumi stores it: objects and lists as JSON text, the rest as strings. */
export function decodeConfigValue(text: string): unknown {
    const trimmed = text.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
        return JSON.parse(trimmed);
    }
    return text;
}

/** Reads and validates the running stack's config: the program's only use of pulumi config. */
export function loadConfig(): { config: PlatformConfig; secrets: StackSecrets } {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        const [namespace, name] = key.split(":");
        if (namespace === PROJECT && name !== SSH_KEY_CONFIG) {
            raw[name] = decodeConfigValue(value);
        }
    }
    const sshPrivateKey = new pulumi.Config(PROJECT).getSecret(SSH_KEY_CONFIG);
    const config = parseConfig(raw, { stack: pulumi.getStack(), hasSshPrivateKey: sshPrivateKey !== undefined });
    return { config, secrets: { sshPrivateKey } };
}
