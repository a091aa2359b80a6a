import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { NodeSpec } from "../config";
import * as crypto from "crypto";
import { renderInvocation } from "./render/script";
import { connectionFor, runScript, SshAccess } from "./remoteScript";

/**
 * Dial attempts (15 s each) of the reachability step of a host the program did not create: about
 * 1.5 minutes. Such a host is up already, so one that does not answer by then is wrong (address,
 * port, firewall, key) and the up says so, instead of dialing for 10 minutes in silence.
 */
export const EXISTING_HOST_REACH_DIALS = 6;

/**
 * The containerd version out of prepare-node.sh's standard output: its last line
 * "containerd-version=X.Y.Z" (the script logs on standard error; standard output carries only what
 * the package tools print and this line). Undefined when there is none.
 */
export function containerdVersionOf(stdout: string | undefined): string | undefined {
    const found = [...(stdout ?? "").matchAll(/^containerd-version=(\d+\.\d+\.\d+)$/gm)];
    return found.length > 0 ? found[found.length - 1][1] : undefined;
}

export interface NodeHostArgs {
    /** The node to prepare. */
    readonly node: NodeSpec;
    /** The stack's block of /etc/hosts lines ("IP<TAB>names"), the same on every node. */
    readonly hostsLines: pulumi.Input<string>;
    /** Names the marked block in /etc/hosts (the stack). */
    readonly hostsBlockName: pulumi.Input<string>;
    /** Parameters of prepare-node.sh (see config/nodeEnv.ts). */
    readonly prepareEnv: pulumi.Input<Record<string, string>>;
    /** Secrets of prepare-node.sh, sent on its standard input (default: none, and no standard
     * input): IMAGE_MIRROR_PASSWORD, the mirrors' password. */
    readonly prepareSecrets?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    readonly ssh: SshAccess;
    /** The VM behind the node, when the program creates it (default: none, an existing host). */
    readonly machine?: pulumi.Resource;
}

/**
 * OS preparation of one Kubernetes node (prepare-node.sh) and its /etc/hosts block: one command
 * whose input is the whole block, so adding a machine updates this one command (cheap and
 * idempotent) instead of adding a command per pair of machines.
 */
export class NodeHost extends pulumi.ComponentResource {
    /** Done when the node can run kubeadm. */
    public readonly prepared: command.remote.Command;
    /** The containerd version its last preparation found (undefined: none said, e.g. unknown in a
     * preview of a step that runs again). */
    public readonly containerdVersion: pulumi.Output<string | undefined>;

    constructor(name: string, args: NodeHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:NodeHost", name, {}, opts);
        // The VM must exist (and so have booted far enough to answer SSH) before anything runs on it.
        const onMachine: pulumi.CustomResourceOptions = { parent: this, dependsOn: args.machine ? [args.machine] : [] };
        // An existing host: nothing runs on it before it answered (every later command of the host
        // waits for prepare). A VM the program creates needs no such step: prepare itself dials
        // ssh.dialErrorLimit times, the allowance for a VM that is still booting.
        const afterReach: pulumi.CustomResourceOptions = args.machine ? onMachine : { parent: this, dependsOn: [this.reachable(name, args, onMachine)] };

        this.prepared = runScript(
            `${name}-prepare`,
            { host: args.node, ssh: args.ssh, create: { script: "prepare-node", env: args.prepareEnv }, secrets: args.prepareSecrets },
            afterReach,
        );
        runScript(
            `${name}-hosts`,
            {
                host: args.node,
                ssh: args.ssh,
                create: {
                    script: "hosts-block",
                    env: pulumi.all([args.hostsLines, args.hostsBlockName]).apply(([lines, block]) => ({ BLOCK_NAME: block, HOSTS_LINES: lines })),
                },
            },
            afterReach,
        );
        this.containerdVersion = this.prepared.stdout.apply(containerdVersionOf);
        this.registerOutputs({ prepared: this.prepared.id, containerdVersion: this.containerdVersion });
    }

    /**
     * A first, cheap step on a host the program did not create: an SSH session that runs nothing,
     * with EXISTING_HOST_REACH_DIALS dials (about 1.5 minutes; fewer if ssh.dialErrorLimit is
     * lower) before the up fails naming it. The other commands keep their connection (changing it would re-run
     * every command on every host), so this step guards them: on the first up, and again whenever
     * prepare-node's command changes (its hash is a trigger: the step is replaced, i.e. runs again,
     * before prepare re-runs). Not covered: a later re-run of another command of a host that went
     * away since (it dials `ssh.dialErrorLimit` times); README "Reaching the hosts".
     */
    private reachable(name: string, args: NodeHostArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
        const dials = Math.min(args.ssh.dialErrorLimit ?? EXISTING_HOST_REACH_DIALS, EXISTING_HOST_REACH_DIALS);
        // The command prepare-node runs with (the same text runScript sends), hashed.
        const prepareHash = pulumi
            .output(args.prepareEnv)
            .apply((env) => crypto.createHash("sha256").update(renderInvocation("prepare-node", env)).digest("hex").slice(0, 16));
        return new command.remote.Command(
            `${name}-reachable`,
            {
                connection: connectionFor(args.node, { ...args.ssh, dialErrorLimit: dials }),
                create: ": k8s-platform reachability check",
                addPreviousOutputInEnv: false,
                triggers: [prepareHash],
            },
            opts,
        );
    }
}
