import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { ImageMirrors, imageFor, MirrorHostSettings, IMAGES, KubernetesConfig, KubernetesVersionPlan, NodeSpec, OsConfig } from "../config";
import { prepareNodeEnv } from "../config";
import { ClusterMember } from "./clusterMember";
import { refusal } from "./refusals";
import { NodeHost } from "./nodeHost";
import { runScript, SshAccess } from "./remoteScript";
import { apiServerCertSANs, caCertHash, InitConfigInput, renderApiServerCertConfig, renderInitConfig, renderJoinConfig } from "./render/kubeadm";
import { renderAdminKubeconfig } from "./render/kubeconfig";
import { renderKubeVipManifest } from "./render/kubeVip";

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
    /** MetalLB runs: an open host firewall lets its speakers talk (7946 tcp/udp; default: false). */
    readonly metallb?: boolean;
    readonly ssh: SshAccess;
    /** VM per node name when the program creates them (default: none, existing hosts). */
    readonly machines?: Record<string, pulumi.Resource>;
    /** What `kubeadm init` waits for besides the node's preparation (default: nothing), e.g. the
     * load balancer that is the control-plane endpoint: init talks to the API through it. Given as
     * a function, it is called with the cluster's checked SSH access (see `ssh`), so what it makes
     * connects through the refusal checks too. */
    readonly initAfter?: pulumi.Resource[] | ((checkedSsh: SshAccess) => pulumi.Resource[]);
    /** API server URL written into the kubeconfig output, when the control-plane endpoint is not
     * reachable from where Pulumi runs (default: https://<control-plane endpoint>). */
    readonly kubeconfigServer?: pulumi.Input<string>;
    /** Names added to the API server certificate that are known only at deployment, e.g. a cloud
     * DNS name with a generated part (default: none). */
    readonly extraCertSANs?: pulumi.Input<string>[];
    /** Image mirrors (config `images`): kubeadm's imageRepository, containerd's sandbox image and
     * hosts.toml mirrors on every node (default: none). */
    readonly imageMirrors?: ImageMirrors;
    /** The mirrors' CA certificate(s), PEM (config `images.caCert`): trusted for every mirror host
     * in its hosts.toml (default: none, the system store). */
    readonly imageMirrorCa?: string;
    /** The account pulls from the mirrors use (config `images.username` and the secret
     * `imagesPassword`): an Authorization header in each mirror's hosts.toml; the password reaches
     * the nodes only on prepare-node's standard input (default: none, anonymous pulls). */
    readonly imageMirrorCredentials?: { readonly username: string; readonly password: pulumi.Input<string> };
    /** Mirror hosts (`host[:port]`) reached over plain HTTP (config: a mirror written `http://…`;
     * default: none, every mirror HTTPS). */
    readonly imageMirrorPlainHttp?: readonly string[];
    /** Per mirror host settings (config `images.hosts`): each listed host's own CA, account and
     * skipVerify instead of the stack-wide ones (default: none). */
    readonly imageMirrorHosts?: Readonly<Record<string, MirrorHostSettings>>;
    /** The passwords of the per-host accounts, a secret "<host>=<password>" text (config
     * `imagesHostPasswords`, config/nodeEnv.ts mirrorHostPasswordsSecret): only on prepare-node's
     * standard input (default: none). */
    readonly imageMirrorHostPasswords?: pulumi.Input<string>;
    /** The Kubernetes version the nodes are prepared for (config/upgrade.ts: the configured one,
     * or the recorded one while kubernetes.version is unset; it rejects on a refused change, and
     * then no command runs). Default: kubernetes.version as configured. */
    readonly version?: pulumi.Output<KubernetesVersionPlan>;
}

/** What `kubeadm init` fixes for the life of a cluster. */
export interface ClusterSettings {
    readonly controlPlaneEndpoint: string;
    /** "kube-vip" when the control planes hold the endpoint's address themselves, else "none". */
    readonly endpointVip: "kube-vip" | "none";
    readonly podSubnet: string;
    readonly serviceSubnet: string;
    readonly dnsDomain: string;
}

const REBUILD = "Put the recorded value back; a new value needs a new cluster (pulumi destroy, then pulumi up).";

