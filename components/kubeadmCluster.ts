import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { HostSpec, KubernetesConfig, NodeSpec, OsConfig } from "../stacks/config";
import { prepareNodeEnv } from "../stacks/nodeEnv";
import { ClusterMember } from "./clusterMember";
import { NodeHost } from "./nodeHost";
import { runScript, SshAccess } from "./remoteScript";
import { caCertHash, renderInitConfig, renderJoinConfig } from "./render/kubeadm";
import { withServer } from "./render/kubeconfig";

export interface KubeadmClusterArgs {
    /** kubeadm's clusterName (the stack name). */
    readonly clusterName: string;
    /** Version, networks, control-plane endpoint. */
    readonly kubernetes: KubernetesConfig;
    /** Cluster nodes, control planes first; the first one runs `kubeadm init`. */
    readonly nodes: NodeSpec[];
    /** Every host of the stack, for /etc/hosts on each node (default: the nodes). */
    readonly hostsEntries?: HostSpec[];
    /** OS preparation settings (firewall, proxy, package repositories). */
    readonly os: OsConfig;
    /** The node network (for NO_PROXY). */
    readonly nodeNetwork: string;
    /** Install the NFS client on every node (default: false). */
    readonly nfsClient?: boolean;
    /** The platform's DNS domain (`registry.<domain>`), kept off the proxy (default: none). */
    readonly domain?: string;
    readonly ssh: SshAccess;
    /** VM per node name when the program creates them (default: none, existing hosts). */
    readonly machines?: Record<string, pulumi.Resource>;
    /** What `kubeadm init` waits for besides the node's preparation (default: nothing), e.g. the
     * load balancer that is the control-plane endpoint: init talks to the API through it. */
    readonly initAfter?: pulumi.Resource[];
    /** API server URL written into the kubeconfig output, when the control-plane endpoint is not
     * reachable from where Pulumi runs (default: https://<control-plane endpoint>). */
    readonly kubeconfigServer?: string;
}

/**
 * A kubeadm cluster over SSH (seed 000 §6-10): every node prepared, `kubeadm init` on the first
 * control plane with a CA the program generates (so every join verifies it by hash), further
 * control planes joining one at a time, workers joining in parallel, and the admin kubeconfig
 * back as a secret with a Kubernetes provider built from it.
 */
export class KubeadmCluster extends pulumi.ComponentResource {
    /** Admin kubeconfig (secret); its server is the control-plane endpoint. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** https://<control-plane endpoint> */
    public readonly apiEndpoint: string;
    /** Kubernetes provider for in-cluster resources. */
    public readonly provider: k8s.Provider;
    /** The join command per joining node. */
    public readonly joins: Record<string, pulumi.Resource>;
    /** The preparation command per node (containerd and packages in place). */
    public readonly prepared: Record<string, pulumi.Resource>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:KubeadmCluster", name, {}, opts);
        const [first, ...joiners] = args.nodes;
        const endpoint = args.kubernetes.controlPlaneEndpoint;
        const controlPlaneCount = args.nodes.filter((n) => n.role === "control-plane").length;

