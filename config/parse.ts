import { checkInfra, defaultOsDiskType } from "./checks/infra";
import { checkNetworks } from "./checks/network";
import { resolveAddons, resolveMetallb } from "./checks/addons";
import { defaultSshUser, resolveTopology } from "./checks/nodes";
import { ConfigError, keyName } from "./errors";
import { CONFIG_KEYS, PROJECT, Raw, rawSchema, SSH_KEY_CONFIG } from "./schema";
import { PlatformConfig } from "./types";

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

/** Runs the checks, each owning one concern, then assembles the typed config. */
function buildConfig(raw: Raw, opts: { stack: string; hasSshPrivateKey: boolean }, problems: string[]): PlatformConfig {
    checkInfra(raw, opts, problems);
    checkNetworks(raw, problems);
    const topology = resolveTopology(raw, problems);
    const metallb = resolveMetallb(raw, topology.hosts, problems);
    const { registryEnabled, metricsServerEnabled } = resolveAddons(raw, problems);
    const { haproxyHost, nfsHost, haproxyFrontsApi } = topology;
    const defaultUser = defaultSshUser(raw);

    const [major, minor] = raw.kubernetes.version.split(".");
    const b = raw.ssh.bastion;
    const bastion = b ? { host: b.host, port: b.port, user: b.user ?? defaultUser, ...(b.hostKey ? { hostKey: b.hostKey } : {}) } : undefined;
    return {
        project: PROJECT,
        stack: opts.stack,
        kubernetes: {
            version: raw.kubernetes.version,
            minor: `${major}.${minor}`,
            podSubnet: raw.kubernetes.podSubnet,
            serviceSubnet: raw.kubernetes.serviceSubnet,
            dnsDomain: raw.kubernetes.dnsDomain,
            controlPlaneEndpoint: topology.controlPlaneEndpoint,
            apiServerCertSANs: raw.kubernetes.apiServerCertSANs,
            bootstrapNode: topology.bootstrapNode,
            // Flannel uses the default-route interface otherwise: on hosts whose NAT NIC has the same
            // address everywhere (seed 003's Vagrant boxes: 10.0.2.15), cross-node pod traffic breaks.
            podNetworkInterface: raw.kubernetes.podNetworkInterface ?? { canReach: topology.controlPlaneEndpoint.replace(/:\d+$/, "") },
        },
        infra: infraConfig(raw),
        network: raw.network,
        nodes: topology.nodes,
        ssh: { bastion, dialErrorLimit: raw.ssh.dialErrorLimit },
        os: raw.os,
        charts: raw.charts,
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

