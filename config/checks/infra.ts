import { configKey as k, Problems } from "../errors";
import { cidrContains, cidrsOverlap, parseCidr } from "../net";
import { AzureConfig, Raw, show, SSH_KEY_CONFIG } from "../schema";

/**
 * Checks of the infrastructure section: the SSH key where the program reaches nodes over SSH, and
 * the settings each provider (vSphere, Azure, AKS) needs or refuses.
 */
export function checkInfra(raw: Raw, opts: { hasSshPrivateKey: boolean }, problems: Problems): void {
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
    if (provider === "vsphere" && raw.infra.vsphere) {
        checkVsphere(raw, raw.infra.vsphere, problems);
    }
    for (const cloud of ["azure", "aks"] as const) {
        if (provider === cloud && !raw.infra[cloud]) {
            problems.push(`${k(`infra.${cloud}`)}: is required when infra.provider is "${cloud}"`);
        }
    }
    if (provider === "azure" && raw.infra.azure) {
        checkAzure(raw, raw.infra.azure, problems);
    }
    if (managed) {
        checkManagedRefusals(raw, problems);
    }
    if (provider === "aks" && raw.infra.aks) {
        checkAks(raw, raw.infra.aks, problems);
    }
}

/**
 * The provider waits for a routable guest network after cloning (waitForGuestNetRoutable,
 * default true: "the waiter ... waits for a default gateway", pulumi-vsphere 4.17.0 schema): a
 * static IP without a gateway times every creation out after 5 minutes.
 */
function checkVsphere(raw: Raw, vsphere: NonNullable<Raw["infra"]["vsphere"]>, problems: Problems): void {
    if (!raw.network.gateway) {
        problems.push(
            `${k("network.gateway")}: is required on vSphere: the provider waits for a default route in the guest after cloning ` +
                `(waitForGuestNetRoutable), so a VM customised without a gateway never finishes creating; set the node network's gateway, e.g. "192.168.111.2"`,
        );
    }
    if (raw.network.dnsServers.length === 0) {
        problems.push(
            `${k("network.dnsServers")}: is required on vSphere: guest customization writes the VMs' resolvers, and without one the nodes ` +
                `cannot resolve the package and image registries; list at least one, e.g. ["192.168.111.2"]`,
        );
    }
    const vmHosts = [...raw.nodes.map((n) => n.name), ...[raw.haproxy.host, raw.nfs.host].flatMap((h) => (h && "name" in h && h.provision !== "existing" ? [h.name] : []))];
    for (const host of Object.keys(vsphere.adopt)) {
        if (!vmHosts.includes(host)) {
            problems.push(`${k(`infra.vsphere.adopt.${host}`)}: ${show(host)} is not a VM of this stack; VMs: ${vmHosts.join(", ")}`);
        }
    }
}

/**
 * Names Azure refuses as `adminUsername` (Compute API: "Disallowed values"), and why it matters:
 * the VM create call fails after the network is already in place.
 */
export const AZURE_RESERVED_USERS = [
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a", "actuser", "adm",
    "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root", "server", "sql", "support",
    "support_388945a0", "sys", "test2", "test3", "user4", "user5",
];

/**
 * Whether a VM size takes premium SSDs. Azure's size naming: "s = Premium Storage capable"
 * (learn.microsoft.com, "Azure virtual machine sizes naming conventions", additive features);
 * the older DS/GS series carry it in the family name, and every M-series size supports it.
 */
export function premiumStorageCapable(size: string): boolean {
    const match = /^Standard_([A-Z]+)(\d+)(?:-\d+)?([a-z]*)(?:_.*)?$/.exec(size);
    if (!match) return false;
    const [, family, , features] = match;
    return features.includes("s") || ["DS", "GS", "M"].includes(family);
}

export function defaultOsDiskType(azure: AzureConfig): "Premium_LRS" | "StandardSSD_LRS" {
    return premiumStorageCapable(azure.controlPlaneSize) && premiumStorageCapable(azure.workerSize) ? "Premium_LRS" : "StandardSSD_LRS";
}

/** Azure public DNS labels: unique in the region, at most 63 characters, `^[a-z][a-z0-9-]{1,61}[a-z0-9]$`. */
const RANDOM_SUFFIX_LENGTH = 6;
function checkDnsLabels(raw: Raw, azure: AzureConfig, problems: Problems): void {
    if (azure.access !== "publicIp") return;
    const prefix = azure.dnsLabelPrefix ?? `k8sp-${"x".repeat(RANDOM_SUFFIX_LENGTH)}`;
    const key = azure.dnsLabelPrefix ? k("infra.azure.dnsLabelPrefix") : k("nodes");
    raw.nodes.forEach((node, i) => {
        const label = `${prefix}-${node.name}`;
        if (label.length > 63) {
            problems.push(
                `${key}: the public DNS label ${show(label)} of nodes[${i}] (${node.name}) has ${label.length} characters; Azure allows at most 63 ` +
                    `(<dnsLabelPrefix>-<node name>): shorten infra.azure.dnsLabelPrefix or the node name`,
            );
        }
    });
}

function checkAzure(raw: Raw, azure: AzureConfig, problems: Problems): void {
    checkAdminCidrs(azure, problems);
    checkDnsLabels(raw, azure, problems);
    if (AZURE_RESERVED_USERS.includes(azure.adminUser.toLowerCase())) {
        problems.push(
            `${k("infra.azure.adminUser")}: ${show(azure.adminUser)} is a name Azure refuses for a VM's admin user (reserved: ` +
                `${AZURE_RESERVED_USERS.join(", ")}); pick another, e.g. "azureuser"`,
        );
    }
    if (azure.osDiskType?.startsWith("Premium")) {
        for (const key of ["controlPlaneSize", "workerSize"] as const) {
            if (!premiumStorageCapable(azure[key])) {
                problems.push(
                    `${k("infra.azure.osDiskType")}: ${show(azure.osDiskType)} needs a premium-storage-capable VM size, but infra.azure.${key} ` +
                        `is ${show(azure[key])} (sizes with an "s" feature letter, e.g. Standard_D2s_v3, take premium disks); ` +
                        `use StandardSSD_LRS or a size with "s"`,
                );
            }
        }
    }
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

/** SSH and the API server must not be open to the internet unless the stack says so explicitly. */
function checkAdminCidrs(azure: AzureConfig, problems: Problems): void {
    const key = k("infra.azure.adminCidrs");
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

/** What AKS does itself (nodes, load balancers, storage, metrics) cannot also be configured. */
function checkManagedRefusals(raw: Raw, problems: Problems): void {
    const refuse = (key: string, why: string) => problems.push(`${k(key)}: ${why}`);
    if (raw.nodes.length > 0) refuse("nodes", "AKS manages its own nodes; remove the list and set infra.aks.nodeCount");
    if (raw.metallb.enabled) refuse("metallb.enabled", "AKS gives LoadBalancer Services Azure load balancer addresses; set it to false");
    if (raw.haproxy.enabled) refuse("haproxy.enabled", "AKS puts an Azure load balancer in front of ingress; set it to false");
    if (raw.nfs.enabled) refuse("nfs.enabled", `on AKS shared volumes come from the ${raw.infra.aks?.sharedStorageClass ?? "azurefile-csi"} storage class; set it to false`);
    if (raw.metricsServer.enabled) refuse("metricsServer.enabled", "AKS runs its own metrics-server (the HPA uses it); set it to false");
}

function checkAks(raw: Raw, aks: NonNullable<Raw["infra"]["aks"]>, problems: Problems): void {
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
