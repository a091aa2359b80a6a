import * as pulumi from "@pulumi/pulumi";
import { VSPHERE_PLUGIN_VERSION } from "../config";

/**
 * The few vSphere resources and data sources this program uses, declared against the provider's
 * own type tokens and property names (schema of pulumi/pulumi-vsphere). `@pulumi/vsphere` is not
 * installable here; every registration carries the pinned plugin version, so `pulumi up`
 * downloads exactly that provider plugin. Provider settings come from the stack's `vsphere:*`
 * config (vsphereServer, user, password, allowUnverifiedSsl), as with the published SDK.
 */

const versioned = { version: VSPHERE_PLUGIN_VERSION };

export interface LookupByName {
    readonly name: string;
    /** Required for everything but the datacenter itself. */
    readonly datacenterId?: pulumi.Input<string>;
}

export interface GetDatacenterResult {
    readonly id: string;
}
export interface GetComputeClusterResult {
    readonly id: string;
    readonly resourcePoolId: string;
}
export interface GetIdResult {
    readonly id: string;
}
/** One disk of a VM or template as getVirtualMachine reports it (every field required in the schema). */
export interface GetVirtualMachineDisk {
    readonly label: string;
    /** GiB. */
    readonly size: number;
    readonly thinProvisioned: boolean;
    readonly eagerlyScrub: boolean;
    /** Position on the SCSI bus. */
    readonly unitNumber: number;
}

export interface GetVirtualMachineResult {
    /** The VM's (template's) UUID: what `clone.templateUuid` takes. */
    readonly id: string;
    readonly guestId: string;
    readonly scsiType: string;
    readonly firmware: string;
    /** Sorted by bus and unit number, "in the order the resource expects while cloning" (schema). */
    readonly disks: GetVirtualMachineDisk[];
    readonly networkInterfaceTypes: string[];
}

function lookup<T>(token: string, args: pulumi.Inputs, opts?: pulumi.InvokeOutputOptions): pulumi.Output<T> {
    return pulumi.runtime.invokeOutput<T>(token, args, { ...opts, ...versioned });
}

export const getDatacenter = (args: { name: string }, opts?: pulumi.InvokeOutputOptions) =>
    lookup<GetDatacenterResult>("vsphere:index/getDatacenter:getDatacenter", args, opts);
export const getComputeCluster = (args: LookupByName, opts?: pulumi.InvokeOutputOptions) =>
    lookup<GetComputeClusterResult>("vsphere:index/getComputeCluster:getComputeCluster", args, opts);
export const getResourcePool = (args: LookupByName, opts?: pulumi.InvokeOutputOptions) =>
    lookup<GetIdResult>("vsphere:index/getResourcePool:getResourcePool", args, opts);
export const getDatastore = (args: LookupByName, opts?: pulumi.InvokeOutputOptions) =>
    lookup<GetIdResult>("vsphere:index/getDatastore:getDatastore", args, opts);
export const getNetwork = (args: LookupByName, opts?: pulumi.InvokeOutputOptions) =>
    lookup<GetIdResult>("vsphere:index/getNetwork:getNetwork", args, opts);
export const getVirtualMachine = (args: LookupByName, opts?: pulumi.InvokeOutputOptions) =>
    lookup<GetVirtualMachineResult>("vsphere:index/getVirtualMachine:getVirtualMachine", args, opts);

export interface VirtualMachineDisk {
    label: pulumi.Input<string>;
    /** GB. */
    size: pulumi.Input<number>;
    thinProvisioned?: pulumi.Input<boolean>;
    eagerlyScrub?: pulumi.Input<boolean>;
    unitNumber?: pulumi.Input<number>;
}

export interface VirtualMachineNetworkInterface {
    networkId: pulumi.Input<string>;
    adapterType?: pulumi.Input<string>;
}

export interface VirtualMachineCloneCustomize {
    linuxOptions: { hostName: pulumi.Input<string>; domain: pulumi.Input<string> };
    /** One entry per network interface, in order. */
    networkInterfaces: { ipv4Address: pulumi.Input<string>; /** prefix length in bits */ ipv4Netmask: pulumi.Input<number> }[];
    ipv4Gateway?: pulumi.Input<string>;
    dnsServerLists?: pulumi.Input<string>[];
    dnsSuffixLists?: pulumi.Input<string>[];
}

export interface VirtualMachineArgs {
    resourcePoolId: pulumi.Input<string>;
    name?: pulumi.Input<string>;
    datastoreId?: pulumi.Input<string>;
    folder?: pulumi.Input<string>;
    numCpus?: pulumi.Input<number>;
    /** MB. */
    memory?: pulumi.Input<number>;
    guestId?: pulumi.Input<string>;
    firmware?: pulumi.Input<string>;
    scsiType?: pulumi.Input<string>;
    disks: pulumi.Input<pulumi.Input<VirtualMachineDisk>[]>;
    networkInterfaces: pulumi.Input<VirtualMachineNetworkInterface>[];
    clone?: {
        templateUuid: pulumi.Input<string>;
        linkedClone?: pulumi.Input<boolean>;
        timeout?: pulumi.Input<number>;
        customize?: VirtualMachineCloneCustomize;
    };
    extraConfig?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Minutes to wait for an IP from VMware Tools (0 disables the wait). */
    waitForGuestNetTimeout?: pulumi.Input<number>;
}

/** `vsphere:index/folder:Folder`: `path` relative to the datacenter's root folder of `type`. */
export interface FolderArgs {
    path: pulumi.Input<string>;
    type: pulumi.Input<"vm" | "host" | "datastore" | "network" | "datacenter">;
    datacenterId?: pulumi.Input<string>;
}

export class Folder extends pulumi.CustomResource {
    public static readonly __pulumiType = "vsphere:index/folder:Folder";

    declare public readonly path: pulumi.Output<string>;

    constructor(name: string, args: FolderArgs, opts?: pulumi.CustomResourceOptions) {
        super(Folder.__pulumiType, name, { ...args }, pulumi.mergeOptions(opts, versioned));
    }
}

/** `vsphere:index/virtualMachine:VirtualMachine`. */
export class VirtualMachine extends pulumi.CustomResource {
    public static readonly __pulumiType = "vsphere:index/virtualMachine:VirtualMachine";

    declare public readonly name: pulumi.Output<string>;
    declare public readonly defaultIpAddress: pulumi.Output<string>;
    declare public readonly guestIpAddresses: pulumi.Output<string[]>;
    declare public readonly moid: pulumi.Output<string>;
    declare public readonly uuid: pulumi.Output<string>;
    /** The disks in state: as created, or as the provider read them on import (kept by ignoreChanges). */
    declare public readonly disks: pulumi.Output<VirtualMachineDisk[] | undefined>;
    /** The clone settings in state: what the VM was customised with (kept by ignoreChanges). */
    declare public readonly clone: pulumi.Output<VirtualMachineArgs["clone"] | undefined>;

    constructor(name: string, args: VirtualMachineArgs, opts?: pulumi.CustomResourceOptions) {
        const props: pulumi.Inputs = {
            ...args,
            defaultIpAddress: undefined,
            guestIpAddresses: undefined,
            moid: undefined,
            uuid: undefined,
        };
        super(VirtualMachine.__pulumiType, name, props, pulumi.mergeOptions(opts, versioned));
    }
}
