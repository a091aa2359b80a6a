import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { etcdSnapshotEnv, KubernetesConfig, KubernetesVersionPlan, maintenanceEnv, NodeSpec, OsConfig } from "../config";
import { runScript, SshAccess } from "./remoteScript";
import { readScript, stripScriptComments } from "./render/script";

export interface ControlPlaneMaintenanceArgs {
    /** Every control plane, the bootstrap one included. */
    readonly controlPlanes: NodeSpec[];
    /** The control plane that ran `kubeadm init`: it takes the snapshot before another one is removed. */
    readonly bootstrapNode: string;
    /** Per control plane, its `kubeadm init` or join: the maintenance is installed after it (and a
     * removed control plane's snapshot step is deleted, i.e. runs, before it). */
    readonly members: Record<string, pulumi.Resource>;
    /** Per control plane, what else its maintenance step waits for (default: nothing). */
    readonly after?: Record<string, pulumi.Resource[]>;
    /** etcdBackup and certRenewal settings, networks (for NO_PROXY). */
    readonly kubernetes: KubernetesConfig;
    /** The version the cluster runs after this `up` (its minor picks the etcd tools): with
     * kubernetes.version unset it is the recorded one, not the default, so a moved default
     * re-runs nothing. Default: kubernetes.version as configured. */
    readonly version?: pulumi.Input<KubernetesVersionPlan>;
    /** Proxy settings for the etcd release download. */
    readonly os: OsConfig;
    /** The node network (NO_PROXY). */
    readonly nodeNetwork: string;
    /** The platform's domain (NO_PROXY; default: none). */
    readonly domain?: string;
    readonly ssh: SshAccess;
}

/** One control plane's `kubeadm certs check-expiration`, as the certificateExpiry output shows it. */
export interface CertificateExpiry {
    readonly node: string;
    /** When the maintenance step last ran (UTC). */
    readonly checkedAt: string;
    /** The earliest expiry of the control plane's certificates (not the CAs). */
    readonly earliestExpiry: string;
    readonly certificates: Record<string, string>;
    readonly certificateAuthorities: Record<string, string>;
}

/**
 * Day-2 maintenance of the control planes (issue 16):
 *  - `<cp>` on every control plane (control-plane-maintenance.sh): the etcd snapshot
 *    timer (kubernetes.etcdBackup), the certificate renewal timer (kubernetes.certRenewal), the
 *    programs they run and etcd-restore.sh, etcdctl/etcdutl; its stdout is the control plane's
 *    certificate expiry (not secret), which becomes the `certificateExpiry` output. It runs when
 *    created and whenever one of its inputs changes (settings, scripts, connection), like every
 *    command (pulumi-command v1.2.1 has no Read that would re-run it on refresh).
 *  - `<cp>-pre-removal-snapshot` per joined control plane, delete only, on the bootstrap control
 *    plane: it depends on that control plane's join, so when the control plane leaves the stack it
 *    is deleted first, and its delete takes an etcd snapshot before `kubeadm reset` removes the
 *    member. No SSH session until then (a delete-only command has no create).
 * A removed control plane's own timers disable themselves at their next run (kubeadm reset removed
 * the manifests and certificates), so removal needs no step on the removed host.
 */
export class ControlPlaneMaintenance extends pulumi.ComponentResource {
    /** Per control plane, the expiry of its kubeadm certificates as of the maintenance step's last run. */
    public readonly certificateExpiry: pulumi.Output<Record<string, CertificateExpiry | string>>;

    constructor(name: string, args: ControlPlaneMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:ControlPlaneMaintenance", name, {}, opts);
        const bootstrap = args.controlPlanes.find((n) => n.name === args.bootstrapNode);
        if (!bootstrap) {
            throw new Error(`bootstrap node ${args.bootstrapNode} is not among the control planes`);
        }
        // The installed programs are the repository's files, lib.sh and lib-maintenance.sh next to
        // them (each sources both), sent without comments like every script (a comment-only edit
        // re-runs nothing), and without the final newline: the script writes each with printf '%s\n'.
        const file = (script: Parameters<typeof readScript>[0]) => stripScriptComments(readScript(script)).replace(/\n$/, "");
        const programs = {
            LIB_SH: file("lib"),
            LIB_MAINTENANCE_SH: file("lib-maintenance"),
            ETCD_BACKUP_SH: file("etcd-backup"),
            CERT_RENEWAL_SH: file("cert-renewal"),
            ETCD_RESTORE_SH: file("etcd-restore"),
        };
        const installs: Record<string, command.remote.Command> = {};
        for (const node of args.controlPlanes) {
            const member = args.members[node.name];
            installs[node.name] = runScript(
                `${name}-${node.name}`,
                {
                    host: node,
                    ssh: args.ssh,
                    create: {
                        script: "control-plane-maintenance",
                        env: pulumi.output(args.version ?? { version: args.kubernetes.version, minor: args.kubernetes.minor, upgrade: "none" as const }).apply((v) => ({
                            ...maintenanceEnv({ node: node.name, kubernetes: { ...args.kubernetes, version: v.version, minor: v.minor }, os: args.os, nodeNetwork: args.nodeNetwork, domain: args.domain }),
                            ...programs,
                        })),
                    },
                },
                // kubeadm must have made the control plane (manifests, certificates, kubelet config).
                { parent: this, dependsOn: [...new Set([...(member ? [member] : []), ...(args.after?.[node.name] ?? [])])] },
            );
            if (node !== bootstrap && member) {
                runScript(
                    `${name}-${node.name}-pre-removal-snapshot`,
                    {
                        host: bootstrap,
                        ssh: args.ssh,
                        delete: { script: "etcd-backup", env: etcdSnapshotEnv(bootstrap.name, args.kubernetes.etcdBackup, `before-removal-of-${node.name}`) },
                    },
                    // Depending on the join, it is deleted (the snapshot taken) before the join's delete resets the member.
                    { parent: this, dependsOn: [member] },
                );
            }
        }
        this.certificateExpiry = pulumi
            .all(Object.entries(installs).map(([node, cmd]) => cmd.stdout.apply((out) => [node, parseExpiry(out)] as const)))
            .apply((entries) => Object.fromEntries(entries));
        this.registerOutputs({ certificateExpiry: this.certificateExpiry });
    }
}

/** The JSON line control-plane-maintenance.sh prints last; the raw text when it is not one (e.g. unknown at preview). */
export function parseExpiry(stdout: string | undefined): CertificateExpiry | string {
    const line = (stdout ?? "").trim().split("\n").pop() ?? "";
    try {
        const parsed = JSON.parse(line);
        if (parsed && typeof parsed === "object" && typeof parsed.earliestExpiry === "string") {
            return parsed as CertificateExpiry;
        }
    } catch {
        // not JSON: reported as is below
    }
    return line === "" ? "not reported yet" : line;
}