        // Cluster CA: generated here and placed before init, so its hash is known to every join.
        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
        const caCert = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: "kubernetes" },
                validityPeriodHours: 10 * 365 * 24,
                allowedUses: ["cert_signing", "key_encipherment", "digital_signature"],
            },
            { parent: this },
        );
        const caHash = caCert.certPem.apply(caCertHash);

        // Bootstrap token "[a-z0-9]{6}.[a-z0-9]{16}" and the control-plane certificate key: secrets.
        const tokenPart = (part: string, length: number) =>
            new random.RandomPassword(`${name}-token-${part}`, { length, upper: false, special: false, lower: true, numeric: true }, { parent: this });
        const bootstrapToken = pulumi.secret(pulumi.interpolate`${tokenPart("id", 6).result}.${tokenPart("secret", 16).result}`);
        const certificateKey = pulumi.secret(new random.RandomBytes(`${name}-certificate-key`, { length: 32 }, { parent: this }).hex);

        const hosts: Record<string, NodeHost> = {};
        for (const node of args.nodes) {
            hosts[node.name] = new NodeHost(
                `${name}-${node.name}`,
                {
                    node,
                    hostsEntries: args.hostsEntries ?? args.nodes,
                    prepareEnv: prepareNodeEnv({
                        node,
                        kubernetes: args.kubernetes,
                        os: args.os,
                        nodeNetwork: args.nodeNetwork,
                        nfsClient: args.nfsClient ?? false,
                        domain: args.domain,
                    }),
                    ssh: args.ssh,
                    machine: args.machines?.[node.name],
                },
                { parent: this },
            );
        }

        this.prepared = Object.fromEntries(Object.entries(hosts).map(([node, host]) => [node, host.prepared]));

        const initConfig = renderInitConfig({
            clusterName: args.clusterName,
            node: first,
            kubernetesVersion: args.kubernetes.version,
            podSubnet: args.kubernetes.podSubnet,
            serviceSubnet: args.kubernetes.serviceSubnet,
            dnsDomain: args.kubernetes.dnsDomain,
            controlPlaneEndpoint: endpoint,
            certSANs: args.kubernetes.apiServerCertSANs,
        });
        const init = runScript(
            `${name}-init`,
            {
                host: first,
                ssh: args.ssh,
                create: {
                    script: "kubeadm-init",
                    env: {
                        NODE_NAME: first.name,
                        KUBEADM_CONFIG: initConfig,
                        UPLOAD_CERTS: String(controlPlaneCount > 1),
                    },
                },
                secrets: {
                    CA_CRT: caCert.certPem,
                    CA_KEY: caKey.privateKeyPem,
                    BOOTSTRAP_TOKEN: bootstrapToken,
                    CERTIFICATE_KEY: certificateKey,
                },
                delete: { script: "kubeadm-reset", env: { NODE_NAME: first.name } },
            },
            // kubeadm, containerd and the kernel settings must be in place first.
            { parent: this, dependsOn: [hosts[first.name].prepared, ...(args.initAfter ?? [])] },
        );

        this.joins = {};
        let previousControlPlane: pulumi.Resource = init;
        for (const node of joiners) {
            const controlPlane = node.role === "control-plane";
            const member = new ClusterMember(
                `${name}-${node.name}`,
                {
                    node,
                    admin: first,
                    ssh: args.ssh,
                    joinConfig: caHash.apply((hash) =>
                        renderJoinConfig({ node, controlPlaneEndpoint: endpoint, caCertHash: hash, controlPlane }),
                    ),
                    bootstrapToken,
                    certificateKey: controlPlane ? certificateKey : undefined,
                    // The node must be prepared and the cluster initialised. Control planes join one at a
                    // time (each adds an etcd member; concurrent adds can lose quorum); workers wait for
                    // nothing else, so they join in parallel.
                    after: [hosts[node.name].prepared, controlPlane ? previousControlPlane : init],
                },
                { parent: this },
            );
            this.joins[node.name] = member.joined;
            if (controlPlane) {
                previousControlPlane = member.joined;
            }
        }

        const kubeconfigRead = runScript(
            `${name}-kubeconfig`,
            { host: first, ssh: args.ssh, create: { script: "read-kubeconfig" }, secretOutput: true },
            // admin.conf exists once init has finished.
            { parent: this, dependsOn: [init] },
        );
        this.apiEndpoint = args.kubeconfigServer ?? `https://${endpoint}`;
        const server = this.apiEndpoint;
        this.kubeconfig = pulumi.secret(kubeconfigRead.stdout.apply((text) => (args.kubeconfigServer ? withServer(text, server) : text)));
        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this });

        this.registerOutputs({ kubeconfig: this.kubeconfig, apiEndpoint: this.apiEndpoint });
    }
}
