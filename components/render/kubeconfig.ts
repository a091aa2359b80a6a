import { parse, stringify } from "yaml";

/** The kubeconfig with every cluster's API server URL replaced (e.g. a node's private address by
 * its public name, which is in the API server certificate). */
export function withServer(kubeconfig: string, server: string): string {
    const doc = parse(kubeconfig) as { clusters?: { cluster?: { server?: string } }[] } | null;
    if (!doc || !Array.isArray(doc.clusters)) {
        return kubeconfig;
    }
    for (const entry of doc.clusters) {
        if (entry.cluster) {
            entry.cluster.server = server;
        }
    }
    return stringify(doc);
}

/** AKS returns kubeconfigs base64-encoded; this is the first one, decoded. */
export function decodeKubeconfig(result: { kubeconfigs?: { value?: string }[] }): string {
    const value = result.kubeconfigs?.[0]?.value;
    if (!value) {
        throw new Error("AKS returned no kubeconfig for the cluster's user credentials");
    }
    return Buffer.from(value, "base64").toString("utf8");
}

/**
 * An admin kubeconfig from PEM material: the cluster CA, and a client certificate signed by it
 * whose organisation `kubeadm:cluster-admins` kubeadm (1.29+) binds to cluster-admin.
 */
export function renderAdminKubeconfig(args: { clusterName: string; server: string; caCertPem: string; clientCertPem: string; clientKeyPem: string }): string {
    const b64 = (pem: string) => Buffer.from(pem).toString("base64");
    const user = `${args.clusterName}-admin`;
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: args.clusterName, cluster: { server: args.server, "certificate-authority-data": b64(args.caCertPem) } }],
        users: [{ name: user, user: { "client-certificate-data": b64(args.clientCertPem), "client-key-data": b64(args.clientKeyPem) } }],
        contexts: [{ name: `${user}@${args.clusterName}`, context: { cluster: args.clusterName, user } }],
        "current-context": `${user}@${args.clusterName}`,
    });
}
