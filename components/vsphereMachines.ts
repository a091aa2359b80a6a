import * as pulumi from "@pulumi/pulumi";
import { heldBackBy, refusal } from "./refusals";
import { HostSpec, VsphereConfig } from "../config";
import { parseCidr } from "../config";
import { cloneDisks, templateProblems } from "./render/vsphereClone";
import { DRAIN, ResizeGuard } from "./resizeGuard";
import * as vsphere from "./vsphere";

export interface VsphereMachinesArgs {
    /** Where and from what to clone (datacenter, cluster or pool, datastore, network, template,
     * folder and whether it exists, VMs to adopt). */
    readonly vsphere: VsphereConfig;
    /** The node network: its prefix length, gateway and DNS servers go into guest customization. */
    readonly network: { readonly cidr: string; readonly gateway?: string; readonly dnsServers: string[] };
    /** One VM per host, named after it, with its size and static IP. */
    readonly hosts: HostSpec[];
    /** Hosts whose VM `pulumi destroy` leaves in place (they hold data; default: none). */
    readonly retainOnDelete?: string[];
    /** What every VM (and the folder) waits for: the change checked against the stack's record;
     * when it is refused, no VM is created, resized or adopted (default: nothing to wait for). */
    readonly gate?: pulumi.Input<unknown>;
}

/**
 * Settings that follow the template but must not change an existing VM: a new template applies
 * to new VMs only. Re-cloning would destroy a running node; the provider replaces a NIC whose
 * adapterType changes (new MAC address).
 *
 * `disks` as a whole: the disks of a running VM are never changed by a config or template change.
 * terraform-provider-vsphere v2.16.1 (the upstream of pulumi-vsphere 4.17.0) matches disks by
 * label, vsphere/internal/virtualdevice/virtual_machine_disk_subresource.go DiskDiffOperation:
 * "We extrapolate using the label as a "primary key" of sorts." — an old disk whose label is not
 * in the new list becomes "<deleted>" (keep_on_remove false) and diskApplyOperationDelete removes
 * it with its VMDK. An imported VM's disks carry vSphere's labels (DiskImportOperation:
 * `m["label"] = deviceLabel` from the device's description, "Hard disk 1", and
 * `m["keep_on_remove"] = keepAfterRemove`, false), and the docs (docs/resources/virtual_machine.md,
 * "Additional Importing Requirements"): "Any custom `label` set at deployment of machine through
 * Terraform, on import will not have the custom `label`". The program's labels (disk0, …) would
 * delete the adopted storage VM's data disk; a template with fewer disks would delete a running
 * node's extra disks. It also refuses a changed thinProvisioned/eagerlyScrub (DiffExisting). A
 * larger configured disk is therefore refused with the procedure (see `addresses`).
 */
export const VM_IGNORE_CHANGES = ["clone", "guestId", "firmware", "scsiType", "disks", "networkInterfaces[*].adapterType"];

/**
 * The system disk of a running VM keeps its size (`disks` is in ignoreChanges): a configured size
 * above it would silently not apply, so it is refused with the procedure. A smaller one is fine
 * (disks never shrink; the VM keeps its disk).
 */
function refuseDiskGrowth(host: HostSpec, linkedClone: boolean, disks: vsphere.VirtualMachineDisk[] | undefined): void {
    const current = Number(disks?.[0]?.size ?? 0);
    if (!linkedClone && current > 0 && host.size.diskGb > current) {
        throw new Error(
            `k8s-platform: the disk size of ${host.name} (nodes[].diskGb, or infra.vsphere.<role>Size.diskGb) changed from ${current} GB to ` +
                `${host.size.diskGb} GB, but the program never changes the disks of a running VM (a disk change could delete a VMDK). ` +
                `Put back ${current}, or grow the disk in vCenter (and the partition and filesystem in the guest) to ${host.size.diskGb} GB first.`,
        );
    }
}

/** A vSphere VM's size as its inputs give it: CPUs, memory, first disk. */
export function vsphereSize(inputs: Record<string, unknown> | undefined): string | undefined {
    if (!inputs || inputs.numCpus === undefined) {
        return undefined;
    }
    const disks = inputs.disks as { size?: number }[] | undefined;
    return `${inputs.numCpus} CPU, ${inputs.memory} MB, ${disks?.[0]?.size ?? "?"} GB`;
}

/**
 * VMs cloned from a template on vSphere (seed 000 §3-5): per-host CPUs, memory and disk, static
 * IP and hostname through guest customization. Each VM depends only on its own host entry, so
 * adding a host adds one VM and touches no other.
 */
