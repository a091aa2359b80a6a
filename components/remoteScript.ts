import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostSpec } from "../config";
import { renderInvocation, renderSecretStdin, ScriptName } from "./render/script";

/** How the program reaches machines over SSH. */
export interface SshAccess {
    /** The SSH private key (a Pulumi secret). */
    readonly privateKey: pulumi.Input<string>;
    /** Jump host for machines without a direct route, its host key pinned when given (default: none). */
    readonly bastion?: { readonly host: string; readonly port: number; readonly user: string; readonly hostKey?: string };
    /** Dial attempts (15 s each) before a command fails (default: 40, about 10 minutes for a booting VM). */
    readonly dialErrorLimit?: number;
    /** Address to SSH to, per host name, when it is not the host's cluster IP (default: the IP),
     * e.g. a cloud VM's public DNS name. */
    readonly addresses?: Record<string, pulumi.Input<string>>;
    /** Host public keys, per host name, of machines the program gave a key (default: none; a key
     * in the host's own config wins). */
    readonly hostKeys?: Record<string, pulumi.Input<string>>;
    /** The identity of the machine behind each host name, when the program creates it (vSphere
     * uuid, Azure vmId; default: none, existing hosts). Every create step on that host carries it,
     * so a machine recreated under the same name (deleted out of band, then `pulumi up`) is prepared
     * and joined again, and an unchanged machine re-runs nothing. */
    readonly machineIds?: Record<string, pulumi.Input<string>>;
    /** A value every connection waits for (default: none): the refusal checks (components/refusals.ts).
     * A refused change rejects it, so no command connects to any host, even under
     * `pulumi up --skip-preview`. (A new node's record is known at preview, its keepers planned from
     * the config: adding a node leaves the other connections known, test/e2e/engine-cluster.test.ts.) */
    readonly gate?: pulumi.Input<unknown>;
}

/**
 * The SSH connection for a host. The provider stores connections as secrets; the key is a
 * secret already. `hostKey` pins the host's identity: pulumi-command v1.2.1 checks it with
 * ssh.FixedHostKey and, without it, accepts any host key (provider/pkg/provider/remote/
 * connection.go), while the CA key travels to that host on standard input.
 * Any change here re-runs every command on the host (a changed input), so defaults never move.
 */
export function connectionFor(
    host: { name: string; ip: pulumi.Input<string>; sshUser: string; sshPort: number; hostKey?: pulumi.Input<string> },
    ssh: SshAccess,
): command.types.input.remote.ConnectionArgs {
    const bastion = ssh.bastion;
    const hostKey = host.hostKey ?? ssh.hostKeys?.[host.name];
    const address = ssh.addresses?.[host.name] ?? host.ip;
    return {
        host: ssh.gate === undefined ? address : pulumi.all([ssh.gate, address]).apply(([, resolved]) => resolved),
        port: host.sshPort,
        user: host.sshUser,
        privateKey: pulumi.secret(ssh.privateKey),
        ...(hostKey ? { hostKey } : {}),
        dialErrorLimit: ssh.dialErrorLimit ?? 40,
        perDialTimeout: 15,
        ...(bastion
            ? {
                  proxy: {
                      host: bastion.host,
                      port: bastion.port,
                      user: bastion.user,
                      privateKey: pulumi.secret(ssh.privateKey),
                      ...(bastion.hostKey ? { hostKey: bastion.hostKey } : {}),
                  },
              }
            : {}),
    };
}

export interface ScriptStep {
    /** Script under scripts/. */
    readonly script: ScriptName;
    /** Its parameters; plain values only, they show in previews. */
    readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface RunScriptArgs {
    readonly host: HostSpec;
    readonly ssh: SshAccess;
    /** What runs on create (and again whenever an input changes); none: a delete-only step, which
     * opens no SSH session until it is removed. */
    readonly create?: ScriptStep;
    /** What runs when an input changes, instead of the create step (default: the create step).
     * Alone (no create): a step that runs nothing when created and runs on every later change of
     * its inputs (pulumi-command v1.2.1 runs `update` when set, else `create`). */
    readonly update?: ScriptStep;
    /** Secrets for the create and update steps, delivered on standard input (default: none). */
    readonly secrets?: pulumi.Input<Record<string, pulumi.Input<string | undefined>>>;
    /** What runs when the resource is deleted (default: nothing). */
    readonly delete?: ScriptStep;
    /** Keep the output out of Pulumi's logs and store it as a secret (default: false): for commands
     * whose output may carry a secret (kubeadm init prints the join command with its token). */
    readonly secretOutput?: boolean;
    /** Re-run the create step on a new machine under the same host name (default: true; see
     * `SshAccess.machineIds`). */
    readonly machineBound?: boolean;
}

function render(step: ScriptStep): pulumi.Output<string> {
    return pulumi.output(step.env ?? {}).apply((env) => renderInvocation(step.script, env as Record<string, string>));
}

/**
 * The create step with the machine's identity as MACHINE_ID (a parameter the scripts ignore): a
 * changed input re-runs the create step (pulumi-command v1.2.1 has no update for our commands, so
 * "update" runs create again) and runs no delete step, so the new machine is prepared and joined,
 * and nothing is reset on the machine that is gone.
 */
function createStep(args: RunScriptArgs): ScriptStep | undefined {
    const machineId = args.machineBound === false ? undefined : args.ssh.machineIds?.[args.host.name];
    if (!args.create || machineId === undefined) {
        return args.create;
    }
    return {
        ...args.create,
        env: pulumi.all([pulumi.output(args.create.env ?? {}), machineId]).apply(([env, id]) => ({ ...(env as Record<string, string>), MACHINE_ID: id })),
    };
}

/** A remote command that runs one of the node scripts on a host. */
export function runScript(name: string, args: RunScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const create = createStep(args);
    return new command.remote.Command(
        name,
        {
            connection: connectionFor(args.host, args.ssh),
            create: create ? render(create) : undefined,
            update: args.update ? render(args.update) : undefined,
            delete: args.delete ? render(args.delete) : undefined,
            stdin: args.secrets
                ? pulumi.secret(pulumi.output(args.secrets).apply((s) => renderSecretStdin(s as Record<string, string | undefined>)))
                : undefined,
            logging: args.secretOutput ? "none" : undefined,
            // Default true: on update and delete the provider sends the previous stdout/stderr as SSH
            // Setenv PULUMI_COMMAND_STDOUT/STDERR (pulumi-command v1.2.1, remote commandOutputs), which
            // stock sshd refuses with a warning, while the old output still travels to the host.
            addPreviousOutputInEnv: false,
        },
        // pulumi-go-provider marks an output secret only when an input of the same name is secret, so
        // stdout/stderr are plain unless the engine is told otherwise.
        args.secretOutput ? pulumi.mergeOptions(opts, { additionalSecretOutputs: ["stdout", "stderr"] }) : opts,
    );
}
