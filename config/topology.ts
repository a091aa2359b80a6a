import { HostSpec, PlatformConfig } from "./types";

/** Pure facts derived from the typed config, shared by the stack builders and the tools. */

/** Hosts the program must create (vSphere) or reach (existing): nodes and dedicated add-on hosts. */
export function stackHosts(config: PlatformConfig): { host: HostSpec; role: string; vm: boolean }[] {
    const onVsphere = config.infra.provider === "vsphere";
    const entries: { host: HostSpec; role: string; vm: boolean }[] = config.nodes.map((n) => ({ host: n, role: n.role, vm: onVsphere }));
    for (const [role, addon] of [["load-balancer", config.haproxy], ["storage", config.nfs]] as const) {
        if (addon.enabled && addon.host.kind === "dedicated" && !entries.some((e) => e.host.name === addon.host.host.name)) {
            entries.push({ host: addon.host.host, role, vm: addon.host.provision === "vm" });
        }
    }
    return entries;
}

/**
 * The name of kube-vip's address in the `hostsFile` output (and in the API server certificate):
 * `api.<domain>`. Only with kube-vip: otherwise the endpoint is a machine of the list (the one
 * control plane, the HAProxy host) or the user's own load balancer or DNS name.
 */
export function apiServerName(config: PlatformConfig): { ip: string; name: string } | undefined {
    const vip = config.kubernetes.kubeVip;
    return vip ? { ip: vip.address, name: `api.${config.domain}` } : undefined;
}

/** Where the platform's host names point: MetalLB's address, the HAProxy host, or a worker. */
export function ingressAddress(config: PlatformConfig): { ip: string; httpPort: number; httpsPort: number } {
    if (config.metallb.enabled) {
        return { ip: config.metallb.addresses.split("-")[0], httpPort: 80, httpsPort: 443 };
    }
    if (config.haproxy.enabled) {
        return { ip: config.haproxy.host.host.ip, httpPort: 80, httpsPort: 443 };
    }
    const worker = config.nodes.find((n) => n.role === "worker") ?? config.nodes[0];
    return { ip: worker.ip, httpPort: config.ingress.httpNodePort, httpsPort: config.ingress.httpsNodePort };
}

/**
 * Whether every address in the `hostsFile` output is in the config: on vSphere and existing hosts
 * yes; on Azure the nodes' public IPs and the ingress load balancer's address, and on AKS the
 * load balancer's, exist only once deployed.
 */
export function addressesKnownBeforeDeployment(config: PlatformConfig): boolean {
    return config.infra.provider === "vsphere" || config.infra.provider === "existing";
}
