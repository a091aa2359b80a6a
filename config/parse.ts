import { checkInfra, defaultOsDiskType } from "./checks/infra";
import { checkNetworks } from "./checks/network";
import { checkNodeSoftware } from "./checks/os";
import { resolveAddons, resolveMetallb } from "./checks/addons";
import { defaultSshUser, resolveTopology } from "./checks/nodes";
import { resolveEtcdBackup } from "./checks/maintenance";
import { HostPasswordsFacts, ImagesPasswordFacts, resolveImages, withoutImagesPassword } from "./checks/images";
import { checkNamespaces, checkSshKey, SshKeyFacts } from "./checks/stack";
import { closest, ConfigError, keyName } from "./errors";
import { describeIssue } from "./issueMessage";
import { CONFIG_KEYS, IMAGES_HOST_PASSWORDS_CONFIG, IMAGES_PASSWORD_CONFIG, PROJECT, Raw, rawSchema, SSH_KEY_CONFIG } from "./schema";
import { PlatformConfig } from "./types";
import { hostAddress, parseCidr } from "./net";
import { KUBERNETES_VERSION } from "./versions";

export interface ParseOptions {
    readonly stack: string;
    /** Whether the secret `k8s-platform:sshPrivateKey` is set. */
    readonly hasSshPrivateKey: boolean;
    /** Whether it is stored as a secret and what it looks like (default: not checked). */
    readonly sshPrivateKey?: SshKeyFacts;
    /** Every config key outside the project's namespace, "namespace:key" (default: none). */
    readonly otherKeys?: readonly string[];
    /** Facts about the secret `k8s-platform:imagesPassword` when it is set (default: not set). */
    readonly imagesPassword?: ImagesPasswordFacts;
    /** Facts about the secret `k8s-platform:imagesHostPasswords` when it is set (default: not set). */
    readonly imagesHostPasswords?: HostPasswordsFacts;
}

/**
 * Validates raw stack config (the values of `k8s-platform:*`, objects already parsed) into a
 * `PlatformConfig`. `hasSshPrivateKey` says whether the secret `k8s-platform:sshPrivateKey` is set:
 * the key itself never passes through here, so it never appears in an error message.
 */
export function parseConfig(raw: Record<string, unknown>, opts: ParseOptions): PlatformConfig {
    const allowed = [...CONFIG_KEYS, SSH_KEY_CONFIG, IMAGES_PASSWORD_CONFIG, IMAGES_HOST_PASSWORDS_CONFIG];
    const unknownKeys = Object.keys(raw).filter((k) => !(allowed as string[]).includes(k));
    const problems: string[] = unknownKeys.map((k) => {
        const guess = closest(k, allowed);
        return `${PROJECT}:${k}: unknown key${guess ? ` (did you mean ${PROJECT}:${guess}?)` : ""}; allowed keys: ${allowed.join(", ")}`;
    });
    checkNamespaces(opts.otherKeys ?? [], problems);
    if (opts.sshPrivateKey) {
        checkSshKey(opts.sshPrivateKey, problems);
    }
    // zod 4 leaves the input out of an issue unless `reportInput` (core/util.js `finalizeIssue`):
    // without it every wrong type looked like a missing key.
    const parsed = rawSchema.safeParse(withoutImagesPassword(raw, problems), { reportInput: true, error: describeIssue });
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            // A missing key fails as a wrong type or value whose input is undefined.
            const missing = ["invalid_type", "invalid_value", "invalid_union"].includes(issue.code) && "input" in issue && issue.input === undefined;
            problems.push(`${keyName(issue.path)}: ${missing ? "is required" : issue.message}`);
        }
        throw new ConfigError(problems);
    }
    const config = buildConfig(parsed.data, opts, problems);
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return config;
}

