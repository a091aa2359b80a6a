import { noProxyList } from "./nodeEnv";
import { EtcdBackupSettings, KubernetesConfig, OsConfig } from "./types";
import { ETCD_TOOLS, forMinor } from "./versions";

/**
 * Parameters of the control-plane maintenance scripts (pure). Like prepareNodeEnv, built from the
 * node and cluster-wide settings only: adding a node changes no other node's maintenance step.
 */

/** control-plane-maintenance.sh for one control plane (the programs' text is added by the component). */
export function maintenanceEnv(args: { node: string; kubernetes: KubernetesConfig; os: OsConfig; nodeNetwork: string; domain?: string }): Record<string, string> {
    const { etcdBackup, certRenewal } = args.kubernetes;
    const etcdTools = forMinor(ETCD_TOOLS, "ETCD_TOOLS", args.kubernetes.minor);
    const env: Record<string, string> = {
        NODE_NAME: args.node,
        BACKUP_ENABLED: String(etcdBackup.enabled),
        RENEWAL_ENABLED: String(certRenewal.enabled),
        ETCD_RELEASE: etcdTools.version,
        ETCD_RELEASE_URL: etcdTools.url,
        ETCD_RELEASE_SHA256: Object.entries(etcdTools.sha256)
            .map(([arch, sha]) => `${arch}=${sha}`)
            .join(" "),
    };
    if (etcdBackup.enabled) {
        Object.assign(env, {
            BACKUP_SCHEDULE: etcdBackup.schedule,
            BACKUP_DIRECTORY: etcdBackup.directory,
            BACKUP_RETENTION: String(etcdBackup.retention),
            ...(etcdBackup.nfsTarget ? { BACKUP_NFS_TARGET: etcdBackup.nfsTarget } : {}),
        });
    }
    if (certRenewal.enabled) {
        env.RENEWAL_THRESHOLD_DAYS = String(certRenewal.thresholdDays);
    }
    if (args.os.httpsProxy || args.os.httpProxy) {
        env.HTTPS_PROXY_URL = args.os.httpsProxy ?? args.os.httpProxy ?? "";
        env.NO_PROXY_LIST = noProxyList(args.os.noProxy, args.kubernetes.dnsDomain, [args.nodeNetwork, args.kubernetes.podSubnet, args.kubernetes.serviceSubnet], args.domain);
    }
    return env;
}

/**
 * etcd-backup.sh taking one snapshot now, on `node`, for `reason` ("before-removal-of-cp2",
 * "before-upgrade-to-1.36.1": lowercase letters, digits, "." and "-"): what any step calls before
 * it changes the control plane. Kept in the same directory (and on the share) as the scheduled ones;
 * retention counts per reason.
 */
export function etcdSnapshotEnv(node: string, backup: EtcdBackupSettings, reason: string): Record<string, string> {
    if (!/^[a-z0-9][a-z0-9.-]{0,127}$/.test(reason)) {
        throw new Error(`etcd snapshot reason ${JSON.stringify(reason)}: lowercase letters, digits, "." and "-" only`);
    }
    return {
        NODE_NAME: node,
        DIRECTORY: backup.directory,
        RETENTION: String(backup.retention),
        REASON: reason,
        ...(backup.nfsTarget ? { NFS_TARGET: backup.nfsTarget } : {}),
    };
}
