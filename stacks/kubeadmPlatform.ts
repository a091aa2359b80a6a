import * as pulumi from "@pulumi/pulumi";
import { Flannel } from "../components/flannel";
import { HaproxyBalancer } from "../components/haproxyBalancer";
import { ControlPlaneMaintenance } from "../components/controlPlaneMaintenance";
import { KubeadmCluster } from "../components/kubeadmCluster";
import { KubernetesUpgrade } from "../components/kubernetesUpgrade";
import { NfsServer } from "../components/nfsServer";
import { Platform, VOLUME_DIRECTORIES } from "../components/platform";
import { registryHostFor } from "../components/registry";
import { RegistryTrust } from "../components/registryTrust";
import { SshAccess } from "../components/remoteScript";
import { AddonHost, apiServerName, ingressAddress, KubernetesVersionPlan, mirrorHostPasswordsSecret, PlatformConfig, stackHosts, StackSecrets } from "../config";
import { StackOutputs } from "./outputs";
import { stackIndependent } from "./names";
import { hostsLines } from "../components/render/hostsFile";
import { withPort } from "../components/render/urls";
import { kubernetesVersionPlan, nodeRenameCheck, recordedKubernetesVersion } from "./versionRecord";

/** What the infrastructure (vSphere, existing hosts, Azure VMs) hands to the kubeadm platform. */
export interface KubeadmInfra {
    /** The machine behind each host name, when the program creates it (default: none). */
    readonly machines: Record<string, pulumi.Resource>;
    /** SSH access to every host. */
    readonly ssh: SshAccess;
    /** Where the platform's host names resolve (default: see `ingressAddress`), e.g. a cloud load
     * balancer's public IP, with the ports it listens on. */
    readonly ingress?: { readonly ip: pulumi.Input<string>; readonly httpPort: number; readonly httpsPort: number };
    /** How the nodes themselves reach the ingress (default: `ingress`), e.g. a worker's node ports
     * where a cloud load balancer does not answer its own backends. */
    readonly nodeIngress?: { readonly ip: string; readonly port: number };
    /** API server URL for the kubeconfig output (default: the control-plane endpoint). */
    readonly kubeconfigServer?: pulumi.Input<string>;
    /** Extra API server certificate names known only at deployment (default: none). */
    readonly extraCertSANs?: pulumi.Input<string>[];
    /** kubeadm's clusterName and the cluster's other identities (the stack's pinned name, see stacks/names.ts). */
    readonly clusterName: pulumi.Input<string>;
    /** The version this `up` brings the cluster to, checked against the stack's record
     * (`checkedKubernetesVersion`, made before the machines, which wait for it). */
    readonly version: pulumi.Output<KubernetesVersionPlan>;
}

/** The cluster component's name: its nodes' preparation steps are `cluster-<node>-prepare` (NodeHost). */
const CLUSTER = "cluster";

/**
 * The version to run (the configured one, an upgrade when it moved, or the recorded one), checked
 * against what the last completed `up` recorded (stacks/versionRecord.ts): the version skew, the
 * recorded containerd, the control-plane count, nodes added during an upgrade, a new node at a
 * leaving node's address. A refused change rejects it. Every command on the cluster's hosts waits
 * for it (KubeadmCluster's checked access), and so does every machine the program creates
 * (VsphereMachines, AzureNodes `gate`): the refusal is registered with the others and fails the
 * program, but under `pulumi up --skip-preview` (and the automation API's `up`, which previews
 * nothing) a resource that did not wait would be created or resized before the program failed.
 */
export function checkedKubernetesVersion(config: PlatformConfig): pulumi.Output<KubernetesVersionPlan> {
    const record = recordedKubernetesVersion();
    const plan = kubernetesVersionPlan(config.kubernetes, record, {
        members: config.nodes.map((n) => ({ name: n.name, role: n.role })),
        prepareStep: (node) => `${CLUSTER}-${node}-prepare`,
    });
    return pulumi.all([plan, nodeRenameCheck(config.nodes, record)]).apply(([p]) => p);
}

/**
 * A kubeadm cluster and the platform on it: node preparation, init and joins, Flannel, HAProxy,
 * NFS, the in-cluster platform and the nodes' registry trust. Shared by every infrastructure.
 */
/** HAProxy's backends. Fronting the API (several control planes, or the endpoint named), HAProxy
 * is the control-plane endpoint: it must answer before init (config validation puts it on a host
 * of its own for that). */
