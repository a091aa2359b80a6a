import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import { AzureIngressLoadBalancer } from "../components/azureIngressLoadBalancer";
import { AzureNetwork } from "../components/azureNetwork";
import { azureNodeFqdn, AzureNodes } from "../components/azureNodes";
import { nodeSecurityRules } from "../components/render/azureRules";
import { heldBackBy } from "../components/refusals";
import { SshAccess } from "../components/remoteScript";
import { PlatformConfig, StackSecrets } from "../config";
import { buildKubeadmPlatform, checkedKubernetesVersion } from "./kubeadmPlatform";
import { StackOutputs } from "./outputs";
import { pinnedStackName, stackIndependent } from "./names";

/**
 * The OpenSSH public key of the stack's private key (so the VMs trust exactly that key). A public
 * key is not a secret: unmarked, the VMs' os profiles stay readable in previews.
 */
function publicKeyOf(privateKey: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.unsecret(
        pulumi.output(privateKey).apply((key) =>
            tls.getPublicKeyOutput(key.includes("BEGIN OPENSSH PRIVATE KEY") ? { privateKeyOpenssh: key } : { privateKeyPem: key }).publicKeyOpenssh,
        ),
    );
}

/**
 * Public DNS labels are unique per region: without a configured prefix, `k8sp-<6 random
 * characters>`, generated once and kept in state (a new value would rename every node's public
 * DNS name). Config validation reserves its length in the 63-character label limit.
 */
function generatedDnsLabelPrefix(stack: string): pulumi.Output<string> {
    const suffix = new random.RandomString("dns-suffix", { length: 6, special: false, upper: false }, stackIndependent(stack, "dns-suffix"));
    return pulumi.interpolate`k8sp-${suffix.result}`;
}

/**
 * kubeadm on Azure VMs (seed 004's cloud, seed 000's cluster): resource group, VNet and subnet
 * with a network security group, the nodes, an Azure Standard Load Balancer in front of ingress,
 * then exactly the same node scripts, cluster and platform as on-prem.
 */
export function buildAzure(config: PlatformConfig, ssh: SshAccess, secrets: StackSecrets = {}): StackOutputs {
    if (config.infra.provider !== "azure") {
        throw new Error("buildAzure needs infra.provider azure");
    }
    const az = config.infra.azure;
    const named = (resource: string) => stackIndependent(config.stack, resource);
    const clusterName = pinnedStackName(config.stack);
    // Checked against the stack's record first (kubeadmPlatform.ts checkedKubernetesVersion): a
    // refused change must change nothing, with no preview either.
    const version = checkedKubernetesVersion(config);
    const rg = new resources.ResourceGroup(
        "rg",
        { resourceGroupName: az.resourceGroupName ?? pulumi.interpolate`k8s-platform-${clusterName}`, location: az.location },
        // Held back by a refused change; every Azure resource of the stack takes its group's name
        // from this one, so none is registered either (network, load balancer, nodes).
        { ...named("rg"), dependsOn: heldBackBy(version) },
    );
    const client = authorization.getClientConfigOutput();
    const net = new AzureNetwork("net", {
        resourceGroupName: rg.name,
        location: az.location,
        cidr: config.network.cidr,
        securityRules: nodeSecurityRules({
            adminCidrs: az.adminCidrs,
            subnetCidr: config.network.cidr,
            httpNodePort: config.ingress.httpNodePort,
            httpsNodePort: config.ingress.httpsNodePort,
        }),
        // Private nodes still need the internet for packages and images.
        natGateway: az.access === "bastion",
    }, named("net"));
    const lb = new AzureIngressLoadBalancer("ingress", {
        resourceGroupName: rg.name,
        location: az.location,
        subscriptionId: client.subscriptionId,
        httpNodePort: config.ingress.httpNodePort,
        httpsNodePort: config.ingress.httpsNodePort,
        // Its name is part of the rules' IDs: the one the stack was created with.
        loadBalancerName: pulumi.interpolate`${clusterName}-ingress-lb`,
    }, named("ingress"));
    const dnsLabelPrefix = az.dnsLabelPrefix ?? generatedDnsLabelPrefix(config.stack);
    const nodes = new AzureNodes("vms", {
        resourceGroupName: rg.name,
        azure: az,
        dnsLabelPrefix,
        subnetId: net.subnetId,
        nodes: config.nodes,
        sshPublicKey: publicKeyOf(ssh.privateKey),
        workerPoolId: lb.backendPoolId,
        pinHostKeys: az.pinHostKeys,
        gate: version,
    }, named("vms"));

    const publicAccess = az.access === "publicIp";
    const firstControlPlane = config.nodes.find((n) => n.name === config.kubernetes.bootstrapNode) ?? config.nodes[0];
    const apiFqdn = azureNodeFqdn(dnsLabelPrefix, az.location, firstControlPlane.name);
    const firstWorker = config.nodes.find((n) => n.role === "worker") ?? firstControlPlane;
    const outputs = buildKubeadmPlatform(config, {
        // Commands wait for the SSH key to be installed (a rotated key, a new admin user) on their VM.
        machines: nodes.reachable,
        ssh: {
            ...ssh,
            hostKeys: nodes.hostKeys,
            machineIds: nodes.ids,
            ...(publicAccess ? { addresses: Object.fromEntries(config.nodes.map((n) => [n.name, azureNodeFqdn(dnsLabelPrefix, az.location, n.name)])) } : {}),
        },
        // The API server certificate names the control plane's public DNS name, so the kubeconfig can use it.
        extraCertSANs: publicAccess ? [apiFqdn] : [],
        ingress: { ip: lb.publicIp, httpPort: 80, httpsPort: 443 },
        // An Azure load balancer does not answer its own backends: nodes use a worker's node ports.
        nodeIngress: { ip: firstWorker.ip, port: config.registry.mode === "tls" ? config.ingress.httpsNodePort : config.ingress.httpNodePort },
        kubeconfigServer: publicAccess ? pulumi.interpolate`https://${apiFqdn}:6443` : undefined,
        clusterName,
        version,
    }, secrets);
    return { ...outputs, resourceGroup: rg.name };
}
