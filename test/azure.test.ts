import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { aksSecurityRules, nodeSecurityRules, opensToInternet, portsOf, SecurityRule, SERVICE_TAGS, sourcesOf } from "../components/render/azureRules";
import { ACR_PULL_ROLE_ID, NETWORK_CONTRIBUTOR_ROLE_ID, ROLE_ASSIGNMENT_HINT } from "../components/aksCluster";
import { AKS_KUBERNETES_VERSION, SUPPORTED_KUBERNETES_MINORS } from "../config";
import { readScript, stripScriptComments } from "../components/render/script";
import { withServer } from "../components/render/kubeconfig";
import { parseConfig, ConfigError } from "../config";
import { containsSecret, maskSecrets, MOCK_KUBECONFIG, readStackFile, synthesize, Synthesis, unwrapSecrets } from "../tools/mockRuntime";
import { program } from "../stacks/program";
import { byType, commands, envOf, hostOf, manifests, named, rawConfigOf, scriptOf, synthStack, validateManifest } from "./helpers";
import { inputsAfterIgnoreChanges } from "../tools/engineModel";

const rulesOf = (s: Synthesis, nsg = "net-nsg"): SecurityRule[] => (named(s, nsg).inputs.securityRules as SecurityRule[]) ?? [];

function errorFor(stack: string, edit: (raw: any) => void, hasSshPrivateKey = true): string {
    const raw = structuredClone(rawConfigOf(stack)) as any;
    edit(raw);
    try {
        parseConfig(raw, { stack, hasSshPrivateKey });
    } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.message;
    }
    assert.fail("expected the config to be refused");
}

