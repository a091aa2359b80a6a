import { configKey as k, Problems } from "../errors";
import { cidrContains, parseCidr, parseIpRange, rangeContains } from "../net";
import { Raw, show } from "../schema";
import { HostSpec, PlatformConfig } from "../types";

/** MetalLB (seed 002): the pool must sit in the node network and clash with no machine or gateway. */
export function resolveMetallb(raw: Raw, hosts: HostSpec[], problems: Problems): PlatformConfig["metallb"] {
    if (!raw.metallb.enabled) {
        return { enabled: false };
    }
    const nodeNet = parseCidr(raw.network.cidr)!;
    const range = raw.metallb.addresses ? parseIpRange(raw.metallb.addresses) : undefined;
    if (!raw.metallb.addresses) {
        problems.push(`${k("metallb.addresses")}: is required when metallb.enabled is true (e.g. "192.168.1.11-192.168.1.13")`);
        return { enabled: false };
    }
    if (!range) {
        problems.push(`${k("metallb.addresses")}: ${show(raw.metallb.addresses)} is not a range "first-last" of IPv4 addresses with first <= last`);
        return { enabled: false };
    }
    if (!cidrContains(nodeNet, range.first) || !cidrContains(nodeNet, range.last)) {
        problems.push(`${k("metallb.addresses")}: ${raw.metallb.addresses} is not inside network.cidr ${nodeNet.text}; layer-2 addresses must be on the node network`);
    }
    hosts.filter((h) => rangeContains(range, h.ip)).forEach((h) =>
        problems.push(`${k("metallb.addresses")}: ${raw.metallb.addresses} contains ${h.ip}, the address of ${h.name}`),
    );
    if (raw.network.gateway && rangeContains(range, raw.network.gateway)) {
        problems.push(`${k("metallb.addresses")}: ${raw.metallb.addresses} contains the gateway ${raw.network.gateway}`);
    }
    return { enabled: true, addresses: `${range.first}-${range.last}` };
}

/** Add-ons that need each other: ingress for HAProxy and the web apps, NFS for their data, metrics for the HPA. */
export function resolveAddons(raw: Raw, problems: Problems): { registryEnabled: boolean; metricsServerEnabled: boolean } {
    const managed = raw.infra.provider === "aks";
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
    return { registryEnabled, metricsServerEnabled };
}
