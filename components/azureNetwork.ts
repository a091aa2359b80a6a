import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { SecurityRule } from "./render/azureRules";

export interface AzureNetworkArgs {
    readonly resourceGroupName: pulumi.Input<string>;
    readonly location: string;
    /** VNet and subnet address space (seed 004: 10.240.0.0/16). */
    readonly cidr: string;
    /** Inbound rules of the subnet's network security group (default: Azure's defaults only). */
    readonly securityRules?: SecurityRule[];
    /** Outbound internet for nodes without public IPs (default: false). */
    readonly natGateway?: boolean;
}

/** A virtual network with one subnet, its network security group and, optionally, a NAT gateway. */
export class AzureNetwork extends pulumi.ComponentResource {
    public readonly subnetId: pulumi.Output<string>;
    public readonly securityGroup: network.NetworkSecurityGroup;

    constructor(name: string, args: AzureNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:azure:AzureNetwork", name, {}, opts);
        const common = { resourceGroupName: args.resourceGroupName, location: args.location };
        this.securityGroup = new network.NetworkSecurityGroup(`${name}-nsg`, { ...common, securityRules: args.securityRules ?? [] }, { parent: this });
        const vnet = new network.VirtualNetwork(`${name}-vnet`, { ...common, addressSpace: { addressPrefixes: [args.cidr] } }, { parent: this });
        let natGateway: network.NatGateway | undefined;
        if (args.natGateway) {
            const natIp = new network.PublicIPAddress(`${name}-nat-ip`, { ...common, sku: { name: "Standard" }, publicIPAllocationMethod: "Static" }, { parent: this });
            natGateway = new network.NatGateway(`${name}-nat`, { ...common, sku: { name: "Standard" }, publicIpAddresses: [{ id: natIp.id }] }, { parent: this });
        }
        const subnet = new network.Subnet(
            `${name}-subnet`,
            {
                resourceGroupName: args.resourceGroupName,
                virtualNetworkName: vnet.name,
                addressPrefix: args.cidr,
                networkSecurityGroup: { id: this.securityGroup.id },
                natGateway: natGateway ? { id: natGateway.id } : undefined,
            },
            { parent: this },
        );
        this.subnetId = subnet.id;
        this.registerOutputs({ subnetId: this.subnetId });
    }
}
