import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";

export interface NfsServerArgs {
    /** The storage machine (seed 000: test-storage1; or a cluster node). */
    readonly host: HostSpec;
    readonly ssh: SshAccess;
    /** Exported directory (seed 000: /share_storage). */
    readonly exportPath: string;
    /** Only this network may mount it (the node network). */
    readonly exportNetwork: string;
    /** Subdirectories, one per volume. */
    readonly volumeDirectories: string[];
    readonly firewall: "disabled" | "open";
    /** What must be done on the host first (its VM, or its node preparation; default: nothing). */
    readonly after?: pulumi.Resource[];
}

/**
 * An NFS server over SSH (seed 000 §14). It has no delete step: removing it from the stack leaves
 * the server and every file on the share in place.
 */
export class NfsServer extends pulumi.ComponentResource {
    public readonly server: string;
    public readonly ready: command.remote.Command;

    constructor(name: string, args: NfsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:storage:NfsServer", name, {}, opts);
        this.ready = runScript(
            `${name}-nfs`,
            {
                host: args.host,
                ssh: args.ssh,
                create: {
                    script: "nfs-server",
                    env: {
                        EXPORT_PATH: args.exportPath,
                        EXPORT_NETWORK: args.exportNetwork,
                        VOLUME_DIRS: args.volumeDirectories.join(" "),
                        FIREWALL_MODE: args.firewall,
                    },
                },
            },
            // Package installs on one host must not run concurrently (dpkg/rpm locks).
            { parent: this, dependsOn: args.after ?? [] },
        );
        this.server = args.host.ip;
        this.registerOutputs({ server: this.server });
    }
}
