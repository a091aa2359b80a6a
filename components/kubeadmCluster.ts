import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { KubernetesConfig, NodeSpec, OsConfig } from "../config";
import { prepareNodeEnv } from "../config";
import { ClusterMember } from "./clusterMember";
import { NodeHost } from "./nodeHost";
import { runScript, SshAccess } from "./remoteScript";
import { caCertHash, renderInitConfig, renderJoinConfig } from "./render/kubeadm";
import { renderAdminKubeconfig } from "./render/kubeconfig";

export interface KubeadmClusterArgs {
    /** kubeadm's clusterName, also naming the kubeconfig's cluster, the provider's clusterIdentifier
     * and the nodes' /etc/hosts block (the stack's name kept in state: a renamed stack changes none). */
    readonly clusterName: pulumi.Input<string>;
    /** Version, networks, control-plane endpoint. */
    readonly kubernetes: KubernetesConfig;
    /** Cluster nodes, control planes first; `kubernetes.bootstrapNode` names the one that runs `kubeadm init`. */
    readonly nodes: NodeSpec[];
    /** The /etc/hosts lines every node gets (every machine, the platform's names), one block per node. */
    readonly hostsLines: pulumi.Input<string>;
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
    readonly kubeconfigServer?: pulumi.Input<string>;
    /** Names added to the API server certificate that are known only at deployment, e.g. a cloud
     * DNS name with a generated part (default: none). */
    readonly extraCertSANs?: pulumi.Input<string>[];
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
    public readonly apiEndpoint: pulumi.Input<string>;
    /** Kubernetes provider for in-cluster resources. */
    public readonly provider: k8s.Provider;
    /** The join command per joining node. */
    public readonly joins: Record<string, pulumi.Resource>;
    /** `kubeadm init` and every node's join: what in-cluster workloads wait for. */
    public readonly ready: pulumi.Resource[];
    /** The preparation command per node (containerd and packages in place). */
    public readonly prepared: Record<string, pulumi.Resource>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:KubeadmCluster", name, {}, opts);
        const first = args.nodes.find((n) => n.name === args.kubernetes.bootstrapNode);
        if (!first) {
            throw new Error(`bootstrap node ${args.kubernetes.bootstrapNode} is not among the cluster nodes`);
        }
        const joiners = args.nodes.filter((n) => n !== first);
        const endpoint = args.kubernetes.controlPlaneEndpoint;
        const controlPlaneCount = args.nodes.filter((n) => n.role === "control-plane").length;

        const { caKey, caCert, caHash, bootstrapToken, certificateKey } = this.clusterSecrets(name);

