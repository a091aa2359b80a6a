import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import { AksCluster } from "../components/aksCluster";
import { AzureNetwork } from "../components/azureNetwork";
import { aksSecurityRules } from "../components/render/azureRules";
import { Platform } from "../components/platform";
import { PlatformConfig } from "../config";
import { hostsLines } from "../components/render/hostsFile";
import { StackOutputs } from "./outputs";
import { pinnedStackName, stackIndependent } from "./names";

/**
 * Managed AKS with ACR (seed 004), with the same Platform component as the kubeadm stacks in its
 * `aks` profile: ingress behind Azure's load balancer, shared volumes on Azure Files, images from
 * ACR (the in-cluster registry is off unless switched on), the same test app and HPA. No VMs, no
 * SSH, no Flannel, MetalLB, HAProxy, NFS server or metrics-server chart.
 */
export function buildAks(config: PlatformConfig): StackOutputs {
    if (config.infra.provider !== "aks") {
        throw new Error("buildAks needs infra.provider aks");
    }
    const aks = config.infra.aks;
    const named = (resource: string) => stackIndependent(config.stack, resource);
    const stackName = pinnedStackName(config.stack);
    const rg = new resources.ResourceGroup(
        "rg",
        { resourceGroupName: aks.resourceGroupName ?? pulumi.interpolate`k8s-platform-${stackName}`, location: aks.location },
        named("rg"),
    );
    const client = authorization.getClientConfigOutput();
    // AKS never edits a subnet NSG: the ingress load balancer's traffic is allowed here.
    const net = new AzureNetwork("net", { resourceGroupName: rg.name, location: aks.location, cidr: config.network.cidr, securityRules: aksSecurityRules() }, named("net"));
    const cluster = new AksCluster(
        "cluster",
        // The cluster's DNS prefix, registry and provider identity as the stack was created with them.
        { resourceGroupName: rg.name, aks, subnetId: net.subnetId, subscriptionId: client.subscriptionId, physicalName: pulumi.interpolate`${stackName}-cluster` },
        named("cluster"),
    );

    const platform = new Platform("platform", {
        provider: cluster.provider,
        profile: "aks",
        charts: config.charts,
        namePrefix: stackName,
        domain: config.domain,
        ingress: config.ingress.enabled
            ? { controller: config.ingress.controller, serviceType: "LoadBalancer", httpNodePort: config.ingress.httpNodePort, httpsNodePort: config.ingress.httpsNodePort }
            : undefined,
        storage: { kind: "storageClass", storageClassName: aks.sharedStorageClass },
        registry: config.registry.enabled ? { mode: config.registry.mode, size: config.registry.size } : undefined,
        testApp: config.testApp.enabled ? { replicas: config.testApp.replicas, size: config.testApp.size } : undefined,
        autoscaling: config.autoscaling.enabled ? config.autoscaling : undefined,
        managedDiskClaim: aks.managedDiskClaim ? { storageClassName: "managed-csi", size: "5Gi" } : undefined,
    }, named("platform"));

    const ingressIp = platform.ingress?.address ?? pulumi.output("");
    const hostNames = [platform.registry?.host, platform.testApp ? `share-storage.${config.domain}` : undefined].filter((h): h is string => h !== undefined);
    const urls: Record<string, string> = {};
    if (platform.testApp) {
        urls.testApp = `http://share-storage.${config.domain}/test.jsp`;
    }
    if (platform.registry) {
        urls.registry = platform.registry.url;
    }
    return {
        nodes: [],
        apiEndpoint: cluster.apiEndpoint,
        kubeconfig: cluster.kubeconfig,
        hostsFile: ingressIp.apply((ip) => (hostNames.length > 0 && ip ? hostsLines([{ ip, names: hostNames }]) : "")),
        ingressAddress: ingressIp,
        urls,
        acrLoginServer: cluster.acrLoginServer,
        resourceGroup: rg.name,
        registryCredentials: platform.registry?.credentials,
        registryCaCert: platform.registry?.caCertPem,
    };
}
