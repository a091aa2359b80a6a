import { z } from "zod";
import { isIpv4, isKubeadmCertSan, isKubeadmHostPort, networkAddress, parseCidr } from "./net";
import { mirrorPrefixProblem } from "./images";
import { AKS_KUBERNETES_VERSION, AZURE_NODE_IMAGE } from "./versions";

/**
 * The shape of the stack configuration (zod): every key, its type and default. Values that pass
 * here are checked against each other by the checks in ./checks/, then assembled by ./parse.ts.
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
    "charts",
    "images",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

export const SSH_KEY_CONFIG = "sshPrivateKey";

/**
 * The password of `images.username` at the mirrors: a key of its own, read separately and only
 * as a secret (like the SSH key), so it never passes through the plain config, its error
 * messages or the `images` map (a secret leaf there would make every `images` value a secret).
 */
export const IMAGES_PASSWORD_CONFIG = "imagesPassword";

/**
 * The passwords of the per-host accounts (`images.hosts."<host>".username`): a secret map
 * host → password, a key of its own for the same reasons as `imagesPassword`.
 */
export const IMAGES_HOST_PASSWORDS_CONFIG = "imagesHostPasswords";

/**
 * Config namespaces the program reads besides its own: the providers it declares resources of
 * (their settings, e.g. `vsphere:vsphereServer`, `azure-native:location`, `kubernetes:…`) and
 * Pulumi's own (`pulumi:tags`, `pulumi:disable-default-providers`). A key in any other namespace
 * reaches nothing, so it is refused: `k8s-platfrom:metallb` would silently drop MetalLB.
 * test/config.test.ts keeps this list equal to the providers the program imports.
 */
export const OTHER_NAMESPACES = ["vsphere", "azure-native", "kubernetes", "command", "tls", "random", "pulumi"] as const;


export const show = (value: unknown): string => (value === undefined ? "nothing" : JSON.stringify(value));

/**
 * A value as a wrong-type message shows it, with what YAML made of it: `"yes"`, `the number 1.3`,
 * `a map {"a":1}`, `a list [1]`. Long values are cut: the message is about the key, not the data.
 */
export function describeValue(value: unknown): string {
    const text = show(value);
    const cut = text.length > 80 ? `${text.slice(0, 77)}...` : text;
    if (value === null) return "null (an empty YAML value)";
    if (typeof value === "number") return `the number ${cut}`;
    if (typeof value === "boolean") return `the boolean ${cut}`;
    if (Array.isArray(value)) return `a list ${cut}`;
    if (typeof value === "object") return `a map ${cut}`;
    return cut;
}

/**
 * YAML reads unquoted digits as a number (and `1.30` as 1.3): where text is expected, say to quote it.
 * `example` is what the quoted value looks like.
 */
export function quoteHint(value: unknown, example?: string): string {
    if (typeof value !== "number" && typeof value !== "boolean") return "";
    const sample = example ?? `"${String(value)}"`;
    const reading = typeof value === "number" ? "unquoted digits as a number (1.30 becomes 1.3)" : "an unquoted true/false as a boolean";
    return `; YAML reads ${reading}: quote the value, e.g. ${sample}`;
}