        const hosts: Record<string, NodeHost> = {};
        for (const node of args.nodes) {
            hosts[node.name] = new NodeHost(
                `${name}-${node.name}`,
                {
                    node,
                    hostsLines: args.hostsLines,
                    hostsBlockName: args.clusterName,
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

        const initConfig = pulumi.all([pulumi.all(args.extraCertSANs ?? []), args.clusterName]).apply(([extraSANs, clusterName]) => renderInitConfig({
            clusterName,
            node: first,
            kubernetesVersion: args.kubernetes.version,
            podSubnet: args.kubernetes.podSubnet,
            serviceSubnet: args.kubernetes.serviceSubnet,
            dnsDomain: args.kubernetes.dnsDomain,
            controlPlaneEndpoint: endpoint,
            certSANs: [...args.kubernetes.apiServerCertSANs, ...extraSANs],
        }));
        const init = runScript(
            `${name}-init`,
            {
                host: first,
                ssh: args.ssh,
                create: {
                    script: "kubeadm-init",
                    env: {
                        // Resolves only if the bootstrap node is the one the cluster was initialised on.
                        NODE_NAME: this.pinBootstrapNode(name, first.name),
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
                // kubeadm init prints the join command with the token; keep its output out of logs and state.
                secretOutput: true,
                // A recreated bootstrap machine must not start a second cluster with the same CA.
                machineBound: false,
            },
            // kubeadm, containerd and the kernel settings must be in place first.
            { parent: this, dependsOn: [hosts[first.name].prepared, ...(args.initAfter ?? [])] },
        );

        this.apiEndpoint = args.kubeconfigServer ?? `https://${endpoint}`;
        this.kubeconfig = this.adminKubeconfig(name, args.clusterName, this.apiEndpoint, caKey, caCert);
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig: this.kubeconfig,
                // Without it a changed or unknown kubeconfig (a renewed client certificate) makes the
                // engine replace the provider and so every object it manages (pulumi-kubernetes
                // provider.go: only a changed clusterIdentifier replaces the provider when it is set).
                clusterIdentifier: pulumi.interpolate`${args.clusterName}-kubeadm`,
            },
            // The credentials work once init has created the cluster-admins binding.
            { parent: this, dependsOn: [init] },
        );

        // One step on the bootstrap node re-arms the bootstrap token (and uploads the control-plane
        // certificates) for every join of this `up`: its input is the list of joining nodes, so it runs
        // again when a node is added, and the control plane sees one SSH session, not one per node.
        const joiningNodes = joiners.map((n) => n.name).sort();
        const credentials =
            joiners.length > 0
                ? runScript(
                      `${name}-join-credentials`,
                      {
                          host: first,
                          ssh: args.ssh,
                          create: {
                              script: "cluster-admin",
                              env: { ACTION: "issue-join-credentials", NODE_NAME: first.name, JOINING_NODES: joiningNodes.join(" ") },
                          },
                          secrets: { BOOTSTRAP_TOKEN: bootstrapToken, CERTIFICATE_KEY: controlPlaneCount > 1 ? certificateKey : undefined },
                      },
                      // Issued with admin.conf on the initialised control plane. It waits for no node's
                      // preparation: one broken host must not hold back every other join, so the token
                      // lives 24 h (cluster-admin.sh) to cover slow ones.
                      { parent: this, dependsOn: [init] },
                  )
                : undefined;

        this.joins = this.joinNodes(name, args, { first, joiners, hosts, init, credentials, caHash, bootstrapToken, certificateKey });
        this.ready = [init, ...Object.values(this.joins)];

        this.registerOutputs({ kubeconfig: this.kubeconfig, apiEndpoint: this.apiEndpoint });
    }

    /** The cluster CA (placed before init, so its hash is known to every join), the bootstrap
     * token "[a-z0-9]{6}.[a-z0-9]{16}" and the control-plane certificate key: all secrets. */
    private clusterSecrets(name: string) {
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

        const tokenPart = (part: string, length: number) =>
            new random.RandomPassword(`${name}-token-${part}`, { length, upper: false, special: false, lower: true, numeric: true }, { parent: this });
        const bootstrapToken = pulumi.secret(pulumi.interpolate`${tokenPart("id", 6).result}.${tokenPart("secret", 16).result}`);
        const certificateKey = pulumi.secret(new random.RandomBytes(`${name}-certificate-key`, { length: 32 }, { parent: this }).hex);

        return { caKey, caCert, caHash, bootstrapToken, certificateKey };
    }

    /** Every node but the bootstrap one joins: workers in parallel, control planes one at a time. */
    private joinNodes(
        name: string,
        args: KubeadmClusterArgs,
        ctx: {
            first: NodeSpec;
            joiners: NodeSpec[];
            hosts: Record<string, NodeHost>;
            init: pulumi.Resource;
            credentials?: pulumi.Resource;
            caHash: pulumi.Output<string>;
            bootstrapToken: pulumi.Output<string>;
            certificateKey: pulumi.Output<string>;
        },
    ): Record<string, pulumi.Resource> {
        const { first, joiners, hosts, init, credentials, caHash, bootstrapToken, certificateKey } = ctx;
        const endpoint = args.kubernetes.controlPlaneEndpoint;
        const joins: Record<string, pulumi.Resource> = {};
        let previousControlPlane: pulumi.Resource = init;
        for (const node of joiners) {
            const controlPlane = node.role === "control-plane";
            const member = new ClusterMember(
                `${name}-${node.name}`,
                {
                    node,
                    admin: first,
                    ssh: args.ssh,
                    provider: this.provider,
                    joinConfig: caHash.apply((hash) =>
                        renderJoinConfig({ node, controlPlaneEndpoint: endpoint, caCertHash: hash, controlPlane }),
                    ),
                    bootstrapToken,
                    certificateKey: controlPlane ? certificateKey : undefined,
                    // The node must be prepared and the token armed. Control planes join one at a time
                    // (each adds an etcd member; concurrent adds can lose quorum); workers wait for
                    // nothing else, so they join in parallel.
                    after: [hosts[node.name].prepared, credentials!, ...(controlPlane ? [previousControlPlane] : [])],
                },
                { parent: this },
            );
            joins[node.name] = member.joined;
            if (controlPlane) {
                previousControlPlane = member.joined;
            }
        }

        return joins;
    }

    /**
     * Pins the bootstrap node in state: a RandomId whose keepers hold its name, with the keepers'
     * changes ignored, so its output keeps the name of the node the cluster was initialised on.
     * The returned name resolves only while config names the same node; otherwise the program
     * stops, before `kubeadm init` can be re-pointed at another machine, with the fix in the message.
     */
    private pinBootstrapNode(name: string, node: string): pulumi.Output<string> {
        const pin = new random.RandomId(
            `${name}-bootstrap-node`,
            { byteLength: 4, keepers: { node } },
            // Keep what the first `up` recorded, whatever the config says later.
            { parent: this, ignoreChanges: ["keepers"] },
        );
        return pin.keepers.apply((keepers) => {
            const initialised = keepers?.node ?? node;
            if (initialised !== node) {
                throw new Error(
                    `k8s-platform:kubernetes.bootstrapNode: the cluster was initialised on ${initialised}, but the config now ` +
                        `makes ${node} the bootstrap node (a new first control plane, or a changed key); that would run kubeadm ` +
                        `init on another machine. Set kubernetes.bootstrapNode to "${initialised}".`,
                );
            }
            return node;
        });
    }

    /**
     * The admin kubeconfig, built here rather than read from admin.conf: a client certificate
     * signed by the cluster CA the program owns (organisation kubeadm:cluster-admins, bound to
     * cluster-admin by kubeadm since 1.29), renewed by `pulumi up` in its last 60 days. Known at
     * preview whenever the certificates are, and never stale after a kubeadm upgrade.
     */
    private adminKubeconfig(name: string, clusterName: pulumi.Input<string>, server: pulumi.Input<string>, caKey: tls.PrivateKey, caCert: tls.SelfSignedCert): pulumi.Output<string> {
        const key = new tls.PrivateKey(`${name}-admin-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const csr = new tls.CertRequest(
            `${name}-admin-csr`,
            { privateKeyPem: key.privateKeyPem, subject: { commonName: "k8s-platform-admin", organization: "kubeadm:cluster-admins" } },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${name}-admin-cert`,
            {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: caCert.certPem,
                validityPeriodHours: 365 * 24,
                earlyRenewalHours: 60 * 24,
                allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
            },
            { parent: this },
        );
        return pulumi.secret(
            pulumi
                .all([caCert.certPem, cert.certPem, key.privateKeyPem, server, clusterName])
                .apply(([caCertPem, clientCertPem, clientKeyPem, server, clusterName]) => renderAdminKubeconfig({ clusterName, server, caCertPem, clientCertPem, clientKeyPem })),
        );
    }
}