describe("azure stack: kubeadm on Azure VMs", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("azure");
    });

    it("creates a resource group, the seed's VNet/subnet, and one VM, NIC and public IP per node", () => {
        assert.equal(named(s, "rg").inputs.location, "eastus");
        assert.deepEqual((named(s, "net-vnet").inputs.addressSpace as any).addressPrefixes, ["10.240.0.0/16"]);
        assert.equal(named(s, "net-subnet").inputs.addressPrefix, "10.240.0.0/16");
        const vms = byType(s, "azure-native:compute:VirtualMachine");
        assert.deepEqual(vms.map((v) => v.inputs.vmName).sort(), ["k8s-master", "k8s-node1", "k8s-node2", "k8s-node3"]);
        for (const vm of vms) {
            const inputs = unwrapSecrets(vm.inputs) as any;
            assert.equal(inputs.hardwareProfile.vmSize, "Standard_D2s_v3");
            assert.equal(inputs.osProfile.adminUsername, "azureuser");
            assert.equal(inputs.osProfile.linuxConfiguration.disablePasswordAuthentication, true, "SSH keys only");
            assert.match(unwrapSecrets(inputs.osProfile.linuxConfiguration.ssh.publicKeys[0].keyData) as string, /^ssh-ed25519 /);
            assert.equal(inputs.storageProfile.imageReference.offer, "ubuntu-24_04-lts");
        }
        const nics = Object.fromEntries(byType(s, "azure-native:network:NetworkInterface").map((n) => [n.name, (n.inputs.ipConfigurations as any)[0]]));
        assert.equal(nics["vms-k8s-node2-nic"].privateIPAddress, "10.240.0.12");
        assert.equal(nics["vms-k8s-node2-nic"].privateIPAllocationMethod, "Static");
        assert.equal(nics["vms-k8s-master-nic"].loadBalancerBackendAddressPools.length, 0, "the control plane is not an ingress backend");
        assert.equal(nics["vms-k8s-node1-nic"].loadBalancerBackendAddressPools.length, 1);
        assert.equal(byType(s, "azure-native:network:PublicIPAddress").length, 5, "four nodes and the load balancer");
    });

    it("opens SSH and 6443 only to the admin networks; 80/443 and the node ports to everyone; all inside the subnet", () => {
        const rules = rulesOf(s);
        for (const port of [22, 6443]) {
            assert.ok(!rules.some((r) => opensToInternet(r, port)), `port ${port} is not open to the internet`);
            assert.ok(rules.some((r) => sourcesOf(r).includes("203.0.113.0/24") && portsOf(r).includes(String(port))), `port ${port} open to admins`);
        }
        for (const port of [80, 443, 30080, 30443]) {
            assert.ok(rules.some((r) => opensToInternet(r, port)), `port ${port} reachable`);
        }
        assert.ok(rules.some((r) => sourcesOf(r).includes("10.240.0.0/16") && portsOf(r).includes("*") && r.protocol === "*"));
    });

    it("opens SSH to the internet only when the stack says so explicitly", async () => {
        const open = await synthStack("azure", (raw: any) => {
            raw.infra.azure.adminCidrs = ["*"];
            raw.infra.azure.allowSshFromAnywhere = true;
        });
        assert.ok(rulesOf(open).some((r) => opensToInternet(r, 22)));
    });

    it("balances 80/443 to the same node ports the ingress Service uses, with health probes", () => {
        const lb = named(s, "ingress-lb").inputs as any;
        const chart = byType(s, "kubernetes:helm.sh/v4:Chart").find((c) => c.inputs.chart === "ingress-nginx")!;
        const nodePorts = (chart.inputs.values as any).controller.service.nodePorts;
        const rule = (name: string) => lb.loadBalancingRules.find((r: any) => r.name === name);
        assert.deepEqual([rule("http").frontendPort, rule("http").backendPort], [80, nodePorts.http]);
        assert.deepEqual([rule("https").frontendPort, rule("https").backendPort], [443, nodePorts.https]);
        assert.deepEqual(lb.probes.map((p: any) => p.port).sort(), [nodePorts.http, nodePorts.https].sort());
        for (const r of lb.loadBalancingRules) {
            assert.match(r.probe.id, new RegExp(`/loadBalancers/azure-ingress-lb/probes/${r.name}-nodeport$`));
        }
        assert.equal(lb.sku.name, "Standard");
        assert.equal(byType(s, "kubernetes:helm.sh/v4:Chart").filter((c) => c.inputs.chart === "metallb").length, 0);
    });

    it("runs the same node scripts as on-prem on every node, over SSH to its public name as azureuser", () => {
        for (const [script, count] of [["prepare-node", 4], ["kubeadm-init", 1], ["kubeadm-join", 3]] as const) {
            const runs = commands(s).filter((c) => scriptOf(c) === script);
            assert.equal(runs.length, count, script);
            for (const c of runs) {
                assert.ok(String(c.inputs.create).includes(stripScriptComments(readScript(script)).replace(/^#!.*\n/, "")), `${c.name} carries ${script}.sh unchanged`);
            }
        }
        const prep = named(s, "cluster-k8s-node1-prepare");
        assert.equal(hostOf(prep), "k8sp-abc123-k8s-node1.eastus.cloudapp.azure.com");
        assert.equal((unwrapSecrets(prep.inputs.connection) as any).user, "azureuser");
        assert.deepEqual(prep.dependsOn, ["vms-k8s-node1-ssh-access"], "the VM, with the SSH key installed");
    });

    it("names the control plane's public DNS name in the API certificate and the kubeconfig", () => {
        const init = commands(s).find((c) => scriptOf(c) === "kubeadm-init")!;
        const cluster = parseAllDocuments(envOf(init, "KUBEADM_CONFIG")!)[1].toJS();
        assert.ok(cluster.apiServer.certSANs.includes("k8sp-abc123-k8s-master.eastus.cloudapp.azure.com"));
        assert.equal(cluster.controlPlaneEndpoint, "10.240.0.10:6443", "nodes use the private address");
        assert.equal(s.outputs.kubeconfig.secret, true);
        assert.equal(s.outputs.apiEndpoint.value, "https://k8sp-abc123-k8s-master.eastus.cloudapp.azure.com:6443");
        assert.match(withServer("clusters:\n- cluster:\n    server: https://10.240.0.10:6443\n  name: k\n", "https://x:6443"), /server: https:\/\/x:6443/);
    });

    it("exports the load balancer's IP for the platform's host names", () => {
        assert.match(String(s.outputs.hostsFile.value), /^20\.\S+\tregistry\.localtest\.com share-storage\.localtest\.com$/m);
        assert.equal(s.outputs.ingressAddress.value, String(s.outputs.hostsFile.value).split("\n").slice(-2)[0].split("\t")[0]);
    });

    it("lets nodes reach the registry through a worker's node port (the load balancer does not hairpin)", () => {
        const trust = commands(s).filter((c) => scriptOf(c) === "registry-trust");
        assert.equal(trust.length, 4);
        assert.ok(trust.every((c) => envOf(c, "REGISTRY_PORT") === "30443"));
        const blocks = commands(s).filter((c) => scriptOf(c) === "hosts-block");
        assert.equal(blocks.length, 4);
        assert.ok(blocks.every((c) => envOf(c, "HOSTS_LINES")!.split("\n").includes("10.240.0.11\tregistry.localtest.com")));
    });

    it("reaches private nodes through the bastion, with a NAT gateway for their downloads", async () => {
        const b = await synthStack("azure", (raw: any) => {
            raw.infra.azure.access = "bastion";
            raw.ssh = { bastion: { host: "bastion.example.net", user: "jump" } };
        });
        assert.equal(byType(b, "azure-native:network:PublicIPAddress").length, 2, "the load balancer and the NAT gateway only");
        assert.ok(named(b, "net-nat"));
        const prep = named(b, "cluster-k8s-node1-prepare");
        const connection = unwrapSecrets(prep.inputs.connection) as any;
        assert.equal(connection.host, "10.240.0.11");
        assert.equal(connection.proxy.host, "bastion.example.net");
        assert.equal(connection.proxy.user, "jump");
    });
});

describe("aks stack: managed AKS with ACR", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("aks");
    });

    it("declares no VM, no remote command and none of the kubeadm-only add-ons", () => {
        assert.equal(commands(s).length, 0);
        assert.equal(s.resources.filter((r) => /VirtualMachine|vsphere/.test(r.type)).length, 0);
        const charts = byType(s, "kubernetes:helm.sh/v4:Chart").map((c) => c.inputs.chart);
        assert.deepEqual(charts, ["ingress-nginx"]);
        assert.equal(s.resources.filter((r) => /flannel|metallb|haproxy|nfs|-lb$/.test(r.name)).length, 0);
        assert.equal(s.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolume").length, 0, "no NFS volumes");
    });

    it("builds the seed's cluster: 3 x Standard_DS2_v2, Azure CNI overlay, its service network, RBAC, managed identity", () => {
        const aks = byType(s, "azure-native:containerservice:ManagedCluster")[0].inputs as any;
        const pool = named(s, "cluster-pool").inputs as any;
        assert.deepEqual([pool.count, pool.vmSize, pool.mode, pool.enableAutoScaling], [3, "Standard_DS2_v2", "User", false]);
        assert.deepEqual([aks.agentPoolProfiles[0].count, aks.agentPoolProfiles[0].mode], [1, "System"]);
        assert.equal(aks.networkProfile.networkPlugin, "azure");
        assert.equal(aks.networkProfile.networkPluginMode, "overlay");
        assert.equal(aks.networkProfile.serviceCidr, "10.0.0.0/16");
        assert.equal(aks.networkProfile.dnsServiceIP, "10.0.0.10");
        assert.equal(aks.enableRBAC, true);
        assert.deepEqual(aks.identity, { type: "SystemAssigned" });
        assert.equal(aks.kubernetesVersion, AKS_KUBERNETES_VERSION);
        // The default is a minor the platform on top (charts, workloads) is tested with.
        assert.ok(SUPPORTED_KUBERNETES_MINORS.includes(AKS_KUBERNETES_VERSION), `${AKS_KUBERNETES_VERSION} is one of ${SUPPORTED_KUBERNETES_MINORS.join(", ")}`);
        const acr = byType(s, "azure-native:containerregistry:Registry")[0].inputs as any;
        assert.equal(acr.adminUserEnabled, false);
    });

    it("infra.aks.kubernetesVersion overrides the default, a minor or a patch, and is sent to AKS as given", async () => {
        for (const version of ["1.36", "1.37.2"]) {
            const other = await synthStack("aks", (raw: any) => (raw.infra.aks.kubernetesVersion = version));
            assert.equal((byType(other, "azure-native:containerservice:ManagedCluster")[0].inputs as any).kubernetesVersion, version);
        }
    });

    it("lets the kubelet identity pull from ACR (AcrPull on the registry's scope)", () => {
        const role = named(s, "cluster-acr-pull").inputs as any;
        assert.equal(role.principalId, "kubelet-object-id");
        assert.equal(role.principalType, "ServicePrincipal");
        assert.equal(role.roleDefinitionId, `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL_ROLE_ID}`);
        assert.equal(role.scope, "cluster-acr-id");
        assert.match(String(s.outputs.acrLoginServer.value), /^aksclusterabc123\.azurecr\.io$/);
    });

    it("returns the decoded user kubeconfig as a secret and builds the provider from it", () => {
        assert.equal(s.outputs.kubeconfig.secret, true);
        assert.equal(s.outputs.kubeconfig.value, MOCK_KUBECONFIG);
        assert.ok(s.invokes.some((i) => i.token === "azure-native:containerservice:listManagedClusterUserCredentials"));
        assert.equal(s.outputs.apiEndpoint.value, "https://cluster-aks.hcp.eastus.azmk8s.io");
    });

    it("puts ingress behind Azure's load balancer with the health probe Azure needs, and exports its IP", () => {
        const chart = byType(s, "kubernetes:helm.sh/v4:Chart").find((c) => c.inputs.chart === "ingress-nginx")!;
        const service = (chart.inputs.values as any).controller.service;
        assert.equal(service.type, "LoadBalancer");
        assert.equal(service.annotations["service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path"], "/healthz");
        assert.equal(s.outputs.ingressAddress.value, "20.30.40.50");
        assert.equal(s.outputs.hostsFile.value, "20.30.40.50\tshare-storage.localtest.com\n");
    });

    it("runs the same test app and HPA on Azure Files claims; every object validates", async () => {
        const ms = manifests(s);
        for (const m of ms) {
            await assert.doesNotReject(validateManifest(m), `${m.kind} ${m.metadata.name}`);
        }
        const claims = ms.filter((m) => m.kind === "PersistentVolumeClaim");
        assert.equal(claims.length, 1);
        assert.equal(claims[0].spec.storageClassName, "azurefile-csi");
        assert.deepEqual(claims[0].spec.accessModes, ["ReadWriteMany"]);
        assert.ok(ms.some((m) => m.kind === "HorizontalPodAutoscaler"));
        assert.ok(ms.some((m) => m.kind === "Deployment" && m.metadata.name === "tomcat"));
        assert.ok(!ms.some((m) => m.metadata.name === "registry"), "the in-cluster registry is off by default");
    });

    it("switches the in-cluster registry on (on Azure Files) and offers seed 004's managed-disk claim", async () => {
        const on = await synthStack("aks", (raw: any) => {
            raw.registry = { enabled: true };
            raw.infra.aks.managedDiskClaim = true;
        });
        const claims = on.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim").map((r) => r.inputs as any);
        const registryClaim = claims.find((c) => c.metadata.name === "registry-data");
        assert.equal(registryClaim.spec.storageClassName, "azurefile-csi");
        const disk = claims.find((c) => c.metadata.name === "managed-disk");
        assert.deepEqual([disk.spec.storageClassName, disk.spec.accessModes], ["managed-csi", ["ReadWriteOnce"]]);
        assert.equal(on.outputs.urls.value && (on.outputs.urls.value as any).registry, "https://registry.localtest.com");
    });
});