/** A strict object: unknown keys are refused with the list of allowed ones (catches typos). */
function strict<T extends z.ZodRawShape>(shape: T) {
    return z.strictObject(shape, {
        error: (iss) =>
            iss.code === "unrecognized_keys"
                ? `unknown key ${iss.keys.map((k) => `"${k}"`).join(", ")}; allowed keys: ${Object.keys(shape).join(", ")}`
                : `expected a map of keys (${Object.keys(shape).join(", ")}), got ${describeValue(iss.input)}`,
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

/** A name kubeadm accepts in apiServer.certSANs (its ValidateCertSANs: net.ts isKubeadmCertSan). */
const certSan = z.string({ error: (iss) => `expected a host name or IP address string, got ${describeValue(iss.input)}` }).refine(isKubeadmCertSan, {
    error: (iss) =>
        `${show(iss.input)} is not a name kubeadm accepts in a certificate (its ValidateCertSANs); allowed: a lowercase DNS name (letters a-z, digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters, e.g. "api.example.com"), a wildcard "*." followed by such a name, or an IPv4/IPv6 address`,
});

/** A whole number in [min, max]; every failure names the value and the range. */
const intRange = (min: number, max: number, what: string) => {
    const error = (iss: { input?: unknown }) =>
        typeof iss.input === "number"
            ? `${show(iss.input)} is not ${what} (${min}-${max})`
            : `expected a whole number from ${min} to ${max} (${what}), got ${describeValue(iss.input)}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const port = intRange(1, 65535, "a TCP port");

const positiveInt = (what: string) =>
    z.number({ error: (iss) => `expected a whole number of ${what}, got ${describeValue(iss.input)}` }).int({ error: `expected a whole number of ${what}` }).positive({ error: (iss) => `${show(iss.input)} ${what}: must be at least 1` });

const choice = <T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { error: (iss) => `${show(iss.input)} is not allowed; allowed values: ${values.join(", ")}` });

const kubernetesVersion = z
    .string({ error: (iss) => `expected a version string such as "1.35", got ${describeValue(iss.input)}${quoteHint(iss.input, 'version: "1.35"')}` })
    .regex(/^1\.\d{1,2}(\.\d{1,3})?$/, {
        error: (iss) => `${show(iss.input)} is not a Kubernetes version; allowed: "1.MINOR" or "1.MINOR.PATCH" (no "v" prefix), e.g. "1.35" or "1.35.2"`,
    });

const sizeSchema = strict({
    cpus: positiveInt("CPUs").optional(),
    memoryMb: positiveInt("MB of memory").optional(),
    diskGb: positiveInt("GB of disk").optional(),
});

/**
 * Day-2 maintenance of the control planes (issue 16): scheduled etcd snapshots and kubeadm
 * certificate renewal, both as systemd timers installed on every control plane.
 */
const absolutePath = z
    .string({ error: (iss) => `expected an absolute directory path, got ${show(iss.input)}` })
    .regex(/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/, { error: (iss) => `${show(iss.input)} is not an absolute directory path (letters, digits, ".", "_", "-", "/")` });
/** A systemd calendar expression (systemd.time(7), OnCalendar=). Only its characters are checked
 * here (it lands in a unit file); the node checks it with `systemd-analyze calendar` before use. */
const onCalendar = z
    .string({ error: (iss) => `expected a systemd OnCalendar expression such as "daily", got ${show(iss.input)}` })
    .regex(/^[A-Za-z0-9*:.,/~+ -]{1,100}$/, {
        error: (iss) => `${show(iss.input)} is not a systemd OnCalendar expression (e.g. "daily", "*-*-* 02:30:00", "Mon..Fri 03:00"; letters, digits and * : . , / ~ + - space)`,
    });
export const etcdBackupSchema = strict({
    /** Scheduled snapshots on every control plane. */
    enabled: z.boolean().default(true),
    schedule: onCalendar.default("daily"),
    /** Where each control plane keeps its snapshots (on its own disk). */
    directory: absolutePath.default("/var/backups/etcd"),
    /** Snapshots kept per control plane and kind (scheduled, before-removal, ...). */
    retention: intRange(1, 1000, "a number of snapshots").default(7),
    /** Also copy each snapshot to the NFS share (needs nfs.enabled). */
    nfs: z.boolean().default(false),
});
export const certRenewalSchema = strict({
    /** A daily timer renews kubeadm's certificates when one expires within thresholdDays. */
    enabled: z.boolean().default(true),
    thresholdDays: intRange(2, 180, "a number of days").default(60),
});

/** How the API endpoint of several control planes is provided (kubernetes.controlPlaneEndpoint.mode). */
export const ENDPOINT_MODES = ["haproxy", "kube-vip"] as const;
export type EndpointMode = (typeof ENDPOINT_MODES)[number];
const ENDPOINT_FORMS = `"host" or "host:port" (a load balancer or DNS name of your own), {mode: "haproxy"} or {mode: "kube-vip", address: "<virtual IP>"[, interface: "<NIC>"]}`;
/** The union's message: a wrong mode named as such, anything else with the allowed forms. */
function endpointError(iss: { input?: unknown }): string {
    const value = iss.input;
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "mode" in value) {
        const mode = (value as { mode: unknown }).mode;
        if (!(ENDPOINT_MODES as readonly unknown[]).includes(mode)) {
            return `mode ${describeValue(mode)} is not allowed; allowed modes: ${ENDPOINT_MODES.join(", ")} (keepalived is not implemented)`;
        }
    }
    return `expected ${ENDPOINT_FORMS}, got ${describeValue(value)}`;
}

export const upgradeSchema = strict({
    /** Workers upgraded (drained) at once; control planes always go one at a time. */
    maxUnavailable: intRange(1, 1000, "a number of workers").default(1),
});

const kubernetesSchema = strict({
    /** Left unset, a new cluster gets KUBERNETES_VERSION and an existing one keeps the version it
     * runs (recorded in the stack's outputs): a moved default never upgrades a cluster. */
    version: kubernetesVersion.optional(),
    /** How a change of `version` rolls out (README "Upgrading Kubernetes"). */
    upgrade: upgradeSchema.prefault({}),
    podSubnet: cidr.default("10.244.0.0/16"),
    serviceSubnet: cidr.default("10.96.0.0/12"),
    dnsDomain: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: (iss) => `${show(iss.input)} is not a DNS domain (lowercase letters, digits, '-' and '.', e.g. "cluster.local")` })
        .default("cluster.local"),
    controlPlaneEndpoint: z
        .union(
            [
                z.string().refine(isKubeadmHostPort, {
                    error: (iss) => `${show(iss.input)} is not "host" or "host:port" as kubeadm takes it: an IP address or a lowercase DNS name (a-z, 0-9, "-", "."), and a port from 1 to 65535`,
                }),
                strict({
                    mode: choice(ENDPOINT_MODES),
                    /** kube-vip: the virtual IP (in network.cidr, no machine's address, outside MetalLB's pool). */
                    address: ipv4.optional(),
                    /** kube-vip: the interface it announces the VIP on (default: the default route's). */
                    interface: z
                        .string({ error: (iss) => `expected a network interface name, got ${describeValue(iss.input)}` })
                        .regex(/^[A-Za-z0-9_.:@-]{1,15}$/, { error: (iss) => `${show(iss.input)} is not a network interface name (1-15 letters, digits, "_", ".", ":", "@", "-")` })
                        .optional(),
                }),
            ],
            { error: endpointError },
        )
        .optional(),
    /** Extra names in every control plane's API server certificate: refused here when kubeadm would
     * refuse them (net.ts isKubeadmCertSan), since a change reaches running nodes (apiserver-certs.sh). */
    apiServerCertSANs: z
        .array(certSan, { error: (iss) => `expected a list of host names or IP addresses (e.g. ["api.example.com", "192.168.1.50"]), got ${describeValue(iss.input)}` })
        .default([]),
    /** The control plane that runs `kubeadm init`; fixed for the life of the cluster. */
    bootstrapNode: dnsLabel.optional(),
    /** Which interface flanneld uses (default: the one that reaches the control-plane endpoint). */
    podNetworkInterface: z
        .union([strict({ canReach: z.string().min(1) }), strict({ name: z.string().min(1) }), strict({ regex: z.string().min(1) })], {
            error: (iss) => `expected one of {canReach: "<address>"}, {name: "<interface>"} or {regex: "<interface regex>"}, got ${describeValue(iss.input)}`,
        })
        .optional(),
    etcdBackup: etcdBackupSchema.prefault({}),
    certRenewal: certRenewalSchema.prefault({}),
});

const vsphereSchema = strict({
    datacenter: z.string().min(1),
    computeCluster: z.string().min(1).optional(),
    resourcePool: z.string().min(1).optional(),
    datastore: z.string().min(1),
    network: z.string().min(1),
    /** VM folder path below the datacenter's VM root, e.g. "k8s/dev"; created unless folderExists. */
    folder: z
        .string()
        .regex(/^[^/]+(\/[^/]+)*$/, { error: (iss) => `${show(iss.input)} is not a folder path (names separated by "/", no leading or trailing "/")` })
        .optional(),
    /** The folder exists already (made by hand or another stack): the program does not declare it. */
    folderExists: z.boolean().default(false),
    template: z.string().min(1),
    /** Linked clones share the template's disk: their disks are exactly the template's. */
    linkedClone: z.boolean().default(false),
    /** Existing VMs to adopt instead of cloning: host name → the VM's inventory path
     * ("/<datacenter>/vm/<folder>/<name>"), passed as the `import` resource option. */
    adopt: z.record(z.string(), z.string().regex(/^\//, { error: (iss) => `${show(iss.input)} is not a VM inventory path (expected "/<datacenter>/vm/[<folder>/]<name>")` })).default({}),
    domain: z.string().default("local"),
    controlPlaneSize: sizeSchema.prefault({}),
    workerSize: sizeSchema.prefault({}),
    storageSize: sizeSchema.prefault({}),
    loadBalancerSize: sizeSchema.prefault({}),
});

const vmSize = z.string({ error: (iss) => `expected an Azure VM size, got ${show(iss.input)}` }).regex(/^Standard_[A-Za-z0-9]+(_[A-Za-z0-9]+)*$/, {
    error: (iss) => `${show(iss.input)} is not an Azure VM size (expected e.g. "Standard_D2s_v3")`,
});

/**
 * The ingress controllers `ingress.controller` chooses from: ingress-nginx (the design's, retired
 * upstream in March 2026) and Traefik Proxy (maintained; serves the same Ingress objects).
 */
export const INGRESS_CONTROLLERS = ["ingress-nginx", "traefik"] as const;
export type IngressControllerKind = (typeof INGRESS_CONTROLLERS)[number];

export const OS_DISK_TYPES = ["Premium_LRS", "Premium_ZRS", "StandardSSD_LRS", "StandardSSD_ZRS", "Standard_LRS"] as const;
export type OsDiskType = (typeof OS_DISK_TYPES)[number];

const azureSchema = strict({
    location: z.string().min(1),
    resourceGroupName: z.string().min(1).optional(),
    /** Public DNS labels of the nodes: <prefix>-<node>.<location>.cloudapp.azure.com (default:
     * k8sp-<stack>-<random suffix kept in state>). */
    dnsLabelPrefix: z.string().regex(/^[a-z][a-z0-9-]{0,60}$/, { error: (iss) => `${show(iss.input)} is not a DNS label prefix (a lowercase letter, then lowercase letters, digits, '-')` }).optional(),
    /** Networks allowed to reach SSH and the API server. */
    adminCidrs: z.array(z.string()).default([]),
    allowSshFromAnywhere: z.boolean().default(false),
    /** publicIp: every node has a public IP; bastion: private nodes reached through ssh.bastion. */
    access: choice(["publicIp", "bastion"] as const).default("publicIp"),
    /** Give each VM a host key generated by the program (cloud-init) and pin it. VMs created
     * before this setting existed do not have it: set false there (custom data is fixed at creation). */
    pinHostKeys: z.boolean().default(true),
    adminUser: z
        .string()
        .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: (iss) => `${show(iss.input)} is not a Linux user name (a lowercase letter or '_', then lowercase letters, digits, '_', '-'; at most 32)` })
        .default("azureuser"),
    controlPlaneSize: vmSize.default("Standard_D2s_v3"),
    workerSize: vmSize.default("Standard_D2s_v3"),
    osDiskGb: positiveInt("GB of disk").default(50),
    /** Default: Premium_LRS when every VM size takes premium storage, else StandardSSD_LRS. */
    osDiskType: choice(OS_DISK_TYPES).optional(),
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
    /** Nodes of the managed pool `nodes` (an AgentPool: scaled in place). */
    nodeCount: intRange(1, 1000, "a node count").default(3),
    /** Nodes of the inline system pool, fixed when the cluster is created (AKS needs one). */
    systemNodeCount: intRange(1, 1000, "a node count").default(1),
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

/** An SSH host public key in authorized_keys form ("ssh-ed25519 AAAA…"): pins the host's identity. */
export const hostKey = z
    .string({ error: (iss) => `expected an SSH public host key string, got ${show(iss.input)}` })
    .regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|rsa-sha2-(256|512)) [A-Za-z0-9+/]+={0,3}( .*)?$/, {
        error: (iss) =>
            `${show(iss.input)} is not an SSH public host key (expected "ssh-ed25519 AAAA…" as in /etc/ssh/ssh_host_ed25519_key.pub or \`ssh-keyscan -t ed25519 <host>\`)`,
    });

const nodeSchema = strict({
    name: dnsLabel,
    ip: ipv4,
    role: roleSchema,
    sshUser: z.string().min(1).optional(),
    sshPort: port.optional(),
    hostKey: hostKey.optional(),
    cpus: positiveInt("CPUs").optional(),
    memoryMb: positiveInt("MB of memory").optional(),
    diskGb: positiveInt("GB of disk").optional(),
});

const sshSchema = strict({
    user: z.string().min(1).default("root"),
    port: port.default(22),
    /** Jump host for nodes that are not reachable directly. */
    bastion: strict({ host: z.string().min(1), port: port.default(22), user: z.string().min(1).optional(), hostKey: hostKey.optional() }).optional(),
    /** How many times a command dials a host before it fails: 40 × 15 s covers a booting VM; lower
     * it to give up sooner on a host that is gone. */
    dialErrorLimit: intRange(1, 1000, "a number of dial attempts").default(40),
});

const osSchema = strict({
    firewall: choice(["disabled", "open"] as const).default("disabled"),
    httpProxy: z.string().optional(),
    httpsProxy: z.string().optional(),
    noProxy: z.string().optional(),
    kubernetesRepoBase: z.url().default("https://pkgs.k8s.io/core:/stable:"),
    containerdRepoUrl: z.url().default("https://download.docker.com/linux/centos/docker-ce.repo"),
    /** Docker's apt repository (key at <url>/gpg), used on Ubuntu only when the archive's
     * containerd is too old for the Kubernetes minor. */
    containerdAptRepoUrl: z.url().default("https://download.docker.com/linux/ubuntu"),
});

/** A host for an add-on: an existing cluster node by name, or a host of its own. */
export const hostRefSchema = z.union(
    [
        strict({ node: dnsLabel }),
        strict({
            name: dnsLabel,
            ip: ipv4,
            sshUser: z.string().min(1).optional(),
            /** vm: the program creates it (vSphere); existing: it already runs a supported OS. */
            provision: choice(["vm", "existing"] as const).optional(),
            hostKey: hostKey.optional(),
            cpus: positiveInt("CPUs").optional(),
            memoryMb: positiveInt("MB of memory").optional(),
            diskGb: positiveInt("GB of disk").optional(),
        }),
    ],
    { error: (iss) => `expected {node: "<cluster node name>"} or {name, ip[, sshUser, provision]} for a host of its own, got ${describeValue(iss.input)}` },
);

const nodePort = intRange(30000, 32767, "in the NodePort range");

/** A volume size as Kubernetes reads it, in binary units only (what the NFS volumes are sized in). */
const quantity = z
    .string({ error: (iss) => `expected a size string such as "10Gi", got ${describeValue(iss.input)}` })
    .regex(/^\d+(Mi|Gi|Ti)$/, {
        error: (iss) => `${show(iss.input)} is not a size in Mi, Gi or Ti (a whole number and the unit, e.g. "10Gi"; "GB" is not a Kubernetes unit)`,
    });

const addonSchemas = {
    domain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: (iss) => `${show(iss.input)} is not a DNS domain` }).default("localtest.com"),
    ingress: strict({
        enabled: z.boolean().default(true),
        controller: choice(INGRESS_CONTROLLERS).default("ingress-nginx"),
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
        size: quantity.default("10Gi"),
    }).prefault({}),
    testApp: strict({
        enabled: z.boolean().default(true),
        replicas: positiveInt("replicas").default(3),
        size: quantity.default("1Gi"),
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

export /** Where the pinned Helm charts come from: their public repositories (default), an internal Helm
 * repository mirroring them, or a directory of `helm pull` archives (air-gapped sites). */
const chartsSchema = z.union(
    [
        strict({ repository: z.url({ error: (iss) => `${show(iss.input)} is not a URL of a Helm repository` }) }),
        strict({
            directory: z.string().regex(/^\//, { error: (iss) => `${show(iss.input)} is not an absolute directory path` }),
        }),
        strict({}),
    ],
    { error: (iss) => `expected {repository: "<Helm repository URL>"} or {directory: "<absolute path of the chart archives>"}, got ${describeValue(iss.input)}` },
);

/** A registry prefix that mirrors a source registry (config/images.ts). */
const mirrorPrefix = z
    .string({ error: (iss) => `expected a registry prefix string such as "harbor.example.com/k8s", got ${describeValue(iss.input)}` })
    .superRefine((value, ctx) => {
        const problem = mirrorPrefixProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/** The PEM text of a mirror CA (checked in ./checks/images.ts). */
const mirrorCaCert = z
    .string({ error: (iss) => `expected the PEM text of the mirrors' CA certificate ("-----BEGIN CERTIFICATE-----" …), got ${describeValue(iss.input)}` })
    .optional();
/** A registry account's user name (checked in ./checks/images.ts). */
const mirrorUsername = z
    .string({ error: (iss) => `expected the mirrors' user name as a string, got ${describeValue(iss.input)}${quoteHint(iss.input)}` })
    .optional();

/**
 * One mirror host's own settings (`images.hosts."<host[:port]>"`, k3s registries.yaml
 * `configs.<host>`): its CA, its account (the password in the secret `imagesHostPasswords`) and
 * `skipVerify`. Checked against the mirrors in ./checks/images.ts.
 */
const mirrorHostSchema = strict({
    caCert: mirrorCaCert,
    username: mirrorUsername,
    skipVerify: z
        .boolean({ error: (iss) => `expected true or false (containerd's skip_verify: pull without verifying the host's certificate), got ${describeValue(iss.input)}` })
        .optional(),
});

/**
 * Air-gapped sites (issue 16 §4): where images are pulled from. `registry` mirrors every source
 * registry under one prefix (Kubespray's `registry_host`); `mirrors` gives a source its own
 * prefix (k3s registries.yaml `mirrors`), and wins over `registry`. The sources are checked in
 * ./checks/images.ts.
 */
export const imagesSchema = strict({
    registry: mirrorPrefix.optional(),
    mirrors: z
        .record(z.string(), mirrorPrefix, { error: (iss) => `expected a map of source registry → mirror prefix, e.g. {"registry.k8s.io": "harbor.example.com/k8s"}, got ${describeValue(iss.input)}` })
        .default({}),
    /** PEM certificate(s) every mirror host is trusted with besides the system store (checked in
     * ./checks/images.ts). */
    caCert: mirrorCaCert,
    /** The account pulls from every mirror use; its password is the secret `imagesPassword`. */
    username: mirrorUsername,
    /** Per mirror host (`host[:port]`): its own CA, account and skipVerify, instead of the
     * stack-wide `caCert`/`username`. */
    hosts: z
        .record(z.string(), mirrorHostSchema, {
            error: (iss) => `expected a map of mirror host → its settings, e.g. {"harbor.example.com": {caCert: "-----BEGIN CERTIFICATE-----…", username: "robot$k8s"}}, got ${describeValue(iss.input)}`,
        })
        .default({}),
});

export const rawSchema = z.object({
    kubernetes: kubernetesSchema.prefault({}),
    infra: infraSchema,
    network: networkSchema,
    nodes: z
        .array(nodeSchema, { error: (iss) => `expected a list of nodes ("- name: …" entries), got ${describeValue(iss.input)}` })
        .default([]),
    ssh: sshSchema.prefault({}),
    os: osSchema.prefault({}),
    charts: chartsSchema.default({}),
    images: imagesSchema.prefault({}),
    ...addonSchemas,
});

export type Raw = z.output<typeof rawSchema>;
export type HostRef = z.output<typeof hostRefSchema>;

export type NodeRole = z.output<typeof roleSchema>;
export type VsphereConfig = z.output<typeof vsphereSchema>;
export type AzureConfig = z.output<typeof azureSchema>;
export type AksConfig = z.output<typeof aksSchema>;
export type OsConfig = z.output<typeof osSchema>;
export type ChartsConfig = z.output<typeof chartsSchema>;
export type CertRenewalConfig = z.output<typeof certRenewalSchema>;