/** The cluster's image-mirror arguments (config `images` and the mirrors' secrets). */
function imageMirrorArgs(config: PlatformConfig, secrets: StackSecrets) {
    const hosts = config.images.hosts ?? {};
    return {
        imageMirrors: config.images.mirrors,
        imageMirrorCa: config.images.caCert,
        // Config validation has required the password with the user name.
        imageMirrorCredentials: config.images.username !== undefined ? { username: config.images.username, password: secrets.imagesPassword ?? pulumi.secret("") } : undefined,
        imageMirrorPlainHttp: config.images.plainHttp,
        imageMirrorHosts: config.images.hosts,
        // And a password for each host with a user name.
        imageMirrorHostPasswords: Object.values(hosts).some((h) => h.username !== undefined)
            ? pulumi.secret(pulumi.output(secrets.imagesHostPasswords ?? {}).apply((pw) => mirrorHostPasswordsSecret(hosts, pw)))
            : undefined,
    };
}

function haproxyBackendsOf(config: PlatformConfig, workers: PlatformConfig["nodes"]) {
    return config.haproxy.enabled
        ? {
              httpNodePort: config.ingress.httpNodePort,
              httpsNodePort: config.ingress.httpsNodePort,
              workers,
              apiServers: config.haproxy.frontsApiServer ? config.nodes.filter((n) => n.role === "control-plane") : [],
          }
        : undefined;
}