/** Why each recorded setting cannot change in place, and what to do instead. */
const SETTING_CHANGE: Record<keyof ClusterSettings, (recorded: string) => string> = {
    controlPlaneEndpoint: (recorded) =>
        `every node's kubelet.conf, kube-proxy's kubeconfig, cluster-info and the API server certificates name ${recorded}, and kubeadm ` +
        `does not move a running cluster to another endpoint. Without kubernetes.controlPlaneEndpoint the endpoint follows the ` +
        `control-plane count (one: that node's IP; several: the HAProxy host), so adding or removing control planes moves it: set ` +
        `kubernetes.controlPlaneEndpoint: "${recorded}" to keep it (control planes can join behind a load balancer or DNS name; ` +
        `behind one node's IP that node stays a single point of failure), or rebuild the cluster, or move it by hand (new certificate ` +
        `names first, then every kubeconfig: README "Moving the control-plane endpoint"). For HA, give the first \`up\` a stable ` +
        `endpoint: {mode: "kube-vip", address: "<free IP>"} or a load balancer (README "Changing a running stack").`,
    endpointVip: (recorded) =>
        recorded === "kube-vip"
            ? `kube-vip's static pod on every control plane announces the endpoint's address, and nothing removes it: another ` +
              `load balancer at that address would fight it for the address. Set kubernetes.controlPlaneEndpoint back to ` +
              `{mode: "kube-vip", …}, or move the endpoint by hand (README "Moving the control-plane endpoint").`
            : `the control planes would start announcing the endpoint's address while the load balancer that holds it now still ` +
              `answers there. Put the recorded form back, or move the endpoint by hand (README "Moving the control-plane endpoint").`,
    podSubnet: () => `every node's podCIDR and Flannel's network were cut from it at init. ${REBUILD}`,
    serviceSubnet: () => `every Service's clusterIP, the DNS Service and the API server certificate come from it. ${REBUILD}`,
    dnsDomain: () => `every pod's resolv.conf, CoreDNS and the API server certificate use it. ${REBUILD}`,
};

/** The config key each recorded setting comes from (endpointVip: the endpoint's mode). */
const SETTING_KEY: Record<keyof ClusterSettings, string> = {
    controlPlaneEndpoint: "controlPlaneEndpoint",
    endpointVip: "controlPlaneEndpoint.mode",
    podSubnet: "podSubnet",
    serviceSubnet: "serviceSubnet",
    dnsDomain: "dnsDomain",
};

/** The refusals for settings that differ from the ones recorded at init (none when they agree). */
export function clusterSettingChanges(recorded: Partial<ClusterSettings>, configured: ClusterSettings): string[] {
    return (Object.keys(SETTING_CHANGE) as (keyof ClusterSettings)[])
        .filter((key) => recorded[key] !== undefined && recorded[key] !== configured[key])
        .map(
            (key) =>
                `k8s-platform:kubernetes.${SETTING_KEY[key]}: the cluster was initialised with ${JSON.stringify(recorded[key])}, the config now gives ` +
                `${JSON.stringify(configured[key])}; kubeadm fixed it at init: ${SETTING_CHANGE[key](String(recorded[key]))}`,
        );
}