describe("azure and aks config validation", () => {
    it("refuses malformed VM sizes", () => {
        assert.match(errorFor("azure", (raw) => (raw.infra.azure.workerSize = "D2s_v3")), /k8s-platform:infra\.azure\.workerSize: "D2s_v3" is not an Azure VM size \(expected e\.g\. "Standard_D2s_v3"\)/);
        assert.match(errorFor("aks", (raw) => (raw.infra.aks.vmSize = "Standard DS2 v2")), /k8s-platform:infra\.aks\.vmSize: "Standard DS2 v2" is not an Azure VM size/);
    });

    it("needs admin CIDRs, and refuses the whole internet unless explicitly allowed", () => {
        assert.match(errorFor("azure", (raw) => delete raw.infra.azure.adminCidrs), /k8s-platform:infra\.azure\.adminCidrs: is required: the networks \(CIDRs\) allowed to reach SSH \(22\) and the API server \(6443\)/);
        for (const anywhere of ["*", "0.0.0.0/0"]) {
            assert.match(
                errorFor("azure", (raw) => (raw.infra.azure.adminCidrs = [anywhere])),
                /k8s-platform:infra\.azure\.adminCidrs\[0\]: ".*" opens SSH and the API server to the whole internet; .*allowSshFromAnywhere/,
            );
        }
        assert.match(errorFor("azure", (raw) => (raw.infra.azure.adminCidrs = ["office"])), /adminCidrs\[0\]: "office" is not a valid IPv4 CIDR/);
    });

    it("refuses MetalLB (and HAProxy) on Azure, saying why", () => {
        assert.match(
            errorFor("azure", (raw) => (raw.metallb = { enabled: true, addresses: "10.240.0.100-10.240.0.110" })),
            /k8s-platform:metallb\.enabled: MetalLB's layer-2 mode answers ARP on a shared network segment, which an Azure virtual network does not provide/,
        );
        assert.match(errorFor("azure", (raw) => (raw.haproxy = { enabled: true, host: { node: "k8s-master" } })), /haproxy\.enabled: on Azure the Azure Standard Load Balancer is the L4 balancer/);
        assert.match(errorFor("aks", (raw) => (raw.metallb = { enabled: true, addresses: "10.240.0.100-10.240.0.110" })), /k8s-platform:metallb\.enabled: AKS gives LoadBalancer Services Azure load balancer addresses/);
    });

    it("enforces node count limits and node rules per provider", () => {
        assert.match(errorFor("aks", (raw) => (raw.infra.aks.nodeCount = 0)), /k8s-platform:infra\.aks\.nodeCount: 0 is not a node count \(1-1000\)/);
        assert.match(errorFor("aks", (raw) => (raw.infra.aks.nodeCount = 1001)), /nodeCount: 1001 is not a node count \(1-1000\)/);
        assert.match(errorFor("aks", (raw) => (raw.infra.aks.autoscaler = { minCount: 5, maxCount: 2 })), /infra\.aks\.autoscaler\.minCount: 5 is above autoscaler\.maxCount 2/);
        assert.match(errorFor("aks", (raw) => (raw.infra.aks.autoscaler = { minCount: 4, maxCount: 6 })), /infra\.aks\.nodeCount: 3 is outside the autoscaler's 4-6/);
        assert.match(errorFor("aks", (raw) => (raw.nodes = [{ name: "n1", ip: "10.240.0.5", role: "worker" }])), /k8s-platform:nodes: AKS manages its own nodes/);
        assert.match(errorFor("aks", (raw) => (raw.nfs = { enabled: true, host: { node: "x" } })), /k8s-platform:nfs\.enabled: on AKS shared volumes come from the azurefile-csi storage class/);
        assert.match(errorFor("azure", (raw) => (raw.nodes[1].ip = "10.240.0.2")), /k8s-platform:nodes\[1\]\.ip: 10\.240\.0\.2 is reserved by Azure/);
        assert.match(errorFor("aks", (raw) => (raw.infra.aks.dnsServiceIP = "10.1.0.10")), /infra\.aks\.dnsServiceIP: 10\.1\.0\.10 is outside infra\.aks\.serviceCidr 10\.0\.0\.0\/16/);
        assert.match(errorFor("aks", (raw) => (raw.infra.aks.serviceCidr = "10.240.0.0/20")), /infra\.aks\.serviceCidr: 10\.240\.0\.0\/20 overlaps network\.cidr/);
    });

    it("needs no SSH key on AKS, but does on Azure VMs", () => {
        assert.equal(parseConfig(rawConfigOf("aks"), { stack: "aks", hasSshPrivateKey: false }).infra.provider, "aks");
        assert.match(errorFor("azure", () => undefined, false), /k8s-platform:sshPrivateKey: is required/);
    });
});

/** Rules as Azure accepts them: service tags and "*" only in the singular fields, never both forms. */
function azureRefuses(r: SecurityRule): string[] {
    const problems: string[] = [];
    const tag = (v: string) => (SERVICE_TAGS as readonly string[]).some((t) => t.toLowerCase() === v.toLowerCase());
    for (const [plural, single] of [["sourceAddressPrefixes", "sourceAddressPrefix"], ["destinationPortRanges", "destinationPortRange"]] as const) {
        const list = (r as any)[plural] as string[] | undefined;
        if (list?.some(tag)) problems.push(`${r.name}: ${plural} holds ${list.filter(tag).join(", ")}`);
        if (list !== undefined && (r as any)[single] !== undefined) problems.push(`${r.name}: both ${single} and ${plural}`);
        if (list === undefined && (r as any)[single] === undefined) problems.push(`${r.name}: neither ${single} nor ${plural}`);
    }
    return problems;
}

describe("issue #10: Azure as the API behaves", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("azure");
    });

    it("item 1: service tags and * only in the singular NSG fields, lists of CIDRs/ports in the plural ones", async () => {
        assert.deepEqual(rulesOf(s).flatMap(azureRefuses), []);
        const open = await synthStack("azure", (raw: any) => {
            raw.infra.azure.adminCidrs = ["0.0.0.0/0", "198.51.100.0/24"];
            raw.infra.azure.allowSshFromAnywhere = true;
        });
        assert.deepEqual(rulesOf(open).flatMap(azureRefuses), []);
        const two = nodeSecurityRules({ adminCidrs: ["203.0.113.0/24", "198.51.100.0/24"], subnetCidr: "10.240.0.0/16", httpNodePort: 30080, httpsNodePort: 30443 });
        assert.deepEqual(two[0].sourceAddressPrefixes, ["203.0.113.0/24", "198.51.100.0/24"]);
        assert.equal(two.find((r) => r.name === "allow-http-https")!.sourceAddressPrefix, "Internet");
        assert.equal(two.find((r) => r.name === "allow-inside-subnet")!.destinationPortRange, "*");
    });

    it("item 2: the OS disk type fits the VM size by default; a premium disk on a size without premium storage is refused, naming both keys", async () => {
        const disk = (x: Synthesis, node: string) => (named(x, `vms-${node}`).inputs as any).storageProfile.osDisk;
        assert.equal(disk(s, "k8s-node1").managedDisk.storageAccountType, "Premium_LRS", "Standard_D2s_v3 takes premium disks");
        const plain = await synthStack("azure", (raw: any) => (raw.infra.azure.workerSize = "Standard_D2_v3"));
        assert.equal(disk(plain, "k8s-node1").managedDisk.storageAccountType, "StandardSSD_LRS");
        assert.match(
            errorFor("azure", (raw) => Object.assign(raw.infra.azure, { workerSize: "Standard_A2_v2", osDiskType: "Premium_LRS" })),
            /k8s-platform:infra\.azure\.osDiskType: "Premium_LRS" needs a premium-storage-capable VM size, but infra\.azure\.workerSize is "Standard_A2_v2"/,
        );
        assert.match(errorFor("azure", (raw) => (raw.infra.azure.osDiskType = "Ultra")), /infra\.azure\.osDiskType: "Ultra" is not allowed; allowed values: Premium_LRS, Premium_ZRS, StandardSSD_LRS, StandardSSD_ZRS, Standard_LRS/);
    });

    it("item 3: refuses admin user names Azure reserves, saying why", () => {
        for (const name of ["admin", "administrator", "root", "user", "test1", "guest"]) {
            assert.match(errorFor("azure", (raw) => (raw.infra.azure.adminUser = name)), new RegExp(`k8s-platform:infra\\.azure\\.adminUser: "${name}" is a name Azure refuses for a VM's admin user`));
        }
    });

    it("item 4: DNS labels: at most 63 characters, and a default prefix with a random suffix kept in state", () => {
        const long = "n".repeat(60);
        assert.equal(parseConfig({ ...rawConfigOf("azure"), infra: { ...(rawConfigOf("azure") as any).infra, azure: { ...(rawConfigOf("azure") as any).infra.azure, dnsLabelPrefix: "a-long-prefix" } } }, { stack: "azure", hasSshPrivateKey: true }).infra.provider, "azure");
        assert.match(
            errorFor("azure", (raw) => Object.assign(raw.infra.azure, { dnsLabelPrefix: "corp-k8s-prod" }) && (raw.nodes[3].name = long)),
            /k8s-platform:infra\.azure\.dnsLabelPrefix: the public DNS label "corp-k8s-prod-n{60}" of nodes\[3\] \(n{60}\) has 74 characters; Azure allows at most 63/,
        );
        const suffix = byType(s, "random:index/randomString:RandomString").find((r) => r.name === "dns-suffix")!;
        assert.deepEqual([suffix.inputs.length, suffix.inputs.upper, suffix.inputs.special], [6, false, false]);
        const label = (named(s, "vms-k8s-node1-ip").inputs as any).dnsSettings.domainNameLabel;
        assert.equal(label, "k8sp-abc123-k8s-node1", "k8sp-<the RandomString's result>-<node>");
    });

    it("item 4: a configured prefix is used as is, with no random suffix", async () => {
        const fixed = await synthStack("azure", (raw: any) => (raw.infra.azure.dnsLabelPrefix = "k8sp-azure"));
        assert.equal((named(fixed, "vms-k8s-node1-ip").inputs as any).dnsSettings.domainNameLabel, "k8sp-azure-k8s-node1");
        assert.equal(byType(fixed, "random:index/randomString:RandomString").filter((r) => r.name.endsWith("dns-suffix")).length, 0);
    });

    it("item 5: OS disks are deleted with their VM", () => {
        for (const vm of byType(s, "azure-native:compute:VirtualMachine")) {
            assert.equal((vm.inputs as any).storageProfile.osDisk.deleteOption, "Delete", vm.name);
        }
    });
});

