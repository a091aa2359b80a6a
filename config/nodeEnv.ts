import { ImageMirrors, imageMirrorsEnv, MirrorHostSettings } from "./images";
import { KubernetesConfig, NodeSpec, OsConfig } from "./types";
import { CONTAINERD_MINIMUMS, forMinor } from "./versions";

/**
 * The parameters of prepare-node.sh for one node. Pure, and built only from the node itself and
 * cluster-wide settings, never from the list of other nodes: adding a node must not change (and
 * so re-run) the preparation of the others.
 */
export function prepareNodeEnv(args: {
    node: NodeSpec;
    kubernetes: KubernetesConfig;
    os: OsConfig;
    nodeNetwork: string;
    nfsClient: boolean;
    /** MetalLB runs (its speakers' memberlist port 7946 is opened with `os.firewall: open`; default false). */
    metallb?: boolean;
    /** The platform's domain: Go matches NO_PROXY CIDRs only against IP literals, so
     * `registry.<domain>` needs its suffix listed (default: none). */
    domain?: string;
    /** Image mirrors (config `images`; default: none): containerd's hosts.toml mirrors and, with a
     * registry.k8s.io mirror, the sandbox image from it. Absent without mirrors, so a stack
     * without them re-runs no preparation; removing them re-runs it once, removing the files. */
    imageMirrors?: ImageMirrors;
    /** The mirrors' CA (config `images.caCert`; default: none): a file beside each mirror's
     * hosts.toml, named in its `ca`. Absent when unset, like the mirrors. */
    imageMirrorCa?: string;
    /** The account pulls from the mirrors use (config `images.username`; default: none, anonymous
     * pulls). Its password comes on standard input (IMAGE_MIRROR_PASSWORD), never here. */
    imageMirrorUsername?: string;
    /** Mirror hosts reached over plain HTTP (config: a mirror written `http://…`; default: none). */
    imageMirrorPlainHttp?: readonly string[];
    /** Per-host settings (config `images.hosts`; default: none): the listed hosts take only their
     * own CA, account and skipVerify. Absent when unset, so stacks without them keep their parameters. */
    imageMirrorHosts?: Readonly<Record<string, MirrorHostSettings>>;
}): Record<string, string> {
    const { node, kubernetes, os } = args;
    const env: Record<string, string> = {
        NODE_NAME: node.name,
        NODE_ROLE: node.role,
        K8S_VERSION: kubernetes.version,
        K8S_MINOR: kubernetes.minor,
        CONTAINERD_MINIMUMS: forMinor(CONTAINERD_MINIMUMS, "CONTAINERD_MINIMUMS", kubernetes.minor).join(" "),
        K8S_REPO_BASE: os.kubernetesRepoBase.replace(/\/+$/, ""),
        CONTAINERD_REPO_URL: os.containerdRepoUrl,
        CONTAINERD_APT_REPO_URL: os.containerdAptRepoUrl.replace(/\/+$/, ""),
        FIREWALL_MODE: os.firewall,
        NFS_CLIENT: String(args.nfsClient),
    };
    const mirrors = imageMirrorsEnv(args.imageMirrors ?? {}, args.imageMirrorPlainHttp);
    if (mirrors) {
        env.IMAGE_MIRRORS = mirrors;
        if (args.imageMirrorCa !== undefined) env.IMAGE_MIRROR_CA = args.imageMirrorCa;
        if (args.imageMirrorUsername !== undefined) env.IMAGE_MIRROR_USERNAME = args.imageMirrorUsername;
        Object.assign(env, mirrorHostsEnv(args.imageMirrorHosts ?? {}));
    }
    // Only an open firewall needs them: with it disabled, toggling MetalLB re-runs no preparation.
    if (os.firewall === "open") {
        env.POD_SUBNET = kubernetes.podSubnet;
        env.METALLB = String(args.metallb ?? false);
    }
    if (os.httpProxy || os.httpsProxy) {
        env.HTTP_PROXY_URL = os.httpProxy ?? "";
        env.HTTPS_PROXY_URL = os.httpsProxy ?? os.httpProxy ?? "";
        env.NO_PROXY_LIST = noProxyList(os.noProxy, kubernetes.dnsDomain, [args.nodeNetwork, kubernetes.podSubnet, kubernetes.serviceSubnet], args.domain);
    }
    return env;
}

/**
 * NO_PROXY for nodes behind a proxy: cluster traffic (node, pod and service networks, in-cluster
 * names) must never go through it, whatever the operator listed.
 */
export function noProxyList(configured: string | undefined, dnsDomain: string, networks: string[], domain?: string): string {
    const entries = [
        ...(configured ?? "").split(",").map((e) => e.trim()),
        "localhost",
        "127.0.0.1",
        ".svc",
        `.${dnsDomain}`,
        ...(domain ? [`.${domain}`] : []),
        ...networks,
    ].filter((e) => e.length > 0);
    return [...new Set(entries)].join(",");
}

/**
 * prepare-node's per-host parameters (only those that are set): IMAGE_MIRROR_HOSTS, the listed
 * hosts ("host[:port]" words); IMAGE_MIRROR_HOST_CA, each host's PEM after a "# host <host>" line;
 * IMAGE_MIRROR_HOST_USERNAMES, "<host>=<user>" lines (a user name holds no line break);
 * IMAGE_MIRROR_SKIP_VERIFY, the hosts with skipVerify. The passwords go on standard input
 * (IMAGE_MIRROR_HOST_PASSWORDS, mirrorHostPasswordsSecret).
 */
export function mirrorHostsEnv(hosts: Readonly<Record<string, MirrorHostSettings>>): Record<string, string> {
    const names = Object.keys(hosts).sort();
    if (names.length === 0) return {};
    const env: Record<string, string> = { IMAGE_MIRROR_HOSTS: names.join(" ") };
    const withCa = names.filter((h) => hosts[h].caCert !== undefined);
    if (withCa.length > 0) env.IMAGE_MIRROR_HOST_CA = withCa.map((h) => `# host ${h}\n${hosts[h].caCert}`).join("\n");
    const withUser = names.filter((h) => hosts[h].username !== undefined);
    if (withUser.length > 0) env.IMAGE_MIRROR_HOST_USERNAMES = withUser.map((h) => `${h}=${hosts[h].username}`).join("\n");
    const skip = names.filter((h) => hosts[h].skipVerify);
    if (skip.length > 0) env.IMAGE_MIRROR_SKIP_VERIFY = skip.join(" ");
    return env;
}

/** The value of the secret IMAGE_MIRROR_HOST_PASSWORDS: "<host>=<password>" lines for the hosts
 * with a user name (config validation keeps line breaks out of the passwords). */
export function mirrorHostPasswordsSecret(hosts: Readonly<Record<string, MirrorHostSettings>>, passwords: Readonly<Record<string, string>>): string {
    return Object.keys(hosts)
        .sort()
        .filter((h) => hosts[h].username !== undefined)
        .map((h) => `${h}=${passwords[h] ?? ""}`)
        .join("\n");
}
