import { stringify } from "yaml";

/**
 * kube-vip's static pod (kubernetes.controlPlaneEndpoint mode "kube-vip"): a virtual IP that the
 * control planes elect a holder for and that answers ARP on the holder, so the API endpoint
 * survives the loss of any one control plane. Rendered here from the facts of kube-vip v1.2.2
 * (the image pinned in config/versions.ts; v1.2.3 differs in nothing used here, see there), the
 * same Pod its `kube-vip manifest pod --arp
 * --controlplane --leaderElection --address <VIP>` prints (pkg/kubevip/config_generator.go,
 * generatePodSpec), without Services (MetalLB, or nothing, owns LoadBalancer Services here):
 *  - env names from pkg/kubevip/config_envvar.go: vip_arp, port, vip_nodename, vip_interface,
 *    cp_enable, cp_namespace, kubernetes_addr, vip_leaderelection, vip_leasename, vip_leaseduration,
 *    vip_renewdeadline, vip_retryperiod, address, prometheus_server; the lease timings are
 *    client-go's defaults the generator writes (15, 10, 2 seconds);
 *  - capabilities NET_ADMIN and NET_RAW (ARP and the address on the interface), all others dropped;
 *  - the kubeconfig mounted at /etc/kubernetes/admin.conf inside the container, and the host
 *    alias kubernetes → 127.0.0.1, plus kubernetes_addr=kubernetes:<port> (which the generator
 *    does not write): kube-vip must talk to the local API server, not to the server admin.conf
 *    names — the control-plane endpoint, the VIP it has yet to announce. v1.2.3 does that by
 *    itself with cp_enable (pkg/manager/manager.go New, "This will attempt to use kubernetes as
 *    the hostname"); v1.2.2 takes its --k8sConfigPath flag's default, /etc/kubernetes/admin.conf,
 *    for an explicitly configured kubeconfig (commit c84fb65, "manager: honor explicitly
 *    configured kubeconfig path") and uses its server unless kubernetes_addr is set (fixed in
 *    v1.2.3 by c3ba4a8, "Fix default kube config path handling"). With kubernetes_addr set, both
 *    versions call k8s.NewRestConfig(admin.conf, false, "kubernetes:<port>"). Without it, v1.2.2
 *    on three control planes never elects a holder (test/e2e/kube-vip.test.ts: "dial tcp
 *    <VIP>:6443: connect: no route to host").
 * Which host file is mounted is the node scripts' choice (KUBECONFIG_PLACEHOLDER): kubeadm ≥ 1.29
 * binds admin.conf's group to cluster-admin only late in `kubeadm init`, so the bootstrap node
 * mounts super-admin.conf (system:masters) during init and admin.conf after it
 * (github.com/kube-vip/kube-vip issue #684, "kube-vip requires super-admin.conf with Kubernetes
 * 1.29"; super-admin.conf exists only where `kubeadm init` ran). Joining control planes mount
 * admin.conf, which their join writes before the kubelet starts the pod.
 */

/** Where kubeadm reads static pods; `kubeadm reset` empties it (cleanupnode.go, resetConfigDir). */
export const KUBE_VIP_MANIFEST_PATH = "/etc/kubernetes/manifests/kube-vip.yaml";
/** Replaced on the node by /etc/kubernetes/super-admin.conf or /etc/kubernetes/admin.conf. */
export const KUBECONFIG_PLACEHOLDER = "@KUBE_VIP_KUBECONFIG@";
/** The Lease the control planes' kube-vip instances elect the VIP holder with (kube-vip's default). */
export const KUBE_VIP_LEASE = "plndr-cp-lock";

export interface KubeVipInput {
    /** The virtual IP (IPv4), the host part of the control-plane endpoint. */
    readonly address: string;
    /** The API server's port behind it (kubeadm's bindPort, 6443). */
    readonly port: number;
    /** The interface the VIP is announced on (default: kube-vip picks the default route's). */
    readonly interface?: string;
    /** The kube-vip image, pinned (config/versions.ts IMAGES.kubeVip). */
    readonly image: string;
}

/** The static pod manifest, the same on every control plane (a new one changes no other's). */
export function renderKubeVipManifest(input: KubeVipInput): string {
    const env: { name: string; value?: string; valueFrom?: unknown }[] = [
        { name: "vip_arp", value: "true" },
        { name: "port", value: String(input.port) },
        { name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        ...(input.interface ? [{ name: "vip_interface", value: input.interface }] : []),
        { name: "cp_enable", value: "true" },
        { name: "cp_namespace", value: "kube-system" },
        // The local API server through the host alias below, whatever server the kubeconfig names.
        { name: "kubernetes_addr", value: `kubernetes:${input.port}` },
        { name: "vip_leaderelection", value: "true" },
        { name: "vip_leasename", value: KUBE_VIP_LEASE },
        { name: "vip_leaseduration", value: "15" },
        { name: "vip_renewdeadline", value: "10" },
        { name: "vip_retryperiod", value: "2" },
        { name: "address", value: input.address },
        // Metrics on the host network, as the generator's default; loopback only here.
        { name: "prometheus_server", value: "127.0.0.1:2112" },
    ];
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "kube-vip", namespace: "kube-system", labels: { "app.kubernetes.io/name": "kube-vip", "app.kubernetes.io/managed-by": "k8s-platform" } },
        spec: {
            containers: [
                {
                    name: "kube-vip",
                    image: input.image,
                    imagePullPolicy: "IfNotPresent",
                    args: ["manager"],
                    env,
                    securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } },
                    volumeMounts: [{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf", readOnly: true }],
                },
            ],
            hostNetwork: true,
            hostAliases: [{ ip: "127.0.0.1", hostnames: ["kubernetes"] }],
            // As kubeadm marks its own static pods (staticpod utils ComponentPod): the mirror pod is
            // never the one evicted for room.
            priorityClassName: "system-node-critical",
            priority: 2000001000,
            // type File: a missing kubeconfig keeps the pod waiting instead of the kubelet creating
            // an empty directory in its place (the kubelet's default for an unchecked hostPath).
            volumes: [{ name: "kubeconfig", hostPath: { path: KUBECONFIG_PLACEHOLDER, type: "File" } }],
        },
    };
    return stringify(pod, { lineWidth: 0 });
}

/** The manifest as a node writes it, mounting `kubeconfig` (what the scripts do; for tests). */
export function kubeVipManifestFor(manifest: string, kubeconfig: "/etc/kubernetes/super-admin.conf" | "/etc/kubernetes/admin.conf"): string {
    return manifest.split(KUBECONFIG_PLACEHOLDER).join(kubeconfig);
}
