/**
 * Image mirrors for sites that pull only from their own registry (issue 16 §4). Pure, imported by
 * the components that name images (kubeadm's ClusterConfiguration, the charts' values, the
 * program's own workloads), by prepare-node's parameters (containerd's hosts.toml mirrors) and
 * by `npm run images`.
 *
 * One mapping everywhere: an image `<source>/<path>:<tag>` is pulled as `<mirror>/<path>:<tag>`,
 * where `<mirror>` is `host[:port][/path]`. That is Kubespray's layout (docs/operations/
 * offline-environment.md: `kube_image_repo: "{{ registry_host }}"`, and the same for
 * `docker_image_repo`, `quay_image_repo`, `github_image_repo`: the source's host is replaced, the
 * repository path kept — `docker.io/library/nginx` becomes `<registry_host>/library/nginx`), and
 * what a containerd hosts.toml mirror does for the references that are not rewritten (k3s
 * registries.yaml `mirrors: {docker.io: {endpoint: [...]}}` generates the same hosts.toml files):
 * a pull of `<source>/<path>` asks `https://<mirror host>/v2/<mirror path>/<path>`.
 */

/** The registries the stack's images come from; each may have a mirror. */
export const IMAGE_SOURCES = ["registry.k8s.io", "docker.io", "quay.io", "ghcr.io"] as const;
export type ImageSource = (typeof IMAGE_SOURCES)[number];

/** Source registry → the prefix that mirrors it (`host[:port][/path]`); a source not listed is pulled as is. */
export type ImageMirrors = Readonly<Partial<Record<ImageSource, string>>>;

/**
 * One mirror host's own settings (`images.hosts."<host[:port]>"`; k3s registries.yaml
 * `configs.<host>`, Kubespray's per-mirror `ca`/`skip_verify` and `containerd_registry_auth`). A
 * host listed there takes only these: the stack-wide `caCert` and `username` apply to the others.
 */
export interface MirrorHostSettings {
    /** PEM certificate(s) this host is trusted with besides the system store (default: none). */
    readonly caCert?: string;
    /** The account pulls from this host use (default: anonymous); its password is the secret
     * `imagesHostPasswords["<host>"]`, which never enters the typed config. */
    readonly username?: string;
    /** Pull without verifying the host's certificate (containerd `skip_verify`; default: verified). */
    readonly skipVerify?: true;
}

/** The resolved `images` settings. */
export interface ImagesSettings {
    /** Each source's mirror as image references start (`host[:port][/path]`, never a scheme). */
    readonly mirrors: ImageMirrors;
    /** The mirror hosts (`host[:port]`) reached over plain HTTP (a mirror written
     * `http://host[:port][/path]`); absent when none. */
    readonly plainHttp?: readonly string[];
    /** Per-host settings by mirror host (`host[:port]`); absent when none. */
    readonly hosts?: Readonly<Record<string, MirrorHostSettings>>;
    /** PEM certificate(s) every mirror host is trusted with besides the system store (default:
     * the system store only). */
    readonly caCert?: string;
    /** The account every mirror pull authenticates as (default: anonymous pulls); its password is
     * the secret `imagesPassword`, which never enters the typed config. */
    readonly username?: string;
}

/** A reference split the way the container runtime reads it (distribution/reference's
 * normalisation): the first component is a registry only with a "." or ":" or as "localhost";
 * otherwise the image is docker.io's, and a single name is under `library/`. */
export function splitReference(reference: string): { registry: string; path: string } {
    const slash = reference.indexOf("/");
    const first = slash < 0 ? "" : reference.slice(0, slash);
    if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
        const registry = first === "index.docker.io" ? "docker.io" : first;
        const path = reference.slice(slash + 1);
        // docker.io's official images are under library/ however they are written
        // (distribution/reference normalize.go: "docker.io/traefik" is docker.io/library/traefik).
        return { registry, path: registry === "docker.io" && !path.includes("/") ? `library/${path}` : path };
    }
    return { registry: "docker.io", path: slash < 0 ? `library/${reference}` : reference };
}

/** A reference as the container runtime resolves it: "registry:3" → "docker.io/library/registry:3". */
export function fullReference(reference: string): string {
    const { registry, path } = splitReference(reference);
    return `${registry}/${path}`;
}

/**
 * The reference to pull for an image (or a repository without a tag): rewritten onto its source's
 * mirror when one is configured, else exactly as given (so a stack without mirrors renders every
 * value as before). Exported for every component that names an image (a kube-vip static pod, a
 * second ingress controller): `imageFor("ghcr.io/kube-vip/kube-vip:v1.0.0", config.images.mirrors)`.
 */
export function imageFor(reference: string, mirrors: ImageMirrors): string {
    const { registry, path } = splitReference(reference);
    const mirror = mirrors[registry as ImageSource];
    return mirror ? `${mirror}/${path}` : reference;
}