/** Runs the checks, each owning one concern, then assembles the typed config. */
function buildConfig(raw: Raw, opts: ParseOptions, problems: string[]): PlatformConfig {
    checkInfra(raw, opts, problems);
    checkNetworks(raw, problems);
    checkNodeSoftware(raw, problems);
    const topology = resolveTopology(raw, problems);
    const metallb = resolveMetallb(raw, topology.hosts, problems);
    const { registryEnabled, metricsServerEnabled } = resolveAddons(raw, problems);
    const { haproxyHost, nfsHost, haproxyFrontsApi } = topology;
    const defaultUser = defaultSshUser(raw);
    const etcdBackup = resolveEtcdBackup(raw, nfsHost, problems);
    const images = resolveImages(raw, registryEnabled, problems, opts.imagesPassword, opts.imagesHostPasswords);

    const version = raw.kubernetes.version ?? KUBERNETES_VERSION;
    const [major, minor] = version.split(".");
    const b = raw.ssh.bastion;
    const bastion = b ? { host: b.host, port: b.port, user: b.user ?? defaultUser, ...(b.hostKey ? { hostKey: b.hostKey } : {}) } : undefined;
    return {
        project: PROJECT,
        stack: opts.stack,
        kubernetes: {
            version,
            versionSet: raw.kubernetes.version !== undefined,
            upgrade: raw.kubernetes.upgrade,
            minor: `${major}.${minor}`,
            podSubnet: raw.kubernetes.podSubnet,
            serviceSubnet: raw.kubernetes.serviceSubnet,
            dnsDomain: raw.kubernetes.dnsDomain,
            controlPlaneEndpoint: topology.controlPlaneEndpoint,
            endpointMode: topology.endpointMode,
            ...(topology.kubeVip ? { kubeVip: topology.kubeVip } : {}),
            apiServerCertSANs: raw.kubernetes.apiServerCertSANs,
            bootstrapNode: topology.bootstrapNode,
            // Flannel uses the default-route interface otherwise: on hosts whose NAT NIC has the same
            // address everywhere (seed 003's Vagrant boxes: 10.0.2.15), cross-node pod traffic breaks.
            podNetworkInterface: raw.kubernetes.podNetworkInterface ?? defaultPodNetworkInterface(raw, topology),
            etcdBackup,
            certRenewal: raw.kubernetes.certRenewal,
        },
        infra: infraConfig(raw),
        network: raw.network,
        nodes: topology.nodes,
        ssh: { bastion, dialErrorLimit: raw.ssh.dialErrorLimit },
        os: raw.os,
        charts: raw.charts,
        images,
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

/**
 * Flannel's interface when the config names none: the one that reaches the control-plane endpoint,
 * unless that address is local on a node Flannel runs on. flanneld's --iface-can-reach takes the
 * interface of the kernel's route to the address (flannel v0.27.4 pkg/ip/iface.go
 * GetInterfaceBySpecificIPRouting: netlink.RouteGet, the first route's LinkIndex), and on the host
 * that owns the address that route is the local one, `dev lo` (`ip route get <own address>`:
 * "local … dev lo"; test/e2e/flannel-interface.test.ts asks the real kernel): VXLAN bound to lo, so
 * no pod traffic leaves that node. That is the one control plane whose IP is the endpoint (seed
 * 003's lab), and kube-vip's holder. Then: the interface kube-vip names, else the one reaching the
 * gateway, else an address of the node network that no node owns (the connected route's NIC; no
 * host needs to answer there: a route lookup sends nothing).
 */
function defaultPodNetworkInterface(raw: Raw, topology: ReturnType<typeof resolveTopology>): PlatformConfig["kubernetes"]["podNetworkInterface"] {
    if (topology.kubeVip?.interface) return { name: topology.kubeVip.interface };
    const endpointHost = topology.controlPlaneEndpoint.replace(/:\d+$/, "");
    const localOnANode = new Set([...topology.nodes.map((n) => n.ip), ...(topology.kubeVip ? [topology.kubeVip.address] : [])]);
    if (!topology.kubeVip && !localOnANode.has(endpointHost)) {
        return { canReach: endpointHost };
    }
    return { canReach: raw.network.gateway ?? unownedNodeNetworkAddress(raw.network.cidr, localOnANode) ?? endpointHost };
}

/** The first host address of the node network that is none of `owned` (undefined when all are). */
function unownedNodeNetworkAddress(cidrText: string, owned: ReadonlySet<string>): string | undefined {
    const cidr = parseCidr(cidrText);
    if (!cidr) return undefined;
    const hosts = 2 ** (32 - cidr.prefix) - 2;
    for (let n = 1; n <= Math.min(hosts, 1024); n++) {
        const candidate = hostAddress(cidr, n);
        if (!owned.has(candidate)) return candidate;
    }
    return undefined;
}

function infraConfig(raw: Raw): PlatformConfig["infra"] {
    const infra = raw.infra;
    switch (infra.provider) {
        case "vsphere":
            return { provider: "vsphere", vsphere: infra.vsphere! };
        case "azure":
            return {
                provider: "azure",
                azure: {
                    ...infra.azure!,
                    osDiskType: infra.azure!.osDiskType ?? defaultOsDiskType(infra.azure!),
                },
            };
        case "aks":
            // No resource group default here: the stack derives it from its name kept in state (stacks/names.ts).
            return { provider: "aks", aks: { ...infra.aks! } };
        default:
            return { provider: "existing" };
    }
}

