import { configKey as k, Problems } from "../errors";
import { Raw, show } from "../schema";
import { KUBERNETES_VERSION, SUPPORTED_KUBERNETES_MINORS } from "../versions";

/**
 * What the nodes would only find out late: a Kubernetes minor the program does not support (no
 * package repository, or a kubeadm config it was not tested with), and proxy URLs apt, dnf and
 * containerd cannot use.
 */
export function checkNodeSoftware(raw: Raw, problems: Problems): void {
    if (raw.infra.provider !== "aks") {
        const version = raw.kubernetes.version ?? KUBERNETES_VERSION;
        const minor = version.split(".").slice(0, 2).join(".");
        if (!SUPPORTED_KUBERNETES_MINORS.includes(minor)) {
            problems.push(
                `${k("kubernetes.version")}: ${show(version)} is Kubernetes ${minor}, which this program does not support; ` +
                    `supported minors: ${SUPPORTED_KUBERNETES_MINORS.join(", ")} (config/versions.ts)`,
            );
        }
    }
    for (const key of ["httpProxy", "httpsProxy"] as const) {
        const url = raw.os[key];
        if (url !== undefined && !/^https?:\/\/[^\s/:]+(:\d{1,5})?\/?$/.test(url)) {
            problems.push(
                `${k(`os.${key}`)}: ${show(url)} is not a proxy URL; expected "http://host:port" (or https://): apt, dnf and ` +
                    `containerd need the scheme, e.g. "http://${url.replace(/^[a-z]*:\/\//, "").replace(/\/.*$/, "") || "proxy.example.com:3128"}"`,
            );
        }
    }
}
