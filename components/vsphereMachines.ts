import * as pulumi from "@pulumi/pulumi";
import { HostSpec, VsphereConfig } from "../config";
import { parseCidr } from "../config";
import * as vsphere from "./vsphere";

export interface VsphereMachinesArgs {
    /** Where and from what to clone (datacenter, cluster or pool, datastore, network, template). */
    readonly vsphere: VsphereConfig;
    /** The node network: its prefix length, gateway and DNS servers go into guest customization. */
    readonly network: { readonly cidr: string; readonly gateway?: string; readonly dnsServers: string[] };
    /** One VM per host, named after it, with its size and static IP. */
    readonly hosts: HostSpec[];
    /** Hosts whose VM `pulumi destroy` leaves in place (they hold data; default: none). */
    readonly retainOnDelete?: string[];
}

/**
 * VMs cloned from a template on vSphere (seed 000 §3-5): per-host CPUs, memory and disk, static
 * IP and hostname through guest customization. Each VM depends only on its own host entry, so
 * adding a host adds one VM and touches no other.
 */
export class VsphereMachines extends pulumi.ComponentResource {
    /** VM per host name. */
    public readonly machines: Record<string, vsphere.VirtualMachine>;

    constructor(name: string, args: VsphereMachinesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:infra:VsphereMachines", name, {}, opts);
        const v = args.vsphere;
        const lookupOpts = { parent: this };
        const datacenterId = vsphere.getDatacenter({ name: v.datacenter }, lookupOpts).id;
        const resourcePoolId = v.computeCluster
            ? vsphere.getComputeCluster({ name: v.computeCluster, datacenterId }, lookupOpts).resourcePoolId
            : vsphere.getResourcePool({ name: v.resourcePool!, datacenterId }, lookupOpts).id;
        const datastoreId = vsphere.getDatastore({ name: v.datastore, datacenterId }, lookupOpts).id;
        const networkId = vsphere.getNetwork({ name: v.network, datacenterId }, lookupOpts).id;
        const template = vsphere.getVirtualMachine({ name: v.template, datacenterId }, lookupOpts);
        const prefix = parseCidr(args.network.cidr)!.prefix;

        this.machines = {};
        for (const host of args.hosts) {
            this.machines[host.name] = new vsphere.VirtualMachine(
                `${name}-${host.name}`,
                {
                    name: host.name,
                    resourcePoolId,
                    datastoreId,
                    folder: v.folder,
                    numCpus: host.size.cpus,
                    memory: host.size.memoryMb,
                    guestId: template.guestId,
                    firmware: template.firmware,
                    scsiType: template.scsiType,
                    networkInterfaces: [{ networkId, adapterType: template.networkInterfaceTypes.apply((t) => t[0] ?? "vmxnet3") }],
                    // A clone's disk can grow but never be smaller than the template's.
                    disks: [
                        {
                            label: "disk0",
                            size: template.disks.apply((d) => Math.max(host.size.diskGb, d[0]?.size ?? 0)),
                            thinProvisioned: template.disks.apply((d) => d[0]?.thinProvisioned ?? true),
                        },
                    ],
                    clone: {
                        templateUuid: template.id,
                        linkedClone: v.linkedClone,
                        customize: {
                            linuxOptions: { hostName: host.name, domain: v.domain },
                            networkInterfaces: [{ ipv4Address: host.ip, ipv4Netmask: prefix }],
                            ipv4Gateway: args.network.gateway,
                            dnsServerLists: args.network.dnsServers,
                        },
                    },
                },
                // A new template (or its lookup changing) applies to new VMs only: re-cloning would
                // destroy a running node and its data.
                {
                    parent: this,
                    ignoreChanges: ["clone", "guestId", "firmware", "scsiType"],
                    retainOnDelete: args.retainOnDelete?.includes(host.name) ?? false,
                },
            );
        }
        this.registerOutputs({ machines: this.machines });
    }
}