export function buildKubeadmPlatform(config: PlatformConfig, infra: KubeadmInfra, secrets: StackSecrets = {}): StackOutputs {
    const named = (resource: string) => stackIndependent(config.stack, resource);
    const { machines, ssh } = infra;
    const hosts = stackHosts(config);
    // kube-vip's address has no machine of its own in the list: it gets a name (and that name a place in the certificate).
    const apiName = apiServerName(config);
    const workers = config.nodes.filter((n) => n.role === "worker");

    const haproxyBackends = haproxyBackendsOf(config, workers);
    const newBalancer = (after: pulumi.Resource[], reach: SshAccess) =>
        config.haproxy.enabled
            ? new HaproxyBalancer("lb", { host: config.haproxy.host.host, ssh: reach, backends: haproxyBackends!, firewall: config.os.firewall, after }, named("lb"))
            : undefined;
    // Fronting the API, HAProxy is on a host of its own (validated), so it only waits for that VM;
    // made by the cluster before init (init talks to the API through it), with the cluster's
    // checked access: its backends carry the nodes' IPs, so a refused change must not reach it.
    const frontsApi = config.haproxy.enabled && config.haproxy.frontsApiServer;
    const apiBalancer = (checkedSsh: SshAccess): pulumi.Resource[] => {
        const balancer = frontsApi ? newBalancer(machines[config.haproxy.host.host.name] ? [machines[config.haproxy.host.host.name]] : [], checkedSsh) : undefined;
        return balancer ? [balancer] : [];
    };

    // Checked against the record (checkedKubernetesVersion): every command on the cluster's hosts
    // waits for it (KubeadmCluster's checked access), so a refused change runs none.
    const version = infra.version;
    const cluster = new KubeadmCluster(CLUSTER, {
        clusterName: infra.clusterName,
        version,
        kubernetes: config.kubernetes,
        nodes: config.nodes,
        // Every node knows every machine and resolves the registry at the ingress as nodes reach it.
        hostsLines: pulumi.output(infra.nodeIngress?.ip ?? ingressAddress(config).ip).apply((ingressIp) =>
            hostsLines([
                ...hosts.map((h) => ({ ip: h.host.ip, names: [h.host.name] })),
                ...(config.registry.enabled ? [{ ip: ingressIp, names: [registryHostFor(config.domain)] }] : []),
            ]),
        ),
        os: config.os,
        nodeNetwork: config.network.cidr,
        nfsClient: config.nfs.enabled,
        domain: config.domain,
        metallb: config.metallb.enabled,
        ssh,
        machines,
        initAfter: apiBalancer,
        kubeconfigServer: infra.kubeconfigServer,
        extraCertSANs: [...(infra.extraCertSANs ?? []), ...(apiName ? [apiName.name] : [])],
        ...imageMirrorArgs(config, secrets),
    }, named(CLUSTER));
    // Through the cluster's checks, like every command on its nodes: a refused change runs none.
    const maintenance = controlPlaneMaintenance(config, cluster, cluster.ssh, version);
    const upgrade = kubernetesUpgrade(config, cluster, maintenance, version);
    // On a cluster node, host services wait for its preparation (one package manager at a time);
    // on a VM of their own, for the VM.
    const afterHost = (addon: AddonHost): pulumi.Resource[] => {
        const ready = addon.kind === "node" ? cluster.prepared[addon.host.name] : machines[addon.host.name];
        return ready ? [ready] : [];
    };
    const flannel = new Flannel(
        "flannel",
        { podCidr: config.kubernetes.podSubnet, podNetworkInterface: config.kubernetes.podNetworkInterface, provider: cluster.provider, charts: config.charts, namePrefix: infra.clusterName, imageMirrors: config.images.mirrors },
        // The API server must be up (init); nodes turn Ready only once Flannel runs, so it waits for nothing else.
        { dependsOn: cluster.ready.slice(0, 1), ...named("flannel") },
    );

    // On a cluster node, host services reach it at its recorded address (cluster.ssh).
    if (config.haproxy.enabled && !frontsApi) {
        newBalancer(afterHost(config.haproxy.host), cluster.ssh);
    }
    const nfs = config.nfs.enabled
        ? new NfsServer("nfs", {
              host: config.nfs.host.host,
              ssh: cluster.ssh,
              exportPath: config.nfs.exportPath,
              exportNetwork: config.network.cidr,
              volumeDirectories: [
                  ...(config.registry.enabled ? [VOLUME_DIRECTORIES.registry] : []),
                  ...(config.testApp.enabled ? [VOLUME_DIRECTORIES.testApp] : []),
              ],
              firewall: config.os.firewall,
              after: afterHost(config.nfs.host),
          }, named("nfs"))
        : undefined;

    const ingress = infra.ingress ?? ingressAddress(config);
    const platform = buildPlatform(config, infra, cluster, ingress, [flannel, ...cluster.ready], nfs);

    if (platform.registry) {
        new RegistryTrust("registry-trust", {
            nodes: config.nodes,
            ssh: cluster.ssh,
            registryHost: platform.registry.host,
            ingressPort: infra.nodeIngress?.port,
            mode: config.registry.mode,
            caCertPem: platform.registry.caCertPem,
            after: cluster.prepared,
        }, named("registry-trust"));
    }

    const platformHosts = [platform.registry?.host, platform.testApp ? `share-storage.${config.domain}` : undefined].filter(
        (h): h is string => h !== undefined,
    );
    const hostsFile = pulumi.output(ingress.ip).apply((ip) =>
        hostsLines([
            ...hosts.map((h) => ({ ip: h.host.ip, names: [h.host.name] })),
            ...(apiName ? [{ ip: apiName.ip, names: [apiName.name] }] : []),
            ...(platformHosts.length > 0 ? [{ ip, names: platformHosts }] : []),
        ]),
    );
    const urls: Record<string, string> = {};
    if (platform.testApp) {
        urls.testApp = `${withPort("http", `share-storage.${config.domain}`, ingress.httpPort)}/test.jsp`;
    }
    if (platform.registry) {
        urls.registry = config.registry.mode === "tls" ? withPort("https", platform.registry.host, ingress.httpsPort) : withPort("http", platform.registry.host, ingress.httpPort);
    }
    return {
        nodes: hosts.map((h) => ({ name: h.host.name, role: h.role, ip: h.host.ip })),
        apiEndpoint: cluster.apiEndpoint,
        kubeconfig: cluster.kubeconfig,
        hostsFile,
        ingressAddress: config.ingress.enabled ? ingress.ip : undefined,
        urls,
        registryCredentials: platform.registry?.credentials,
        registryCaCert: platform.registry?.caCertPem,
        certificateExpiry: maintenance.certificateExpiry,
        // Read back by the next `up` (stacks/versionRecord.ts): set once every upgrade step completed.
        kubernetesVersion: upgrade.version,
        // Read back by the next `up` (stacks/versionRecord.ts): a minor whose containerd minimum is
        // above a node's is refused before anything runs.
        containerdVersions: cluster.containerdVersions,
    };
}


