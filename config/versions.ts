/**
 * Every version the platform installs, pinned in one place. Bumping one of these is a reviewed
 * change: `pulumi preview` shows exactly which resources it touches.
 */

/**
 * Default Kubernetes minor for kubeadm clusters (pkgs.k8s.io has one repository per minor): the
 * newest supported one. A stack that sets `kubernetes.version` keeps its own.
 */
export const KUBERNETES_VERSION = "1.37";

/**
 * The minors a kubeadm stack may ask for: those whose kubeadm configuration (v1beta4), containerd
 * settings (pause image, minimum version) and charts this program is tested with — each minor's
 * rendered configs are validated by that minor's own kubeadm (test/e2e/kubeadm-config.test.ts).
 * Add a minor here only with its rows in the tables below and its tests; another one is refused
 * before anything is created, instead of failing on the nodes.
 *
 * kubeadm.k8s.io/v1beta4 is the config API of all three: kubeadm 1.37 adds kubeadm.k8s.io/v1 only
 * as an experimental version it refuses without --allow-experimental-api, and prefers v1beta4
 * (cmd/kubeadm/app/util/config/common.go validateSupportedVersion: experimentalAPIVersions
 * {"kubeadm.k8s.io/v1"}; apis/kubeadm/scheme/scheme.go SetVersionPriority(v1beta4, v1), at v1.37.2).
 */
export const SUPPORTED_KUBERNETES_MINORS: readonly string[] = ["1.35", "1.36", "1.37"];

/** A per-minor table's row for `minor`, or an error naming the table (a supported minor without
 * its row is a defect of this file, which test/config.test.ts rules out). */
export function forMinor<T>(table: Readonly<Record<string, T>>, tableName: string, minor: string): T {
    const row = Object.hasOwn(table, minor) ? table[minor] : undefined;
    if (row === undefined) {
        throw new Error(`no ${tableName} row for Kubernetes ${minor} in config/versions.ts (rows: ${Object.keys(table).join(", ")})`);
    }
    return row;
}

/**
 * The oldest containerd of each release line that containerd recommends for a Kubernetes minor
 * (containerd RELEASES.md, "Kubernetes Support", at 301026e5 of 2026-08-22):
 *   | 1.35 | 2.2.0+, 2.1.5+, 1.7.28+ |   | 1.36 | 2.3.0+, 2.2.0+ |
 * A line not listed is refused, except lines newer than every listed one (containerd keeps
 * supporting Kubernetes n-3). That table has no 1.37 row yet: 1.37 takes 1.36's (containerd 1.7
 * and 2.1 are already out for 1.36; 2.2 and 2.3 are the lines supported then).
 * scripts/prepare-node.sh gets the row as CONTAINERD_MINIMUMS, refuses an installed containerd
 * below it and installs Docker's containerd.io when the distribution's is below it.
 */
export const CONTAINERD_MINIMUMS: Readonly<Record<string, readonly string[]>> = {
    "1.35": ["2.2.0", "2.1.5", "1.7.28"],
    "1.36": ["2.3.0", "2.2.0"],
    "1.37": ["2.3.0", "2.2.0"],
};

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
    /**
     * The control planes' virtual IP (kubernetes.controlPlaneEndpoint mode "kube-vip"), a static
     * pod on every control plane; its manifest is rendered by components/render/kubeVip.ts from
     * kube-vip's own generator (pkg/kubevip/config_generator.go).
     *
     * v1.2.2, not the newest v1.2.3: the version shipped is the version tested. The e2e tier runs
     * kube-vip built from its Go module (test/e2e/tools/kube-vip, test/e2e/kube-vip.test.ts), and
     * the Go proxy serves v1.2.2 but refuses v1.2.3 ("This module version is not available").
     * v1.2.2..v1.2.3 (git diff of the tags, 21 commits) against what the manifest sets (ARP,
     * cp_enable, leader election on a Lease, an IPv4 address, no Services, no BGP/routing table):
     *  - pkg/manager/manager.go New: v1.2.2 treats the --k8sConfigPath default
     *    (/etc/kubernetes/admin.conf) as an explicit kubeconfig and uses its server, the VIP, unless
     *    kubernetes_addr is set; v1.2.3 skips that case for the default path (c3ba4a8, "Fix
     *    default kube config path handling") and goes to https://kubernetes:<port>. The manifest
     *    sets kubernetes_addr=kubernetes:<port>, so both call k8s.NewRestConfig(admin.conf, false,
     *    "kubernetes:<port>") — the one difference that mattered, seen failing in the e2e test
     *    without it;
     *  - pkg/lease (Delete takes the lease, "do not let a stale cleanup cancel a recreated lease"),
     *    pkg/cluster/clusterLeaderElection.go (passes it): the race is between a cleanup and a
     *    re-created lease inside one process; in ARP control-plane mode StartCluster returning ends
     *    the process (pkg/manager/worker/arp.go StartControlPlane → killFunc), it never re-creates;
     *  - vip_skipdad (new env, IFA_F_NODAD, IPv6 only), pkg/vip/address.go (that flag, route
     *    hashing), routing-table mode (table.go, backend.go), services (pkg/services,
     *    pkg/cluster/service.go), DNS/DDNS updater, BGP metrics: not used here;
     *  - dependency bumps: k8s.io/client-go, api, apimachinery 0.36.2 → 0.36.3 (patch), grpc
     *    1.82.1 → 1.83.0, gobgp 4.7.0 → 4.8.0, go-containerregistry;
     *  - unchanged: pkg/election, pkg/arp, pkg/k8s, the env names the manifest sets
     *    (pkg/kubevip/config_envvar.go only adds vip_skipdad).
     */
    kubeVip: "ghcr.io/kube-vip/kube-vip:v1.2.2",
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

