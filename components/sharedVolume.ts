import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/** Where a shared (ReadWriteMany) volume lives. */
export type SharedVolumeBackend =
    /** A directory of the NFS export: a static PersistentVolume bound to exactly one claim. */
    | { readonly kind: "nfs"; readonly server: string; readonly path: string }
    /** A dynamically provisioned claim of a storage class (AKS: azurefile-csi). */
    | { readonly kind: "storageClass"; readonly storageClassName: string; readonly accessMode?: "ReadWriteMany" | "ReadWriteOnce" };

export interface SharedVolumeArgs {
    readonly provider: k8s.Provider;
    readonly namespace: pulumi.Input<string>;
    /** Claim name (and, with NFS, the volume's name prefix). */
    readonly claimName: string;
    /** e.g. "10Gi". */
    readonly size: string;
    readonly backend: SharedVolumeBackend;
    /** Labels of the claim and (NFS) the volume (default: none). */
    readonly labels?: Record<string, string>;
}

/**
 * A PersistentVolumeClaim, and for NFS its static PersistentVolume (seed 000 §14). The pair is
 * bound explicitly both ways (volumeName and claimRef) and has no storage class, so no other
 * claim can take the volume. The volume is `Retain`: deleting it, the claim or the whole stack
 * never deletes the files on the share.
 */
export class SharedVolume extends pulumi.ComponentResource {
    public readonly claimName: pulumi.Output<string>;

    constructor(name: string, args: SharedVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:storage:SharedVolume", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        let claimSpec: k8s.types.input.core.v1.PersistentVolumeClaimSpec;
        if (args.backend.kind === "nfs") {
            const pvName = pulumi.interpolate`${args.namespace}-${args.claimName}`;
            const pv = new k8s.core.v1.PersistentVolume(
                `${name}-pv`,
                {
                    metadata: { name: pvName, labels: args.labels },
                    spec: {
                        capacity: { storage: args.size },
                        accessModes: ["ReadWriteMany"],
                        persistentVolumeReclaimPolicy: "Retain",
                        storageClassName: "",
                        mountOptions: ["nfsvers=4.1"],
                        nfs: { server: args.backend.server, path: args.backend.path },
                        claimRef: { namespace: args.namespace, name: args.claimName },
                    },
                },
                k8sOpts,
            );
            claimSpec = {
                accessModes: ["ReadWriteMany"],
                storageClassName: "",
                volumeName: pv.metadata.name,
                resources: { requests: { storage: args.size } },
            };
        } else {
            claimSpec = {
                accessModes: [args.backend.accessMode ?? "ReadWriteMany"],
                storageClassName: args.backend.storageClassName,
                resources: { requests: { storage: args.size } },
            };
        }
        const pvc = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-pvc`,
            {
                metadata: {
                    name: args.claimName,
                    namespace: args.namespace,
                    labels: args.labels,
                    // A static volume's claim binds at once; a dynamic class may bind only when a pod
                    // uses it (WaitForFirstConsumer), so don't wait for that one.
                    annotations: args.backend.kind === "nfs" ? undefined : { "pulumi.com/skipAwait": "true" },
                },
                spec: claimSpec,
            },
            k8sOpts,
        );
        this.claimName = pvc.metadata.name;
        this.registerOutputs({ claimName: this.claimName });
    }
}
