import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import { AzureConfig, NodeSpec } from "../config";

export interface AzureNodesArgs {
    readonly resourceGroupName: pulumi.Input<string>;
    readonly azure: AzureConfig & { readonly dnsLabelPrefix: string };
    readonly subnetId: pulumi.Input<string>;
    /** One VM per node, with its static private IP. */
    readonly nodes: NodeSpec[];
    /** OpenSSH public key allowed to log in as the admin user (password login is disabled). */
    readonly sshPublicKey: pulumi.Input<string>;
    /** Backend pool the workers join (the ingress load balancer's). */
    readonly workerPoolId: pulumi.Input<string>;
}

/** Public DNS name of a node's public IP: <prefix>-<node>.<location>.cloudapp.azure.com. */
export function azureNodeFqdn(azure: { dnsLabelPrefix: string; location: string }, node: string): string {
    return `${azure.dnsLabelPrefix}-${node}.${azure.location}.cloudapp.azure.com`;
}

/**
 * Linux VMs for kubeadm nodes on Azure (seed 004's region and network): a NIC with a static private
 * IP per node, a public IP with a DNS name when `access` is publicIp, SSH-key-only login, per-role
 * sizes. Each node's resources depend only on that node.
 */
export class AzureNodes extends pulumi.ComponentResource {
    public readonly machines: Record<string, compute.VirtualMachine>;

    constructor(name: string, args: AzureNodesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:azure:AzureNodes", name, {}, opts);
        const az = args.azure;
        const common = { resourceGroupName: args.resourceGroupName, location: az.location };
        this.machines = {};
        for (const node of args.nodes) {
            const publicIp =
                az.access === "publicIp"
                    ? new network.PublicIPAddress(
                          `${name}-${node.name}-ip`,
                          {
                              ...common,
                              sku: { name: "Standard" },
                              publicIPAllocationMethod: "Static",
                              dnsSettings: { domainNameLabel: `${az.dnsLabelPrefix}-${node.name}` },
                          },
                          { parent: this },
                      )
                    : undefined;
            const nic = new network.NetworkInterface(
                `${name}-${node.name}-nic`,
                {
                    ...common,
                    ipConfigurations: [
                        {
                            name: "primary",
                            primary: true,
                            subnet: { id: args.subnetId },
                            privateIPAllocationMethod: "Static",
                            privateIPAddress: node.ip,
                            publicIPAddress: publicIp ? { id: publicIp.id } : undefined,
                            loadBalancerBackendAddressPools: node.role === "worker" ? [{ id: args.workerPoolId }] : [],
                        },
                    ],
                },
                { parent: this },
            );
            this.machines[node.name] = new compute.VirtualMachine(
                `${name}-${node.name}`,
                {
                    ...common,
                    vmName: node.name,
                    hardwareProfile: { vmSize: node.role === "control-plane" ? az.controlPlaneSize : az.workerSize },
                    osProfile: {
                        computerName: node.name,
                        adminUsername: az.adminUser,
                        linuxConfiguration: {
                            disablePasswordAuthentication: true,
                            ssh: { publicKeys: [{ path: `/home/${az.adminUser}/.ssh/authorized_keys`, keyData: args.sshPublicKey }] },
                        },
                    },
                    storageProfile: {
                        imageReference: { ...az.image },
                        osDisk: { createOption: "FromImage", diskSizeGB: az.osDiskGb, managedDisk: { storageAccountType: "Premium_LRS" } },
                    },
                    networkProfile: { networkInterfaces: [{ id: nic.id, primary: true }] },
                },
                // A newer image (or "latest" resolving differently) applies to new VMs only.
                { parent: this, ignoreChanges: ["storageProfile.imageReference"] },
            );
        }
        this.registerOutputs({});
    }
}