/** The registry to pull a source's images from (a chart value holding only the registry, e.g.
 * ingress-nginx's `global.image.registry`). */
export function registryFor(source: ImageSource, mirrors: ImageMirrors): string {
    return mirrors[source] ?? source;
}

/**
 * kubeadm's image settings for the ClusterConfiguration (empty without a registry.k8s.io mirror).
 * kubeadm names CoreDNS `<imageRepository>/coredns:<tag>` unless the repository is registry.k8s.io
 * itself, which gets `/coredns/coredns` (cmd/kubeadm/app/images/images.go GetDNSImage at v1.35.4:
 * "Handle the renaming of the official image"); `dns.imageRepository` keeps the mirror's layout
 * equal to registry.k8s.io's, so one `crane copy`/`skopeo copy` per listed image fills it.
 */
export function kubeadmImageSettings(mirrors: ImageMirrors): { imageRepository?: string; dns?: { imageRepository: string } } {
    const mirror = mirrors["registry.k8s.io"];
    return mirror ? { imageRepository: mirror, dns: { imageRepository: `${mirror}/coredns` } } : {};
}

/** The registry host (`host[:port]`) of a mirror prefix: what `images.hosts` is keyed by. */
export function mirrorHost(prefix: string): string {
    return prefix.replace(/^http:\/\//, "").split("/")[0];
}

/** prepare-node's IMAGE_MIRRORS: "<source>=<mirror>" words, in IMAGE_SOURCES order ("" when none);
 * a mirror on a plain-HTTP host is written "<source>=http://<mirror>" (the script's only sign of it). */
export function imageMirrorsEnv(mirrors: ImageMirrors, plainHttp: readonly string[] = []): string {
    return IMAGE_SOURCES.filter((s) => mirrors[s])
        .map((s) => `${s}=${plainHttp.includes(mirrorHost(mirrors[s]!)) ? "http://" : ""}${mirrors[s]}`)
        .join(" ");
}

/**
 * Why a mirror prefix is not usable, or undefined when it is. It must be what an image reference
 * starts with (distribution/reference grammar): a registry host that the runtime reads as a
 * registry (with a "." or a port, or "localhost"; "mirror/k8s" would be docker.io's "mirror/k8s"),
 * an optional port, then optional lowercase path components; no trailing "/". The one scheme
 * allowed is a leading "http://": a plain-HTTP mirror (k3s registries.yaml `endpoint:
 * ["http://…"]`, Kubespray's `host: http://…`); it goes to containerd's hosts.toml only, never into
 * an image reference (checks/images.ts resolves it into `plainHttp`). HTTPS is the default, so
 * "https://" is refused as redundant, like any other scheme.
 */
export function mirrorPrefixProblem(value: string): string | undefined {
    const allowed = 'allowed: "host[:port][/path]" as an image reference starts, e.g. "harbor.example.com/k8s" or "10.0.0.5:5000", or "http://host[:port][/path]" for a plain-HTTP mirror';
    const rest = value.replace(/^http:\/\//, "");
    if (/^[a-z]+:\/\//i.test(rest)) {
        return `${JSON.stringify(value)} has a URL scheme; give the registry as an image reference starts, without "${rest.slice(0, rest.indexOf("://") + 3)}" (${allowed})`;
    }
    const [host, ...path] = rest.split("/");
    const hostOk = /^(localhost|\[[0-9a-f:]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/i.test(host);
    if (!hostOk) {
        return `${JSON.stringify(value)} does not start with a registry host (${allowed})`;
    }
    if (!(host.includes(".") || host.includes(":") || host.startsWith("localhost"))) {
        return `${JSON.stringify(value)}: ${JSON.stringify(host)} has neither a "." nor a port, so the container runtime would read it as a docker.io user, not a registry (${allowed})`;
    }
    const bad = path.find((p) => !/^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/.test(p));
    if (bad !== undefined) {
        return `${JSON.stringify(value)}: the path component ${JSON.stringify(bad)} is not a repository name (lowercase letters and digits, separated by ".", "_", "__" or "-"; no empty part or trailing "/"; ${allowed})`;
    }
    return undefined;
}

/**
 * Chart values that point a chart's image repositories at their mirrors: `{ [valueKey]: { repository } }`
 * for every `valueKey → default repository` whose source has a mirror; `{}` when none has (so a
 * stack without mirrors passes the chart exactly the values it passed before).
 */
export function mirroredRepositories(defaults: Record<string, string>, mirrors: ImageMirrors): Record<string, { repository: string }> {
    const values: Record<string, { repository: string }> = {};
    for (const [key, repository] of Object.entries(defaults)) {
        const mirrored = imageFor(repository, mirrors);
        if (mirrored !== repository) values[key] = { repository: mirrored };
    }
    return values;
}
