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
/** Azure's built-in Network Contributor role. */
export const NETWORK_CONTRIBUTOR_ROLE_ID = "4d97b98b-1d4f-4787-a291-c67834d212e7";
/**
 * Shown with each role assignment: creating one takes `Microsoft.Authorization/roleAssignments/write`,
 * which Owner and User Access Administrator hold and Contributor does not. azure-native does not
 * wait on a refusal: the PUT fails at once with Azure's 403 AuthorizationFailed, naming that action,
 * and everything that depends on the assignment (the Kubernetes provider, so every in-cluster
 * object) is not started.
 */
export const ROLE_ASSIGNMENT_HINT =
    "k8s-platform: this role assignment needs the identity running `pulumi up` to hold Owner or User Access Administrator " +
    "(Microsoft.Authorization/roleAssignments/write) on the resource group or subscription; Contributor is not enough. " +
    "If it fails with AuthorizationFailed, have an Owner grant User Access Administrator (or run this `up` as an Owner), then run `pulumi up` again.";

/** The pool the program manages (count, size, autoscaler); the inline system pool stays as created. */
export const NODE_POOL_NAME = "nodes";

export interface AksClusterArgs {
    readonly resourceGroupName: pulumi.Input<string>;
    readonly aks: AksConfig;
    /** Subnet for the node pool (seed 004: 10.240.0.0/16). */
    readonly subnetId: pulumi.Input<string>;
    readonly subscriptionId: pulumi.Input<string>;
    /** Base of the cluster's physical names: DNS prefix, registry name, provider identity (default:
     * the resource name). The stack passes a name kept in state, so a renamed stack changes none. */
    readonly physicalName?: pulumi.Input<string>;
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
        const physicalName = pulumi.output(args.physicalName ?? name);

        // Registry names are global and alphanumeric.
        const suffix = new random.RandomString(`${name}-acr-suffix`, { length: 6, special: false, upper: false }, { parent: this });
        const registry = new containerregistry.Registry(
            `${name}-acr`,
            {
                ...common,
                registryName: pulumi.interpolate`${physicalName.apply((n) => n.replace(/[^a-z0-9]/g, ""))}${suffix.result}`,
                sku: { name: aks.acrSku },
                adminUserEnabled: false,
            },
            { parent: this },
        );

        const cluster = new containerservice.ManagedCluster(
            `${name}-aks`,
            {
                ...common,
                dnsPrefix: physicalName,
                kubernetesVersion: aks.kubernetesVersion,
                enableRBAC: true,
                identity: { type: "SystemAssigned" },
                // AKS cannot be created without a system pool; after creation it is left alone.
                agentPoolProfiles: [
                    { name: "system", mode: "System", osType: "Linux", vmSize: aks.vmSize, count: aks.systemNodeCount, vnetSubnetID: args.subnetId },
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
            // Azure refuses pool changes through the cluster ("Adding agent pools to an existing cluster
            // is not allowed through managed cluster operations. For agent pool specific change, please
            // use per agent pool operations", pulumi/pulumi-azure-native#579): the inline pool is never
            // updated through the cluster, and the AgentPool below carries what may change.
            { parent: this, ignoreChanges: ["agentPoolProfiles"] },
        );

        // A pool of its own name: azure-native refuses to create a resource that already exists
        // ("cannot create already existing resource", pulumi-azure-native provider Create), so it
        // cannot take over the inline "system" pool.
        new containerservice.AgentPool(
            `${name}-pool`,
            {
                resourceGroupName: args.resourceGroupName,
                resourceName: cluster.name,
                agentPoolName: NODE_POOL_NAME,
                mode: "User",
                osType: "Linux",
                vmSize: aks.vmSize,
                count: aks.nodeCount,
                vnetSubnetID: args.subnetId,
                enableAutoScaling: aks.autoscaler !== undefined,
                minCount: aks.autoscaler?.minCount,
                maxCount: aks.autoscaler?.maxCount,
            },
            // With the autoscaler on, the node count is the autoscaler's.
            { parent: this, ignoreChanges: aks.autoscaler ? ["count"] : [] },
        );

        // The cluster's identity joins the subnet for its load balancers ("subnets/join/action"):
        // `az aks create` grants this itself, ARM and Pulumi do not.
        const subnetRole = new authorization.RoleAssignment(
            `${name}-subnet-network-contributor`,
            {
                principalId: cluster.identity.apply((i) => i?.principalId ?? ""),
                principalType: "ServicePrincipal",
                roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${NETWORK_CONTRIBUTOR_ROLE_ID}`,
                scope: args.subnetId,
            },
            { parent: this },
        );
        pulumi.log.info(ROLE_ASSIGNMENT_HINT, subnetRole);

        const acrPull = new authorization.RoleAssignment(
            `${name}-acr-pull`,
            {
                principalId: cluster.identityProfile.apply((p) => p?.["kubeletidentity"]?.objectId ?? ""),
                principalType: "ServicePrincipal",
                roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL_ROLE_ID}`,
                scope: registry.id,
            },
            { parent: this },
        );
        pulumi.log.info(ROLE_ASSIGNMENT_HINT, acrPull);

        const credentials = containerservice.listManagedClusterUserCredentialsOutput(
            { resourceGroupName: args.resourceGroupName, resourceName: cluster.name },
            { parent: this },
        );
        this.kubeconfig = pulumi.secret(credentials.apply(decodeKubeconfig));
        // The ingress LoadBalancer Service gets no address until the identity may join the subnet.
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig: this.kubeconfig,
                // AKS rotates its user credentials; without a clusterIdentifier a changed or unknown
                // kubeconfig replaces the provider and every object it manages (pulumi-kubernetes).
                clusterIdentifier: pulumi.interpolate`${physicalName}-aks`,
            },
            { parent: this, dependsOn: [subnetRole] },
        );
        this.acrLoginServer = registry.loginServer;
        this.clusterName = cluster.name;
        this.apiEndpoint = pulumi.interpolate`https://${cluster.fqdn}`;
        this.registerOutputs({ acrLoginServer: this.acrLoginServer, kubeconfig: this.kubeconfig });
    }
}