/** The refusal of a node whose IP changed, with the supported procedure. */
export function nodeIpChanged(node: NodeSpec, recorded: string): string {
    return (
        `k8s-platform:nodes: the IP of ${node.name} changed from ${recorded} to ${node.ip}. kubeadm wrote ${recorded} into the node's ` +
        `kubelet (--node-ip) and certificates${node.role === "control-plane" ? ", its etcd member and API server advertise address" : ""}, ` +
        `and nothing re-runs those, so the node would go NotReady. Put ${recorded} back, or move the node: remove it from nodes and ` +
        `\`pulumi up\` (it is drained, reset and deleted), then add it with the new IP and \`pulumi up\` again (it joins afresh and ` +
        `the new IP is recorded).${node.role === "control-plane" ? " The bootstrap control plane cannot be moved this way: rebuild the cluster." : ""}`
    );
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
    /** `kubeadm init`, every node's join and the join-credentials step that waits for them: what in-cluster workloads wait for. */
    public readonly ready: pulumi.Resource[];
    /** The preparation command per node (containerd and packages in place). */
    public readonly prepared: Record<string, pulumi.Resource>;
    /** Node name -> the containerd version its last preparation found (nodes that said none left out). */
    public readonly containerdVersions: pulumi.Output<Record<string, string>>;
    /** SSH access whose connections resolve only while no change is refused (every node keeps the
     * IP and role it was created with, the settings init fixed and the bootstrap node are the
     * recorded ones; see pinNodeAddresses): every command on a host of the cluster goes through it. */
    public readonly ssh: SshAccess;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:KubeadmCluster", name, {}, opts);
        const first = args.nodes.find((n) => n.name === args.kubernetes.bootstrapNode);
        if (!first) {
            throw new Error(`bootstrap node ${args.kubernetes.bootstrapNode} is not among the cluster nodes`);
        }
        const joiners = args.nodes.filter((n) => n !== first);
        const controlPlaneCount = args.nodes.filter((n) => n.role === "control-plane").length;
        // What kubeadm init fixed, as recorded at the first `up`: resolves only while the config agrees.
        const settings = this.pinClusterSettings(name, args.kubernetes);
        // Resolves only if the bootstrap node is the one the cluster was initialised on.
        const bootstrapNode = this.pinBootstrapNode(name, first.name);
        const version = args.version ?? pulumi.output<KubernetesVersionPlan>({ version: args.kubernetes.version, minor: args.kubernetes.minor, upgrade: "none" });
        // Every command on a node connects through every refusal check: a refused change stops
        // them all, even under `pulumi up --skip-preview` (no preview to fail first).
        const ssh = this.pinNodeAddresses(name, args.nodes, args.ssh, [settings, bootstrapNode, version]);
        this.ssh = ssh;
        const initAfter = typeof args.initAfter === "function" ? args.initAfter(ssh) : (args.initAfter ?? []);

        const { caKey, caCert, caHash, bootstrapToken, certificateKey } = this.clusterSecrets(name);
        // The same manifest on every control plane (no per-node content): a new control plane changes no other's step.
        const vip = args.kubernetes.kubeVip;
        const kubeVipManifest = vip ? renderKubeVipManifest({ address: vip.address, port: 6443, interface: vip.interface, image: imageFor(IMAGES.kubeVip, args.imageMirrors ?? {}) }) : undefined;

        const hosts = this.nodeHosts(name, args, version, ssh);

        this.prepared = Object.fromEntries(Object.entries(hosts).map(([node, host]) => [node, host.prepared]));
        this.containerdVersions = pulumi
            .all(Object.fromEntries(Object.entries(hosts).map(([node, host]) => [node, host.containerdVersion])))
            .apply((versions) => Object.fromEntries(Object.entries(versions).filter((e): e is [string, string] => e[1] !== undefined)));

        const clusterInput: pulumi.Output<InitConfigInput> = pulumi.all([pulumi.all(args.extraCertSANs ?? []), settings, args.clusterName]).apply(([extraSANs, { endpointVip: _vip, ...recorded }, clusterName]) => ({
            clusterName,
            node: first,
            // Never the configured patch: the rendered version is the placeholder the node fills in
            // from its installed kubeadm (renderInitConfig), the version prepare-node installed at
            // init and the one kubeadm-upgrade.sh installed since. So a version change re-runs
            // neither init nor the API server certificate steps (which upload this
            // ClusterConfiguration: a stale version there would undo `kubeadm upgrade apply`'s).
            kubernetesVersion: args.kubernetes.minor,
            ...recorded,
            certSANs: [...args.kubernetes.apiServerCertSANs, ...extraSANs],
            imageMirrors: args.imageMirrors,
        }));
        const initConfig = clusterInput.apply(renderInitConfig);
        const init = runScript(
            `${name}-init`,
            {
                host: first,
                ssh,
                create: {
                    script: "kubeadm-init",
                    env: {
                        NODE_NAME: bootstrapNode,
                        KUBEADM_CONFIG: initConfig,
                        UPLOAD_CERTS: String(controlPlaneCount > 1),
                        // Only with kube-vip: other stacks' init step stays as it was.
                        ...(kubeVipManifest ? { KUBE_VIP_MANIFEST: kubeVipManifest } : {}),
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
            { parent: this, dependsOn: [hosts[first.name].prepared, ...initAfter] },
        );

        this.apiEndpoint = args.kubeconfigServer ?? pulumi.interpolate`https://${settings.controlPlaneEndpoint}`;
        // Known only once init has completed (issue 18 item 15): a marker created after init. On a
        // fresh stack, or after a first `up` that stopped before init finished (a failed create
        // leaves no state: pulumi-command v1.2.1 remote/commandController.go Create returns a plain
        // error, which pulumi-go-provider v1.3.0 infer/resource.go records as no resource), the
        // marker is still to be created, its output unknown at preview, so the in-cluster provider
        // and the charts preview empty instead of asking an API server that is not there. Once it
        // exists it never changes (no inputs), so a later change of init's inputs keeps it known.
        const initialised = new random.RandomId(
            `${name}-initialised`,
            { byteLength: 4 },
            // Created only after kubeadm init succeeded.
            { parent: this, dependsOn: [init] },
        );
        this.kubeconfig = pulumi.secret(
            pulumi
                .all([initialised.hex, this.adminKubeconfig(name, args.clusterName, this.apiEndpoint, caKey, caCert)])
                .apply(([, kubeconfig]) => kubeconfig),
        );
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

        // The bootstrap node's API server certificate step (see apiServerCertificate) comes first.
        const bootstrapCerts = this.apiServerCertificate(name, first, true, ssh, clusterInput, [init]);
        const credentials =
            joiners.length > 0
                ? this.joinCredentials(name, { first, joiners, hosts, ssh, after: [init, bootstrapCerts], bootstrapToken, certificateKey })
                : undefined;

        this.joins = this.joinNodes(name, args, { first, joiners, hosts, init, caHash, bootstrapToken, certificateKey, settings, ssh, kubeVipManifest, credentials });
        // The credentials step ends only once every join completed; what waits for the joins waits
        // for it too, so its long SSH session on the bootstrap node never overlaps later steps there
        // (the control plane's maintenance: test/scale.test.ts keeps that host at 4 sessions at once).
        this.ready = [init, ...Object.values(this.joins), ...(credentials ? [credentials] : [])];
        // Control planes restart their API servers one after the other, never together.
        let previousCerts: pulumi.Resource = bootstrapCerts;
        for (const member of joiners.filter((n) => n.role === "control-plane")) {
            previousCerts = this.apiServerCertificate(name, member, false, ssh, clusterInput, [this.joins[member.name], previousCerts]);
        }

        this.registerOutputs({ kubeconfig: this.kubeconfig, apiEndpoint: this.apiEndpoint });
    }

    /** Each node's host: its /etc/hosts block and preparation (packages, containerd, kernel). */
    private nodeHosts(name: string, args: KubeadmClusterArgs, version: pulumi.Output<KubernetesVersionPlan>, ssh: SshAccess): Record<string, NodeHost> {
        const hosts: Record<string, NodeHost> = {};
        for (const node of args.nodes) {
            hosts[node.name] = new NodeHost(
                `${name}-${node.name}`,
                {
                    node,
                    hostsLines: args.hostsLines,
                    hostsBlockName: args.clusterName,
                    // The version is the only input that changes with an upgrade: prepare-node runs again
                    // (it moves the package repository; the packages are kubeadm-upgrade.sh's).
                    prepareEnv: version.apply((v) =>
                        prepareNodeEnv({
                            node,
                            kubernetes: { ...args.kubernetes, version: v.version, minor: v.minor },
                            os: args.os,
                            nodeNetwork: args.nodeNetwork,
                            nfsClient: args.nfsClient ?? false,
                            domain: args.domain,
                            metallb: args.metallb,
                            imageMirrors: args.imageMirrors,
                            imageMirrorCa: args.imageMirrorCa,
                            imageMirrorUsername: args.imageMirrorCredentials?.username,
                            imageMirrorPlainHttp: args.imageMirrorPlainHttp,
                            imageMirrorHosts: args.imageMirrorHosts,
                        }),
                    ),
                    ...prepareSecretsOf(args),
                    ssh,
                    machine: args.machines?.[node.name],
                },
                { parent: this },
            );
        }
        return hosts;
    }

    /**
     * The join credentials step on the bootstrap node (see join-credentials.sh).
     */
    private joinCredentials(
        name: string,
        ctx: {
            first: NodeSpec;
            joiners: NodeSpec[];
            hosts: Record<string, NodeHost>;
            ssh: SshAccess;
            after: pulumi.Resource[];
            bootstrapToken: pulumi.Output<string>;
            certificateKey: pulumi.Output<string>;
        },
    ): pulumi.Resource {
        const { first, joiners, hosts, ssh, bootstrapToken, certificateKey } = ctx;
        // Join credentials (issue 18 item 16): one step on the bootstrap node arms the token (and the
        // control-plane certificates kubeadm keeps 2 h) for the nodes still to join, then waits until
        // they have joined and fails, revoking them, if some do not. Why that re-arms exactly for a
        // retried join: a command whose create fails leaves no state (pulumi-command v1.2.1
        // remote/commandController.go Create returns the command's error as a plain error;
        // pulumi-go-provider v1.3.0 infer/resource.go Create records partial state only for a
        // ResourceInitFailedError, else returns no resource), so the next `up` creates it again; once
        // every join completed it stays in state and an unchanged `up` runs nothing. Its input is
        // the list of joining nodes, so adding a node arms again too. The joins do not wait for it
        // (one broken host must not hold back the others; init's own token serves the first `up`,
        // and kubeadm's discovery retries until a token is armed); it waits for every joining
        // node's preparation, so it runs when they can join.
        const joiningWorkers = joiners.filter((n) => n.role === "worker").map((n) => n.name).sort();
        const joiningControlPlanes = joiners.filter((n) => n.role === "control-plane").map((n) => n.name);
        return runScript(
            `${name}-join-credentials`,
            {
                host: first,
                ssh,
                create: {
                    script: "join-credentials",
                    env: {
                        NODE_NAME: first.name,
                        JOINING_WORKERS: joiningWorkers.join(" "),
                        JOINING_CONTROL_PLANES: joiningControlPlanes.join(" "),
                        // Control planes join one after another, a few minutes each.
                        WAIT_MINUTES: String(15 + 5 * joiningControlPlanes.length),
                    },
                },
                secrets: { BOOTSTRAP_TOKEN: bootstrapToken, CERTIFICATE_KEY: joiningControlPlanes.length > 0 ? certificateKey : undefined },
            },
            // Armed with admin.conf on the initialised control plane, when the joining nodes are
            // prepared; after the bootstrap node's certificate step, so the two never hold the
            // control plane's SSH sessions at once.
            { parent: this, dependsOn: [...ctx.after, ...joiners.map((n) => hosts[n.name].prepared)] },
        );
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
        const certificateKey = this.certificateKey(name);

        return { caKey, caCert, caHash, bootstrapToken, certificateKey };
    }

    /**
     * kubeadm's certificate key: 32 bytes as 64 hex digits (it encrypts the kubeadm-certs Secret,
     * the cluster's CA and etcd keys). A RandomPassword over the hex alphabet: its id is the
     * constant "none" (terraform-provider-random internal/provider/resource_password.go), and the
     * engine never encrypts ids. The RandomBytes used before kept its value, base64, as its id: in
     * plain text in state (`pulumi stack export`). Same for RandomString (id = result), RandomId
     * (id = b64_url), RandomUuid, RandomInteger: none of them may hold a secret (test/cluster.test.ts).
     */
    private certificateKey(name: string): pulumi.Output<string> {
        const key = new random.RandomPassword(
            `${name}-certificate-key`,
            // Special characters only from "abcdef", plus digits: exactly [0-9a-f].
            { length: 64, lower: false, upper: false, numeric: true, special: true, overrideSpecial: "abcdef", minSpecial: 0, minNumeric: 0 },
            { parent: this },
        );
        return pulumi.secret(key.result);
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
            caHash: pulumi.Output<string>;
            bootstrapToken: pulumi.Output<string>;
            certificateKey: pulumi.Output<string>;
            settings: pulumi.Output<ClusterSettings>;
            ssh: SshAccess;
            kubeVipManifest?: string;
            /** The join credentials step: it ends once every joining node's Node is registered. */
            credentials?: pulumi.Resource;
        },
    ): Record<string, pulumi.Resource> {
        const { first, joiners, hosts, init, caHash, bootstrapToken, certificateKey, settings, ssh, kubeVipManifest, credentials } = ctx;
        const joins: Record<string, pulumi.Resource> = {};
        let previousControlPlane: pulumi.Resource = init;
        const controlPlaneNames = args.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
        for (const node of joiners) {
            const controlPlane = node.role === "control-plane";
            const member = new ClusterMember(
                `${name}-${node.name}`,
                {
                    node,
                    admin: first,
                    ssh,
                    provider: this.provider,
                    joinConfig: pulumi.all([caHash, settings]).apply(([hash, recorded]) =>
                        renderJoinConfig({ node, controlPlaneEndpoint: recorded.controlPlaneEndpoint, caCertHash: hash, controlPlane }),
                    ),
                    bootstrapToken,
                    certificateKey: controlPlane ? certificateKey : undefined,
                    kubeVipManifest: controlPlane ? kubeVipManifest : undefined,
                    // The node must be prepared and the cluster initialised (the join credentials are
                    // armed alongside, see above). Control planes join one at a time (each adds an etcd
                    // member; concurrent adds can lose quorum); workers wait for nothing else, so they
                    // join in parallel.
                    after: [hosts[node.name].prepared, init, ...(controlPlane && previousControlPlane !== init ? [previousControlPlane] : [])],
                    // Only control planes: a worker added or removed changes no etcd step.
                    controlPlanes: controlPlane ? controlPlaneNames : undefined,
                    registered: credentials ? [credentials] : [],
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
     * Records what `kubeadm init` fixed for the cluster's life, like the bootstrap node (a RandomId
     * whose keepers hold the values, their later changes ignored): the control-plane endpoint (in
     * every kubeconfig on the nodes, kube-proxy's config, cluster-info and the certificates), the
     * pod and service networks and the DNS domain. The returned settings resolve only while the
     * config agrees; otherwise the program stops at preview, before any step runs, naming the key,
     * the recorded and the new value and what to do. A stack from before this record gets it at
     * its next `up`, from the config it has then.
     */
    private pinClusterSettings(name: string, kubernetes: KubernetesConfig): pulumi.Output<ClusterSettings> {
        const configured: ClusterSettings = {
            controlPlaneEndpoint: kubernetes.controlPlaneEndpoint,
            endpointVip: kubernetes.endpointMode === "kube-vip" ? "kube-vip" : "none",
            podSubnet: kubernetes.podSubnet,
            serviceSubnet: kubernetes.serviceSubnet,
            dnsDomain: kubernetes.dnsDomain,
        };
        const pin = new random.RandomId(
            `${name}-cluster-settings`,
            { byteLength: 4, keepers: { ...configured } },
            // Keep what the first `up` recorded, whatever the config says later.
            { parent: this, ignoreChanges: ["keepers"] },
        );
        return refusal(pin.keepers.apply((keepers) => {
            const problems = clusterSettingChanges((keepers ?? {}) as Partial<ClusterSettings>, configured);
            if (problems.length > 0) {
                throw new Error(problems.join("\n"));
            }
            return configured;
        }));
    }

    /**
     * Records each node's IP (and role) when its resources are created (a RandomId per node, keepers
     * ignored later): kubeadm wrote it into the kubelet's --node-ip, the node's certificates and, on a
     * control plane, etcd's member URLs and the API server's advertise address, and nothing
     * re-runs those. A changed IP is refused on every provider, before any command reaches any
     * host; removing the node and adding it back records the new one (the pin goes with the node).
     *
     * The returned access's `gate` waits for every node's check and for `gates` (the other refusals),
     * so a refused change stops every command on every host reached through it, not only on the
     * node concerned: another node's IP is in every machine's /etc/hosts block, HAProxy's backends
     * and NFS's export, whose commands would otherwise run with the refused value (seen under the
     * real engine: test/e2e/engine-day2.test.ts, a refused worker IP rewrote the other nodes' blocks).
     */
    private pinNodeAddresses(name: string, nodes: NodeSpec[], ssh: SshAccess, gates: pulumi.Output<unknown>[]): SshAccess {
        const checks = nodes.map((node) => {
            const pin = new random.RandomId(
                `${name}-${node.name}-ip`,
                { byteLength: 4, keepers: { ip: node.ip, role: node.role } },
                // Keep the IP (and role) the node was created with.
                { parent: this, ignoreChanges: ["keepers"] },
            );
            return refusal(pin.keepers.apply((keepers) => {
                const recorded = keepers?.ip ?? node.ip;
                if (recorded !== node.ip) {
                    throw new Error(nodeIpChanged(node, recorded));
                }
                // A joined node keeps its role: its join is recorded on the host and not run again.
                if (keepers?.role !== undefined && keepers.role !== node.role) {
                    throw new Error(
                        `k8s-platform:nodes: the role of ${node.name} changed from ${keepers.role} to ${node.role}; a joined node keeps the ` +
                            `role it joined with (its join is not run again). Remove it from nodes and \`pulumi up\` (drained, reset, ` +
                            `deleted), then add it back with the new role and \`pulumi up\`.`,
                    );
                }
                return true;
            }));
        });
        return { ...ssh, gate: pulumi.all([ssh.gate, ...checks, ...gates]).apply(() => true) };
    }

    /**
     * Keeps a control plane's API server certificate on the configured names
     * (kubernetes.apiServerCertSANs and the deployment's own), the procedure of kubernetes.io
     * "Reconfiguring a kubeadm cluster" (apiserver-certs.sh): kubeadm init and join write the
     * certificate once, so a changed list reaches the cluster only this way. One step per control
     * plane, after its init or join; the bootstrap node's also stores the new ClusterConfiguration
     * (kubeadm-config), which later joins read. Its input is the list, so it runs when the list
     * changes, and once after the node's init or join, where it finds the certificate right and
     * changes nothing.
     */
    private apiServerCertificate(
        name: string,
        member: NodeSpec,
        bootstrap: boolean,
        ssh: SshAccess,
        clusterInput: pulumi.Output<InitConfigInput>,
        after: pulumi.Resource[],
    ): pulumi.Resource {
        return runScript(
            bootstrap ? `${name}-apiserver-certs` : `${name}-${member.name}-apiserver-certs`,
            {
                host: member,
                ssh,
                create: {
                    script: "apiserver-certs",
                    env: clusterInput.apply((input) => ({
                        NODE_NAME: member.name,
                        NODE_IP: member.ip,
                        CERT_SANS: apiServerCertSANs(input).join(" "),
                        KUBEADM_CONFIG: renderApiServerCertConfig({ ...input, member }),
                        UPLOAD_CONFIG: String(bootstrap),
                    })),
                },
            },
            // The certificate exists once the node is initialised or joined (and see the callers).
            { parent: this, dependsOn: after },
        );
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
        return refusal(pin.keepers.apply((keepers) => {
            const initialised = keepers?.node ?? node;
            if (initialised !== node) {
                throw new Error(
                    `k8s-platform:kubernetes.bootstrapNode: the cluster was initialised on ${initialised}, but the config now ` +
                        `makes ${node} the bootstrap node (a new first control plane, or a changed key); that would run kubeadm ` +
                        `init on another machine. Set kubernetes.bootstrapNode to "${initialised}".`,
                );
            }
            return node;
        }));
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

/** prepare-node's standard input: the mirrors' passwords (none: no standard input at all). */
function prepareSecretsOf(args: KubeadmClusterArgs): { prepareSecrets?: Record<string, pulumi.Input<string>> } {
    const secrets: Record<string, pulumi.Input<string>> = {
        ...(args.imageMirrorCredentials ? { IMAGE_MIRROR_PASSWORD: args.imageMirrorCredentials.password } : {}),
        ...(args.imageMirrorHostPasswords !== undefined ? { IMAGE_MIRROR_HOST_PASSWORDS: args.imageMirrorHostPasswords } : {}),
    };
    return Object.keys(secrets).length > 0 ? { prepareSecrets: secrets } : {};
}