export interface EtcdTools {
    readonly version: string;
    /** The release tarball, `@ARCH@` standing for amd64 or arm64. */
    readonly url: string;
    readonly sha256: { readonly amd64: string; readonly arm64: string };
}

function etcdRelease(version: string, sha256: EtcdTools["sha256"]): EtcdTools {
    return { version, url: `https://github.com/etcd-io/etcd/releases/download/${version}/etcd-${version}-linux-@ARCH@.tar.gz`, sha256 };
}

/**
 * etcdctl and etcdutl on the control planes (snapshots, their check, restores), per Kubernetes
 * minor: the etcd release kubeadm of that minor runs (DefaultEtcdVersion in
 * cmd/kubeadm/app/constants/constants.go: "3.6.6-0" at v1.35.4, "3.6.8-0" at v1.36.3, "3.7.0-0" at
 * v1.37.2), downloaded by scripts/control-plane-maintenance.sh and checked against these sha256
 * sums (the release's own, as kubespray pins them in
 * roles/kubespray_defaults/vars/main/checksums.yml, etcd_binary_checksums, at 46dbdd39). The etcd
 * image kubeadm runs carries etcd and etcdctl but no etcdutl (kubernetes cluster/images/etcd/Makefile
 * installs `$etcd_release_tmp_dir/etcd $etcd_release_tmp_dir/etcdctl` only), hence a release of its own.
 *
 * 1.37: kubeadm v1.37.2 runs etcd 3.7.0-0 (its SupportedEtcdVersion rows 34, 35 and 36 are all
 * "3.7.0-0", and EtcdSupportedVersion gives 1.37 the nearest row's). No reviewed source of etcd
 * v3.7.0's release sums can be read from here: etcd's SHA256SUMS is a release asset (not in its
 * repository; CHANGELOG-3.7.md lists none), kubespray's checksums stop at 3.6.14 on master
 * (46dbdd39) and carry 3.7.0 only in a pull request on hold (#13363, 84072210), and chromebrew's
 * packages/etcd.rb pins amd64 alone. So 1.37 control planes get the newest 3.6 release with
 * pinned sums. etcdctl's `snapshot save` is a client call (any 3.x server); etcdutl 3.6's `snapshot
 * restore` copies the snapshot's database and rewrites membership without migrating its storage
 * version (etcdutl/snapshot/v3_snapshot.go Restore at v3.6.6), so etcd 3.7 starts on it. Run for
 * real in test/e2e/etcd-backup.test.ts: etcd v3.7.0 (go.etcd.io/etcd/server/v3) with v3.6.14's
 * etcdctl/etcdutl through the program's backup and restore scripts, and a snapshot etcd 3.6 took
 * before an upgrade restored and started on by etcd 3.7.0. Replace the row with etcd 3.7's
 * release once its sums are pinned (and its wrapper module, test/e2e/tools/etcd-client-1.37).
 */
export const ETCD_TOOLS: Readonly<Record<string, EtcdTools>> = {
    "1.35": etcdRelease("v3.6.6", {
        amd64: "887afaa4a99f22d802ccdfbe65730a5e79aa5c9ce2c8799c67e9d804c50ecedb",
        arm64: "8a15f5427c111ff4692753682374970fb68878401d946c2c28bdad6857db652f",
    }),
    "1.36": etcdRelease("v3.6.8", {
        amd64: "cf9cfe91a4856cb90eed9c99e6aee4b708db2c7888b88a6f116281f04b0ea693",
        arm64: "438f56a700d17ce761510a3e63e6fa5c1d587b2dd4d7a22c179c09a649366760",
    }),
    "1.37": etcdRelease("v3.6.14", {
        amd64: "ffe840ff9295808e88cce2794a18a5ac87f12a5203c8314d0bf6aa119b41bac5",
        arm64: "fa1b80565ee6fc2df1ae6f57a508b221f3ecc7d591c317c581cd8281b0842b3e",
    }),
};

/**
 * The images kubeadm pulls besides the control plane's own (kube-apiserver, kube-controller-manager,
 * kube-scheduler, kube-proxy, tagged v<Kubernetes version>), per minor, from registry.k8s.io: the
 * constants of cmd/kubeadm/app/constants/constants.go (CoreDNSVersion, PauseVersion,
 * DefaultEtcdVersion) at v1.35.4, v1.36.3 and v1.37.2, which `kubeadm config images list` prints
 * (kubeadm of each minor is built from k8s.io/kubernetes in the e2e tier; test/e2e/images.test.ts
 * compares them with it). The pause image is also containerd's sandbox image: prepare-node.sh
 * asks the node's kubeadm for it. Listed by `npm run images`. No digests: they cannot be looked up
 * from here, and kubeadm pulls by tag.
 */
export const KUBEADM_IMAGES: Readonly<Record<string, { readonly coredns: string; readonly pause: string; readonly etcd: string }>> = {
    "1.35": { coredns: "v1.13.1", pause: "3.10.1", etcd: "3.6.6-0" },
    "1.36": { coredns: "v1.14.2", pause: "3.10.2", etcd: "3.6.8-0" },
    "1.37": { coredns: "v1.14.6", pause: "3.10.2", etcd: "3.7.0-0" },
};
