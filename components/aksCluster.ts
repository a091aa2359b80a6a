import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as authorization from "@pulumi/azure-native/authorization";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as containerservice from "@pulumi/azure-native/containerservice";
import { AksConfig } from "../config";
import { decodeKubeconfig } from "./render/kubeconfig";

/** Azure's built-in AcrPull role. */
export const ACR_PULL_ROLE_ID = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

export interface AksClusterArgs {
    readonly resourceGroupName: pulumi.Input<string>;
    readonly aks: AksConfig;
    /** Subnet for the node pool (seed 004: 10.240.0.0/16). */
    readonly subnetId: pulumi.Input<string>;
    readonly subscriptionId: pulumi.Input<string>;
}

/**
 * Managed Kubernetes (seed 004): an Azure Container Registry (admin user disabled), an AKS cluster
 * with a system node pool, RBAC and a system-assigned identity, the kubelet identity allowed to
 * pull from the registry (`az aks update --attach-acr`), and the user kubeconfig as a secret with
 * a Kubernetes provider built from it.
 */
export class AksCluster extends pulumi.ComponentResource {
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly provider: k8s.Provider;
    public readonly acrLoginServer: pulumi.Output<string>;
    public readonly clusterName: pulumi.Output<string>;
    /** https://<cluster FQDN> */
    public readonly apiEndpoint: pulumi.Output<string>;

    constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:azure:AksCluster", name, {}, opts);
        const aks = args.aks;
        const common = { resourceGroupName: args.resourceGroupName, location: aks.location };

        // Registry names are global and alphanumeric.
        const suffix = new random.RandomString(`${name}-acr-suffix`, { length: 6, special: false, upper: false }, { parent: this });
        const registry = new containerregistry.Registry(
            `${name}-acr`,
            {
                ...common,
                registryName: pulumi.interpolate`${name.replace(/[^a-z0-9]/g, "")}${suffix.result}`,
                sku: { name: aks.acrSku },
                adminUserEnabled: false,
            },
            { parent: this },
        );

        const cluster = new containerservice.ManagedCluster(
            `${name}-aks`,
            {
                ...common,
                dnsPrefix: name,
                kubernetesVersion: aks.kubernetesVersion,
                enableRBAC: true,
                identity: { type: "SystemAssigned" },
                agentPoolProfiles: [
                    {
                        name: "system",
                        mode: "System",
                        osType: "Linux",
                        vmSize: aks.vmSize,
                        count: aks.nodeCount,
                        vnetSubnetID: args.subnetId,
                        enableAutoScaling: aks.autoscaler !== undefined,
                        minCount: aks.autoscaler?.minCount,
                        maxCount: aks.autoscaler?.maxCount,
                    },
                ],
                networkProfile: {
                    networkPlugin: aks.networkPlugin,
                    networkPluginMode: aks.networkPlugin === "azure" && aks.networkPluginMode === "overlay" ? "overlay" : undefined,
                    podCidr: aks.networkPlugin === "kubenet" || aks.networkPluginMode === "overlay" ? aks.podCidr : undefined,
                    serviceCidr: aks.serviceCidr,
                    dnsServiceIP: aks.dnsServiceIP,
                    loadBalancerSku: "standard",
                },
            },
            // With the autoscaler on, the node count is the autoscaler's.
            { parent: this, ignoreChanges: aks.autoscaler ? ["agentPoolProfiles[0].count"] : [] },
        );

        new authorization.RoleAssignment(
            `${name}-acr-pull`,
            {
                principalId: cluster.identityProfile.apply((p) => p?.["kubeletidentity"]?.objectId ?? ""),
                principalType: "ServicePrincipal",
                roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL_ROLE_ID}`,
                scope: registry.id,
            },
            { parent: this },
        );

        const credentials = containerservice.listManagedClusterUserCredentialsOutput(
            { resourceGroupName: args.resourceGroupName, resourceName: cluster.name },
            { parent: this },
        );
        this.kubeconfig = pulumi.secret(credentials.apply(decodeKubeconfig));
        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this });
        this.acrLoginServer = registry.loginServer;
        this.clusterName = cluster.name;
        this.apiEndpoint = pulumi.interpolate`https://${cluster.fqdn}`;
        this.registerOutputs({ acrLoginServer: this.acrLoginServer, kubeconfig: this.kubeconfig });
    }
}