/** The in-cluster platform (charts, storage, registry, test app) of a kubeadm cluster. */
function buildPlatform(
    config: PlatformConfig,
    infra: KubeadmInfra,
    cluster: KubeadmCluster,
    ingress: { readonly ip: pulumi.Input<string> },
    podNetworkAndNodes: pulumi.Resource[],
    nfs: NfsServer | undefined,
): Platform {
    const named = (resource: string) => stackIndependent(config.stack, resource);
    return new Platform(
        "platform",
        {
            provider: cluster.provider,
            profile: "kubeadm",
            charts: config.charts,
            imageMirrors: config.images.mirrors,
            namePrefix: infra.clusterName,
            domain: config.domain,
            ingress: config.ingress.enabled
                ? {
                      controller: config.ingress.controller,
                      serviceType: config.ingress.serviceType,
                      httpNodePort: config.ingress.httpNodePort,
                      httpsNodePort: config.ingress.httpsNodePort,
                      loadBalancerIP: config.metallb.enabled ? String(ingress.ip) : undefined,
                  }
                : undefined,
            metallb: config.metallb.enabled ? { addresses: config.metallb.addresses } : undefined,
            storage: config.nfs.enabled ? { kind: "nfs", server: config.nfs.host.host.ip, exportPath: config.nfs.exportPath } : undefined,
            registry: config.registry.enabled ? { mode: config.registry.mode, size: config.registry.size } : undefined,
            testApp: config.testApp.enabled ? { replicas: config.testApp.replicas, size: config.testApp.size } : undefined,
            metricsServer: config.metricsServer.enabled ? { kubeletInsecureTls: config.metricsServer.kubeletInsecureTls } : undefined,
            autoscaling: config.autoscaling.enabled ? config.autoscaling : undefined,
            storageReady: nfs ? [nfs.ready] : [],
        },
        // Pods need the pod network, and the nodes in config (their readiness waits would otherwise race
        // the joins on a new stack). dependsOn is not an input: a new node changes no existing resource.
        { dependsOn: podNetworkAndNodes, ...named("platform") },
    );
}

/**
 * The step per node that upgrades Kubernetes when the version changes (components/kubernetesUpgrade.ts):
 * each after its node's init or join; the bootstrap node's also after the maintenance programs,
 * whose etcd-backup.sh takes the snapshot before `kubeadm upgrade apply`.
 */
function kubernetesUpgrade(config: PlatformConfig, cluster: KubeadmCluster, maintenance: ControlPlaneMaintenance, version: pulumi.Output<KubernetesVersionPlan>): KubernetesUpgrade {
    const bootstrap = config.kubernetes.bootstrapNode;
    return new KubernetesUpgrade(
        "upgrade",
        {
            nodes: config.nodes,
            bootstrapNode: bootstrap,
            version,
            maxUnavailable: config.kubernetes.upgrade.maxUnavailable,
            after: {
                ...Object.fromEntries(Object.entries(cluster.joins).map(([node, joined]) => [node, [joined]])),
                [bootstrap]: [cluster.ready[0], maintenance],
            },
            adminKubeconfig: cluster.kubeconfig,
            apiServer: `https://${config.kubernetes.controlPlaneEndpoint}`,
            ssh: cluster.ssh,
        },
        stackIndependent(config.stack, "upgrade"),
    );
}

/**
 * etcd snapshots and certificate renewal on every control plane, after its join; on the bootstrap
 * control plane after init and every join: that host already runs its /etc/hosts block, registry
 * trust, NFS and the join credentials after init, and sshd's MaxStartups counts sessions opened
 * at once (test/scale.test.ts keeps it at 4). A join that fails holds it back until it succeeds, as
 * it holds back the platform.
 */
function controlPlaneMaintenance(config: PlatformConfig, cluster: KubeadmCluster, ssh: SshAccess, version: pulumi.Output<KubernetesVersionPlan>): ControlPlaneMaintenance {
    const bootstrap = config.kubernetes.bootstrapNode;
    return new ControlPlaneMaintenance("maintenance", {
        controlPlanes: config.nodes.filter((n) => n.role === "control-plane"),
        bootstrapNode: bootstrap,
        members: { ...cluster.joins, [bootstrap]: cluster.ready[0] },
        after: { [bootstrap]: cluster.ready },
        kubernetes: config.kubernetes,
        // Its minor picks the etcd tools: the cluster's, not the default's.
        version,
        os: config.os,
        nodeNetwork: config.network.cidr,
        domain: config.domain,
        ssh,
    });
}
