import * as pulumi from "@pulumi/pulumi";
import { Flannel } from "../components/flannel";
import { KubeadmCluster } from "../components/kubeadmCluster";
import { SshAccess } from "../components/remoteScript";
import { VsphereMachines } from "../components/vsphereMachines";
import { HostSpec, PlatformConfig } from "./config";

export interface NodeInventoryEntry {
    readonly name: string;
    readonly role: string;
    readonly ip: string;
}

export interface StackOutputs {
    /** Every machine of the stack: name, role, IP. */
    readonly nodes: NodeInventoryEntry[];
    /** https://<control-plane endpoint> */
    readonly apiEndpoint: pulumi.Input<string>;
    /** Admin kubeconfig (secret). */
    readonly kubeconfig: pulumi.Output<string>;
    /** /etc/hosts lines for every machine (and, with ingress, the platform's host names). */
    readonly hostsFile: pulumi.Input<string>;
    readonly [key: string]: unknown;
}

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

/** "IP name" lines, one per machine, aligned for reading. */
export function hostsLines(entries: { ip: string; names: string[] }[]): string {
    return entries.map((e) => `${e.ip}\t${e.names.join(" ")}`).join("\n") + "\n";
}

/** A kubeadm platform on vSphere VMs or existing hosts. */
export function buildOnPrem(config: PlatformConfig, ssh: SshAccess): StackOutputs {
    const name = config.stack;
    const hosts = stackHosts(config);
    const vmHosts = hosts.filter((h) => h.vm).map((h) => h.host);
    const machines =
        config.infra.provider === "vsphere" && vmHosts.length > 0
            ? new VsphereMachines(`${name}-vms`, { vsphere: config.infra.vsphere, network: config.network, hosts: vmHosts }).machines
            : {};

    const cluster = new KubeadmCluster(`${name}-cluster`, {
        clusterName: name,
        kubernetes: config.kubernetes,
        nodes: config.nodes,
        hostsEntries: hosts.map((h) => h.host),
        os: config.os,
        nodeNetwork: config.network.cidr,
        nfsClient: config.nfs.enabled,
        ssh,
        machines,
    });
    new Flannel(`${name}-flannel`, { podCidr: config.kubernetes.podSubnet, provider: cluster.provider });

    return {
        nodes: hosts.map((h) => ({ name: h.host.name, role: h.role, ip: h.host.ip })),
        apiEndpoint: cluster.apiEndpoint,
        kubeconfig: cluster.kubeconfig,
        hostsFile: hostsLines(hosts.map((h) => ({ ip: h.host.ip, names: [h.host.name] }))),
    };
}