describe("issue #10: AKS as the API behaves", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("aks");
    });

    it("item 7: the cluster identity holds Network Contributor on its subnet, before any Kubernetes object", () => {
        const role = byType(s, "azure-native:authorization:RoleAssignment").find((r) => String((r.inputs as any).roleDefinitionId).endsWith(NETWORK_CONTRIBUTOR_ROLE_ID));
        assert.ok(role, "a Network Contributor assignment");
        const inputs = role!.inputs as any;
        assert.equal(inputs.roleDefinitionId, `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/${NETWORK_CONTRIBUTOR_ROLE_ID}`);
        assert.equal(inputs.principalId, "cluster-identity-principal-id", "the cluster's system-assigned identity");
        assert.equal(inputs.principalType, "ServicePrincipal");
        assert.equal(inputs.scope, "net-subnet-id", "scoped to the subnet the pools use");
        assert.deepEqual(named(s, "cluster-k8s").dependsOn, [role!.name]);
    });

    it("item 8: the subnet NSG lets the internet reach 80/443 (AKS never edits it) and keeps the VNet open", () => {
        const rules = rulesOf(s, "net-nsg");
        for (const port of [80, 443]) {
            assert.ok(rules.some((r) => opensToInternet(r, port)), `port ${port}`);
        }
        assert.ok(!rules.some((r) => opensToInternet(r, 22)), "nothing else from the internet");
        assert.ok(rules.some((r) => r.sourceAddressPrefix === "VirtualNetwork" && r.destinationAddressPrefix === "VirtualNetwork" && r.destinationPortRange === "*"));
        assert.deepEqual(rules.flatMap(azureRefuses), []);
        assert.deepEqual(aksSecurityRules().flatMap(azureRefuses), []);
    });

    it("item 9: the node pool is an AgentPool (scaled in place); the inline system pool is kept from drifting", async () => {
        const cluster = byType(s, "azure-native:containerservice:ManagedCluster")[0];
        assert.deepEqual(cluster.options.ignoreChanges, ["agentPoolProfiles"]);
        const pool = named(s, "cluster-pool");
        assert.equal(pool.type, "azure-native:containerservice:AgentPool");
        const inputs = pool.inputs as any;
        assert.equal(inputs.resourceName, "cluster-aksa1b2c3d4", "the cluster's (autonamed) name");
        assert.equal(inputs.agentPoolName, "nodes");
        assert.notEqual(inputs.agentPoolName, (cluster.inputs as any).agentPoolProfiles[0].name, "azure-native cannot create a pool that exists");
        assert.equal(inputs.vnetSubnetID, "net-subnet-id");
        const scaled = await synthStack("aks", (raw: any) => (raw.infra.aks.nodeCount = 5));
        assert.equal((named(scaled, "cluster-pool").inputs as any).count, 5);
        assert.deepEqual(byType(scaled, "azure-native:containerservice:ManagedCluster")[0].inputs, cluster.inputs, "a new count does not touch the cluster");
        const auto = await synthStack("aks", (raw: any) => (raw.infra.aks.autoscaler = { minCount: 2, maxCount: 6 }));
        const autoPool = named(auto, "cluster-pool");
        assert.deepEqual([(autoPool.inputs as any).enableAutoScaling, (autoPool.inputs as any).minCount, (autoPool.inputs as any).maxCount], [true, 2, 6]);
        assert.deepEqual(autoPool.options.ignoreChanges, ["count"]);
    });
});