export class VsphereMachines extends pulumi.ComponentResource {
    /** VM per host name. */
    public readonly machines: Record<string, vsphere.VirtualMachine>;
    /**
     * The address to reach each VM at: its configured IP, once checked against the IP the VM was
     * customised with. vSphere applies guest customization only when cloning (`clone` is in
     * ignoreChanges), so a changed IP in config would leave the VM on its old address while the
     * scripts connect to the new one: that is refused instead.
     */
    public readonly addresses: Record<string, pulumi.Output<string>>;
    /** Each VM's uuid: a VM recreated under the same name has another (see SshAccess.machineIds). */
    public readonly ids: Record<string, pulumi.Output<string>>;

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
        // A template the clone cannot work with stops the deployment with a message, before any VM.
        const template = vsphere.getVirtualMachine({ name: v.template, datacenterId }, lookupOpts).apply((t) => {
            const problems = templateProblems(t, v.template);
            if (problems.length > 0) {
                throw new Error(problems.join("\n"));
            }
            return t;
        });
        const prefix = parseCidr(args.network.cidr)!.prefix;
        const retained = args.retainOnDelete ?? [];
        const heldBack = heldBackBy(args.gate);
        const folder = this.folder(name, v, datacenterId, retained.length > 0, heldBack);

        this.machines = {};
        this.addresses = {};
        const resize = new ResizeGuard(`${name}-one-resize-at-a-time`, {
            sizeOf: vsphereSize,
            nodeOf: (vm) => vm.slice(name.length + 1),
            key: "infra.vsphere.controlPlaneSize/workerSize/storageSize/loadBalancerSize, nodes[].cpus/memoryMb/diskGb",
            procedure:
                `give the new size to one machine per \`pulumi up\` with its own keys (nodes[].cpus, memoryMb, diskGb; a role's ` +
                `size with the other machines' current size set on them), ${DRAIN}; then the next machine.`,
        });
        this.ids = {};
        for (const host of args.hosts) {
            const vm = new vsphere.VirtualMachine(
                `${name}-${host.name}`,
                {
                    name: host.name,
                    resourcePoolId,
                    datastoreId,
                    folder,
                    numCpus: host.size.cpus,
                    memory: host.size.memoryMb,
                    guestId: template.guestId,
                    firmware: template.firmware,
                    scsiType: template.scsiType,
                    networkInterfaces: [{ networkId, adapterType: template.networkInterfaceTypes.apply((t) => t[0]) }],
                    disks: template.apply((t) => cloneDisks(t, host.size.diskGb, v.linkedClone)),
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
                {
                    parent: this,
                    ignoreChanges: VM_IGNORE_CHANGES,
                    retainOnDelete: retained.includes(host.name),
                    // Adopt a VM that exists already (e.g. the storage VM a `pulumi destroy` kept).
                    import: v.adopt[host.name],
                    // One VM's size changes per `up` (ResizeGuard).
                    hooks: { beforeUpdate: [resize.hook] },
                    // A refused change (a new VM at a leaving node's IP, nodes added during an upgrade)
                    // must not get its VM before the program fails.
                    dependsOn: heldBack,
                },
            );
            this.machines[host.name] = vm;
            this.ids[host.name] = vm.uuid;
            // A refusal (components/refusals.ts): the program fails, so nothing that uses the VM is deleted.
            this.addresses[host.name] = refusal(pulumi.all([vm.clone, vm.disks]).apply(([clone, disks]) => {
                refuseDiskGrowth(host, v.linkedClone, disks);
                const customized = clone?.customize?.networkInterfaces?.[0]?.ipv4Address;
                if (customized !== undefined && customized !== host.ip) {
                    throw new Error(
                        `k8s-platform: the IP of ${host.name} changed from ${customized} to ${host.ip}, but vSphere customises a VM's ` +
                            `network only when cloning it, so the VM would keep ${customized}. Put the old IP back, or change ` +
                            `the address inside the guest first and then \`pulumi state delete\` and adopt the VM ` +
                            `(infra.vsphere.adopt) with its new IP.`,
                    );
                }
                return host.ip;
            }));
        }
        this.registerOutputs({ machines: this.machines });
    }

    /** The VM folder: declared unless `folderExists` (the provider needs an existing folder). */
    private folder(name: string, v: VsphereConfig, datacenterId: pulumi.Output<string>, retain: boolean, heldBack: pulumi.Input<pulumi.Resource[]>): pulumi.Input<string> | undefined {
        if (!v.folder || v.folderExists) {
            return v.folder;
        }
        // A folder that still holds a retained VM cannot be deleted: it stays with it.
        // Held back by a refused change, as the VMs in it.
        return new vsphere.Folder(`${name}-folder`, { path: v.folder, type: "vm", datacenterId }, { parent: this, retainOnDelete: retain, dependsOn: heldBack }).path;
    }
}
