import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";

export interface AzureIngressLoadBalancerArgs {
    readonly resourceGroupName: pulumi.Input<string>;
    readonly location: string;
    readonly subscriptionId: pulumi.Input<string>;
    /** The ingress controller's node ports (the same config values its Service gets). */
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
    /** The load balancer's Azure name (default: `<name>-lb`); the rules refer to its parts by ID. */
    readonly loadBalancerName?: pulumi.Input<string>;
}

/** Frontend/backend rules of the ingress load balancer: 80 → HTTP node port, 443 → HTTPS node port. */
export function ingressRules(httpNodePort: number, httpsNodePort: number): { name: string; frontendPort: number; backendPort: number }[] {
    return [
        { name: "http", frontendPort: 80, backendPort: httpNodePort },
        { name: "https", frontendPort: 443, backendPort: httpsNodePort },
    ];
}

/**
 * On Azure, layer-2 MetalLB cannot work; ingress is exposed by an Azure Standard Load Balancer:
 * a static public IP, a backend pool the workers' NICs join, TCP health probes on the node ports.
 */
export class AzureIngressLoadBalancer extends pulumi.ComponentResource {
    public readonly publicIp: pulumi.Output<string>;
    public readonly backendPoolId: pulumi.Output<string>;

    constructor(name: string, args: AzureIngressLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:azure:AzureIngressLoadBalancer", name, {}, opts);
        const common = { resourceGroupName: args.resourceGroupName, location: args.location };
        const ip = new network.PublicIPAddress(`${name}-ip`, { ...common, sku: { name: "Standard" }, publicIPAllocationMethod: "Static" }, { parent: this });
        const lbName = args.loadBalancerName ?? `${name}-lb`;
        // Rules refer to parts of the same load balancer by ID, so its name is fixed.
        const part = (kind: string, partName: string) =>
            pulumi.interpolate`/subscriptions/${args.subscriptionId}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.Network/loadBalancers/${lbName}/${kind}/${partName}`;
        const rules = ingressRules(args.httpNodePort, args.httpsNodePort);
        const lb = new network.LoadBalancer(
            `${name}-lb`,
            {
                ...common,
                loadBalancerName: lbName,
                sku: { name: "Standard" },
                frontendIPConfigurations: [{ name: "ingress", publicIPAddress: { id: ip.id } }],
                backendAddressPools: [{ name: "workers" }],
                probes: rules.map((r) => ({ name: `${r.name}-nodeport`, protocol: "Tcp", port: r.backendPort, intervalInSeconds: 5, numberOfProbes: 2 })),
                loadBalancingRules: rules.map((r) => ({
                    name: r.name,
                    protocol: "Tcp",
                    frontendPort: r.frontendPort,
                    backendPort: r.backendPort,
                    frontendIPConfiguration: { id: part("frontendIPConfigurations", "ingress") },
                    backendAddressPool: { id: part("backendAddressPools", "workers") },
                    probe: { id: part("probes", `${r.name}-nodeport`) },
                    idleTimeoutInMinutes: 15,
                    // Nodes keep their own public IPs (or the NAT gateway) for outbound traffic.
                    disableOutboundSnat: true,
                })),
            },
            { parent: this },
        );
        this.publicIp = ip.ipAddress.apply((a) => a ?? "");
        this.backendPoolId = lb.backendAddressPools.apply((pools) => pools?.[0]?.id ?? "");
        this.registerOutputs({ publicIp: this.publicIp });
    }
}
