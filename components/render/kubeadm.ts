import * as crypto from "crypto";
import { stringify } from "yaml";
import { ImageMirrors, kubeadmImageSettings } from "../../config";

/**
 * kubeadm configuration files (kubeadm.k8s.io/v1beta4), rendered without secrets: the bootstrap
 * token and certificate key are placeholders the node scripts fill in from standard input.
 */

export const KUBEADM_API = "kubeadm.k8s.io/v1beta4";
export const TOKEN_PLACEHOLDER = "@BOOTSTRAP_TOKEN@";
export const CERTIFICATE_KEY_PLACEHOLDER = "@CERTIFICATE_KEY@";
/** Replaced on the node by `kubeadm version` when the stack pins only a minor. */
export const VERSION_PLACEHOLDER = "@KUBERNETES_VERSION@";
export const CRI_SOCKET = "unix:///run/containerd/containerd.sock";

export interface KubeadmNode {
    readonly name: string;
    readonly ip: string;
}

export interface InitConfigInput {
    readonly clusterName: string;
    readonly node: KubeadmNode;
    /** "1.35" or "1.35.2". */
    readonly kubernetesVersion: string;
    readonly podSubnet: string;
    readonly serviceSubnet: string;
    readonly dnsDomain: string;
    readonly controlPlaneEndpoint: string;
    readonly certSANs: string[];
    /** Image mirrors (config `images`): registry.k8s.io's becomes kubeadm's imageRepository (default: none). */
    readonly imageMirrors?: ImageMirrors;
}

function nodeRegistration(node: KubeadmNode) {
    return {
        name: node.name,
        criSocket: CRI_SOCKET,
        // The node's own address, not whichever interface has the default route (Vagrant, Azure).
        kubeletExtraArgs: [{ name: "node-ip", value: node.ip }],
    };
}

function kubeadmVersion(version: string): string {
    return /^\d+\.\d+\.\d+$/.test(version) ? `v${version}` : VERSION_PLACEHOLDER;
}

/** The names kubeadm puts in the ClusterConfiguration's apiServer.certSANs: the endpoint's host,
 * the bootstrap node's IP and name, then the configured and deployment-time names. */
export function apiServerCertSANs(input: Pick<InitConfigInput, "controlPlaneEndpoint" | "node" | "certSANs">): string[] {
    const [host] = input.controlPlaneEndpoint.split(":");
    return [...new Set([host, input.node.ip, input.node.name, ...input.certSANs])];
}

function clusterConfiguration(input: InitConfigInput) {
    return {
        apiVersion: KUBEADM_API,
        kind: "ClusterConfiguration",
        clusterName: input.clusterName,
        kubernetesVersion: kubeadmVersion(input.kubernetesVersion),
        controlPlaneEndpoint: input.controlPlaneEndpoint,
        networking: {
            podSubnet: input.podSubnet,
            serviceSubnet: input.serviceSubnet,
            dnsDomain: input.dnsDomain,
        },
        apiServer: { certSANs: apiServerCertSANs(input) },
        // Nothing without a mirror: the ClusterConfiguration of a stack without one is unchanged.
        ...kubeadmImageSettings(input.imageMirrors ?? {}),
    };
}

/**
 * What `kubeadm init phase certs apiserver` and `kubeadm init phase upload-config kubeadm` read on
 * a control plane (apiserver-certs.sh): that node's InitConfiguration (its advertise address and
 * name go into the certificate) and the cluster's ClusterConfiguration, exactly as init got it.
 * No secret: no bootstrap token, no certificate key.
 */
export function renderApiServerCertConfig(input: InitConfigInput & { readonly member: KubeadmNode }): string {
    const docs = [
        {
            apiVersion: KUBEADM_API,
            kind: "InitConfiguration",
            localAPIEndpoint: { advertiseAddress: input.member.ip, bindPort: 6443 },
            nodeRegistration: nodeRegistration(input.member),
        },
        clusterConfiguration(input),
    ];
    return docs.map((doc) => stringify(doc)).join("---\n");
}

export function renderInitConfig(input: InitConfigInput): string {
    const docs = [
        {
            apiVersion: KUBEADM_API,
            kind: "InitConfiguration",
            bootstrapTokens: [
                {
                    token: TOKEN_PLACEHOLDER,
                    ttl: "24h0m0s",
                    usages: ["signing", "authentication"],
                    groups: ["system:bootstrappers:kubeadm:default-node-token"],
                },
            ],
            certificateKey: CERTIFICATE_KEY_PLACEHOLDER,
            localAPIEndpoint: { advertiseAddress: input.node.ip, bindPort: 6443 },
            nodeRegistration: nodeRegistration(input.node),
        },
        clusterConfiguration(input),
        {
            apiVersion: "kubelet.config.k8s.io/v1beta1",
            kind: "KubeletConfiguration",
            cgroupDriver: "systemd",
        },
    ];
    return docs.map((doc) => stringify(doc)).join("---\n");
}

export interface JoinConfigInput {
    readonly node: KubeadmNode;
    readonly controlPlaneEndpoint: string;
    /** "sha256:<hex>" of the cluster CA's public key. */
    readonly caCertHash: string;
    readonly controlPlane: boolean;
}

export function renderJoinConfig(input: JoinConfigInput): string {
    return stringify({
        apiVersion: KUBEADM_API,
        kind: "JoinConfiguration",
        discovery: {
            bootstrapToken: {
                apiServerEndpoint: input.controlPlaneEndpoint,
                token: TOKEN_PLACEHOLDER,
                caCertHashes: [input.caCertHash],
            },
        },
        nodeRegistration: nodeRegistration(input.node),
        ...(input.controlPlane
            ? {
                  controlPlane: {
                      localAPIEndpoint: { advertiseAddress: input.node.ip, bindPort: 6443 },
                      certificateKey: CERTIFICATE_KEY_PLACEHOLDER,
                  },
              }
            : {}),
    });
}

/**
 * kubeadm's discovery hash: "sha256:" + hex SHA-256 of the CA certificate's public key in DER
 * (SubjectPublicKeyInfo), the value `--discovery-token-ca-cert-hash` takes.
 */
export function caCertHash(caCertPem: string): string {
    const der = new crypto.X509Certificate(caCertPem).publicKey.export({ type: "spki", format: "der" });
    return `sha256:${crypto.createHash("sha256").update(der).digest("hex")}`;
}
