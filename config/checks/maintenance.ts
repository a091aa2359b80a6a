import { configKey as k, Problems } from "../errors";
import { Raw } from "../schema";
import { AddonHost, EtcdBackupSettings } from "../types";

/**
 * Control-plane maintenance (etcd snapshots, certificate renewal): the NFS copy of the snapshots
 * needs the NFS server the stack runs, and is addressed as `<its IP>:<exportPath>`.
 */
export function resolveEtcdBackup(raw: Raw, nfsHost: AddonHost | undefined, problems: Problems): EtcdBackupSettings {
    const { nfs, ...backup } = raw.kubernetes.etcdBackup;
    if (nfs && !nfsHost) {
        problems.push(
            `${k("kubernetes.etcdBackup.nfs")}: true copies each etcd snapshot to the NFS share, but nfs.enabled is false; enable nfs (with nfs.host) or set kubernetes.etcdBackup.nfs to false`,
        );
    }
    return { ...backup, ...(nfs && nfsHost ? { nfsTarget: `${nfsHost.host.ip}:${raw.nfs.exportPath}` } : {}) };
}
