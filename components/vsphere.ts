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
export interface GetVirtualMachineResult {
    /** The VM's (template's) UUID: what `clone.templateUuid` takes. */
    readonly id: string;
    readonly guestId: string;
    readonly scsiType: string;
    readonly firmware: string;
    readonly disks: { size: number; thinProvisioned: boolean; label: string }[];
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
    disks: pulumi.Input<VirtualMachineDisk>[];
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

/** `vsphere:index/virtualMachine:VirtualMachine`. */
export class VirtualMachine extends pulumi.CustomResource {
    public static readonly __pulumiType = "vsphere:index/virtualMachine:VirtualMachine";

    public readonly name!: pulumi.Output<string>;
    public readonly defaultIpAddress!: pulumi.Output<string>;
    public readonly guestIpAddresses!: pulumi.Output<string[]>;
    public readonly moid!: pulumi.Output<string>;
    public readonly uuid!: pulumi.Output<string>;

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