describe("azure: SSH host keys the program generates", () => {
    it("gives every VM an ed25519 host key through cloud-init and pins it on every command to that VM", async () => {
        const s = await synthStack("azure");
        const vms = byType(s, "azure-native:compute:VirtualMachine");
        assert.equal(vms.length, 4);
        for (const vm of vms) {
            const node = String(vm.inputs.vmName);
            assert.ok(containsSecret(vm.inputs.osProfile), `${node}: the host key travels as a secret`);
            assert.ok(!JSON.stringify(maskSecrets(vm.inputs)).includes("MOCK-PRIVATE-KEY"), `${node}: nothing shows the private key`);
            const customData = (unwrapSecrets(vm.inputs.osProfile) as any).customData;
            const cloudConfig = Buffer.from(String(customData), "base64").toString();
            assert.match(cloudConfig, /^#cloud-config\nssh_keys:\n  ed25519_private: \|\n    -----BEGIN OPENSSH PRIVATE KEY-----\n/);
            const publicKey = /ed25519_public: (.*)$/m.exec(cloudConfig)![1];
            assert.match(publicKey, /^ssh-ed25519 /);
            assert.ok(vm.options.ignoreChanges?.includes("osProfile.customData"), "custom data is fixed at creation");
            const toNode = commands(s).filter((c) => (unwrapSecrets(c.inputs.connection) as any).host.startsWith(`k8sp-`) && (unwrapSecrets(c.inputs.connection) as any).host.includes(`-${node}.`));
            assert.ok(toNode.length >= 3, `${node}: commands found`);
            for (const c of toNode) {
                assert.equal((unwrapSecrets(c.inputs.connection) as any).hostKey, publicKey, c.name);
            }
        }
    });

    it("leaves VMs created before host keys were pinned alone when pinHostKeys is false", async () => {
        const s = await synthStack("azure", (raw: any) => {
            raw.infra.azure.pinHostKeys = false;
        });
        for (const vm of byType(s, "azure-native:compute:VirtualMachine")) {
            assert.equal((unwrapSecrets(vm.inputs.osProfile) as any).customData, undefined);
        }
        assert.ok(commands(s).every((c) => (unwrapSecrets(c.inputs.connection) as any).hostKey === undefined));
    });
});


describe("issue 18 item 10: rotating the SSH key or changing adminUser on Azure", () => {
    const NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINewRotatedKey k8s-platform";
    /** The azure stack with another private key (its public key as tls.getPublicKey derives it). */
    async function rotated(edit?: (raw: any) => void): Promise<Synthesis> {
        const { config, secretKeys } = readStackFile("azure");
        config["k8s-platform:sshPrivateKey"] = "-----BEGIN OPENSSH PRIVATE KEY-----\nrotated-key\n-----END OPENSSH PRIVATE KEY-----\n";
        if (edit) {
            const azure = JSON.parse(config["k8s-platform:infra"]);
            const raw = { infra: azure };
            edit(raw);
            config["k8s-platform:infra"] = JSON.stringify(raw.infra);
        }
        return synthesize("azure", config, secretKeys, program, {
            invoke: (token) => (token === "tls:index/getPublicKey:getPublicKey" ? { publicKeyOpenssh: NEW_KEY, publicKeyPem: "NEW-PEM" } : undefined),
        });
    }

    it("never asks Azure to change a VM's keys or admin user (refused in place): the diffed osProfile is the VM's own", async () => {
        const before = await synthStack("azure");
        const after = await rotated((raw) => (raw.infra.azure.adminUser = "k8sadmin"));
        for (const vm of byType(after, "azure-native:compute:VirtualMachine")) {
            const old = named(before, vm.name).inputs;
            const diffed = inputsAfterIgnoreChanges(unwrapSecrets(vm.inputs) as any, unwrapSecrets(old) as any, vm.options.ignoreChanges ?? []) as any;
            assert.deepEqual(diffed.osProfile, unwrapSecrets(old.osProfile), `${vm.name}: no osProfile change reaches the API`);
        }
    });

    it("installs the key for the admin user through the VM agent (VMAccessForLinux) before any command connects with it", async () => {
        const s = await rotated();
        for (const node of ["k8s-master", "k8s-node1"]) {
            const access = named(s, `vms-${node}-ssh-access`);
            const inputs = unwrapSecrets(access.inputs) as any;
            assert.deepEqual([inputs.publisher, inputs.type, inputs.vmName], ["Microsoft.OSTCExtensions", "VMAccessForLinux", node]);
            assert.deepEqual(inputs.protectedSettings, { username: "azureuser", ssh_key: NEW_KEY, remove_prior_keys: true, enable_passwordless_access: true });
            assert.deepEqual(named(s, `cluster-${node}-prepare`).dependsOn, [access.name], "the first command on the node waits for its key");
        }
    });

    it("a rotated key re-runs every command with the new key (as the README says), a new adminUser as the new user", async () => {
        const before = await synthStack("azure");
        const after = await rotated((raw) => (raw.infra.azure.adminUser = "k8sadmin"));
        const connection = (s: Synthesis, name: string) => unwrapSecrets(named(s, name).inputs.connection) as any;
        const keyOnly = await rotated();
        for (const c of commands(after)) {
            assert.notDeepEqual(connection(keyOnly, c.name).privateKey, connection(before, c.name).privateKey, `${c.name} runs again with the new key`);
            assert.match(connection(keyOnly, c.name).privateKey, /rotated-key/);
            assert.equal(connection(after, c.name).user, "k8sadmin");
        }
        const access = unwrapSecrets(named(after, "vms-k8s-node2-ssh-access").inputs) as any;
        assert.equal(access.protectedSettings.username, "k8sadmin");
    });
});

describe("issue 18 item 21: AKS role assignments need Owner or User Access Administrator", () => {
    it("says so next to each role assignment (azure-native fails a refused assignment at once with AuthorizationFailed)", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const seen: [string, string | undefined][] = [];
        const original = pulumi.log.info;
        pulumi.log.info = async (msg: string, resource?: any) => {
            seen.push([msg, resource?.__name]);
        };
        try {
            await synthStack("aks");
        } finally {
            pulumi.log.info = original;
        }
        const hinted = seen.filter(([msg]) => msg === ROLE_ASSIGNMENT_HINT).map(([, r]) => r).sort();
        assert.deepEqual(hinted, ["cluster-acr-pull", "cluster-subnet-network-contributor"]);
        assert.match(ROLE_ASSIGNMENT_HINT, /Owner or User Access Administrator \(Microsoft\.Authorization\/roleAssignments\/write\).*Contributor is not enough/);
    });
});
