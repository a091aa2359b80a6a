/**
 * What every Kubernetes object and pod of the program carries, as Kubernetes users expect it
 * (pure; tested in test/workloads.test.ts):
 *  - the recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels):
 *    name, instance, component, part-of, managed-by;
 *  - Pod Security Admission labels on the program's namespaces (kubernetes.io/docs/concepts/security/
 *    pod-security-admission): the level each namespace's workloads meet, enforced;
 *  - container security contexts that meet that level: no privilege escalation, every capability
 *    dropped, seccomp RuntimeDefault, a read-only root file system, non-root where the image
 *    and the data on the volumes allow it.
 */

export const PART_OF = "k8s-platform";
/** pulumi-kubernetes applies the objects; charts set their own (Helm), which Chart v4 keeps. */
export const MANAGED_BY = "pulumi";

export interface AppIdentity {
    /** The application: "registry", "tomcat", … (app.kubernetes.io/name). */
    readonly name: string;
    /** This instance of it (default: the name; fixed, so a stack rename changes no label). */
    readonly instance?: string;
    /** Its role in the platform: "registry", "web", "namespace", "storage", … */
    readonly component: string;
}

export function recommendedLabels(app: AppIdentity): Record<string, string> {
    return {
        "app.kubernetes.io/name": app.name,
        "app.kubernetes.io/instance": app.instance ?? app.name,
        "app.kubernetes.io/component": app.component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    };
}

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * Pod Security Admission labels: `level` enforced and warned about (a refused pod says why at
 * apply time), and `restricted` audited, so the API server's audit log shows how far a namespace
 * is from the strictest level.
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/warn": level,
        "pod-security.kubernetes.io/audit": level === "privileged" ? "privileged" : "restricted",
    };
}

/** A namespace's metadata: its name, the recommended labels and its Pod Security level. */
export function namespaceMetadata(name: string, app: Omit<AppIdentity, "component">, level: PodSecurityLevel) {
    return { name, labels: { ...recommendedLabels({ ...app, component: "namespace" }), ...podSecurityLabels(level) } };
}

export interface ContainerSecurity {
    /**
     * The user the container runs as: a uid (non-root, with runAsNonRoot), or "image-root" for an
     * image that runs as root and must keep doing so (the user is then left to the image).
     */
    readonly user: number | "image-root";
    /** Default true: writable paths come from volumes (emptyDir for scratch space). */
    readonly readOnlyRootFilesystem?: boolean;
}

/** The hardened container security context (restricted when `user` is a uid, baseline otherwise). */
export function containerSecurityContext(security: ContainerSecurity) {
    return {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        readOnlyRootFilesystem: security.readOnlyRootFilesystem ?? true,
        seccompProfile: { type: "RuntimeDefault" },
        ...(security.user === "image-root" ? {} : { runAsNonRoot: true, runAsUser: security.user, runAsGroup: security.user }),
    };
}

/** The pod-level security context: seccomp RuntimeDefault for every container. */
export const POD_SECURITY_CONTEXT = { seccompProfile: { type: "RuntimeDefault" } } as const;
