/**
 * Every version the platform installs, pinned in one place. Bumping one of these is a reviewed
 * change: `pulumi preview` shows exactly which resources it touches.
 */

/** Default Kubernetes minor for kubeadm clusters (pkgs.k8s.io has one repository per minor). */
export const KUBERNETES_VERSION = "1.35";

/**
 * The minors a kubeadm stack may ask for: those whose kubeadm configuration (v1beta4), containerd
 * settings (pause image) and charts this program is tested with. Add a minor here only with its
 * tests; another one is refused before anything is created, instead of failing on the nodes.
 */
export const SUPPORTED_KUBERNETES_MINORS: readonly string[] = ["1.35", "1.36"];

/** Default Kubernetes version for AKS (AKS takes a minor and picks its newest supported patch;
 * check `az aks get-versions` before bumping). */
export const AKS_KUBERNETES_VERSION = "1.35";

/**
 * The vSphere provider plugin. `@pulumi/vsphere` is not installable here, so the program declares
 * its resources by type token (components/vsphere.ts) and passes this version, which makes the
 * engine download exactly this plugin at `pulumi up`.
 */
export const VSPHERE_PLUGIN_VERSION = "4.17.0";

export interface ChartPin {
    /** Helm repository URL. */
    readonly repo: string;
    /** Chart name inside the repository. */
    readonly chart: string;
    /** Exact chart version: never a range, never latest. */
    readonly version: string;
}

export const CHARTS = {
    flannel: { repo: "https://flannel-io.github.io/flannel/", chart: "flannel", version: "v0.27.4" },
    ingressNginx: { repo: "https://kubernetes.github.io/ingress-nginx", chart: "ingress-nginx", version: "4.15.0" },
    /** Traefik Proxy, the maintained alternative to ingress-nginx (`ingress.controller: traefik`).
     * 41.3.0 (traefik/traefik-helm-chart tag v41.3.0, Chart.yaml appVersion v3.7.11). */
    traefik: { repo: "https://traefik.github.io/charts", chart: "traefik", version: "41.3.0" },
    metallb: { repo: "https://metallb.github.io/metallb", chart: "metallb", version: "0.15.2" },
    metricsServer: { repo: "https://kubernetes-sigs.github.io/metrics-server/", chart: "metrics-server", version: "3.13.1" },
} as const satisfies Record<string, ChartPin>;

/**
 * Images the program sets in a chart's values (rather than leaving them to the chart's defaults),
 * in the chart's own value shape: one place to pin them and to rewrite them for a mirror.
 * Traefik: chart 41.3.0's `image.registry` / `image.repository` / `image.tag` (values.yaml; the
 * template `traefik.image-name` in templates/_helpers.tpl joins them as registry/repository:tag),
 * the tag being the chart's appVersion v3.7.11.
 */
export const CHART_IMAGES = {
    traefik: { registry: "docker.io", repository: "traefik", tag: "v3.7.11" },
} as const satisfies Record<string, { readonly registry: string; readonly repository: string; readonly tag: string }>;

/** The reference a chart image pin resolves to (registry/repository:tag). */
export const chartImageReference = (image: { readonly registry: string; readonly repository: string; readonly tag: string }): string =>
    `${image.registry}/${image.repository}:${image.tag}`;

export const IMAGES = {
    /** distribution v3: its config file lives at /etc/distribution/config.yml. */
    registry: "registry:3.0.0",
    tomcat: "tomcat:10.1.44-jdk21",
    /** The control planes' virtual IP (kubernetes.controlPlaneEndpoint mode "kube-vip"), a static
     * pod on every control plane; its manifest is rendered by components/render/kubeVip.ts from
     * kube-vip v1.2.3's own generator (pkg/kubevip/config_generator.go). */
    kubeVip: "ghcr.io/kube-vip/kube-vip:v1.2.3",
} as const;

/**
 * Azure node image for kubeadm-on-Azure (Ubuntu 24.04 LTS). Azure resolves "latest" once, when a
 * VM is created; the VM never changes afterwards. Pin a version in `infra.azure.image.version`
 * to make new nodes identical to old ones.
 */
export const AZURE_NODE_IMAGE = { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" } as const;

/**
 * How a Chart resource names a pinned chart, for the configured source (pure). A directory holds
 * the archives as `helm pull` saves them (`<chart>-<version>.tgz`); pulumi-kubernetes' Chart v4
 * takes a local archive path as `chart` (helm's LocateChart), with no repository and no version.
 */
export function chartReference(
    pin: ChartPin,
    source: { readonly repository?: string; readonly directory?: string } = {},
): { chart: string; version?: string; repositoryOpts?: { repo: string } } {
    if (source.directory) {
        return { chart: `${source.directory.replace(/\/+$/, "")}/${pin.chart}-${pin.version}.tgz` };
    }
    return { chart: pin.chart, version: pin.version, repositoryOpts: { repo: source.repository ?? pin.repo } };
}

/**
 * etcdctl and etcdutl on the control planes (snapshots, their check, restores): the etcd release
 * kubeadm 1.35 runs (DefaultEtcdVersion "3.6.6-0", cmd/kubeadm/app/constants/constants.go at
 * v1.35.4), downloaded by scripts/control-plane-maintenance.sh and checked against these sha256
 * sums (the release's own, as kubespray pins them in
 * roles/kubespray_defaults/vars/main/checksums.yml, etcd_binary_checksums). The etcd image kubeadm
 * runs carries no etcdutl, hence a release of its own. `@ARCH@` is amd64 or arm64.
 */
export const ETCD_TOOLS = {
    version: "v3.6.6",
    url: "https://github.com/etcd-io/etcd/releases/download/v3.6.6/etcd-v3.6.6-linux-@ARCH@.tar.gz",
    sha256: {
        amd64: "887afaa4a99f22d802ccdfbe65730a5e79aa5c9ce2c8799c67e9d804c50ecedb",
        arm64: "8a15f5427c111ff4692753682374970fb68878401d946c2c28bdad6857db652f",
    },
} as const;

/**
 * The images kubeadm pulls besides the control plane's own (kube-apiserver, kube-controller-manager,
 * kube-scheduler, kube-proxy, tagged v<Kubernetes version>), per minor, from registry.k8s.io: what
 * `kubeadm config images list --kubernetes-version v1.35.4` prints with kubeadm v1.35.4 (built from
 * k8s.io/kubernetes in the e2e tier; test/e2e/images.test.ts compares them with it). Listed by
 * `npm run images`. No digests: they cannot be looked up from here, and kubeadm pulls by tag.
 */
export const KUBEADM_IMAGES: Record<string, { readonly coredns: string; readonly pause: string; readonly etcd: string }> = {
    "1.35": { coredns: "v1.13.1", pause: "3.10.1", etcd: "3.6.6-0" },
};
