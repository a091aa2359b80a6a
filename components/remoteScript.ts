import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { HostSpec } from "../config";
import { renderInvocation, renderSecretStdin, ScriptName } from "./render/script";

/** How the program reaches machines over SSH. */
export interface SshAccess {
    /** The SSH private key (a Pulumi secret). */
    readonly privateKey: pulumi.Input<string>;
    /** Jump host for machines without a direct route (default: none). */
    readonly bastion?: { readonly host: string; readonly port: number; readonly user: string };
    /** Address to SSH to, per host name, when it is not the host's cluster IP (default: the IP),
     * e.g. a cloud VM's public DNS name. */
    readonly addresses?: Record<string, pulumi.Input<string>>;
}

/**
 * The SSH connection for a host. The provider stores connections as secrets; the key is a
 * secret already. dialErrorLimit allows for a VM that is still booting (about 10 minutes).
 */
export function connectionFor(host: { name: string; ip: pulumi.Input<string>; sshUser: string; sshPort: number }, ssh: SshAccess): command.types.input.remote.ConnectionArgs {
    return {
        host: ssh.addresses?.[host.name] ?? host.ip,
        port: host.sshPort,
        user: host.sshUser,
        privateKey: pulumi.secret(ssh.privateKey),
        dialErrorLimit: 40,
        perDialTimeout: 15,
        ...(ssh.bastion
            ? { proxy: { host: ssh.bastion.host, port: ssh.bastion.port, user: ssh.bastion.user, privateKey: pulumi.secret(ssh.privateKey) } }
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
    /** What runs on create (and again whenever it changes). */
    readonly create: ScriptStep;
    /** Secrets for the create step, delivered on standard input (default: none). */
    readonly secrets?: pulumi.Input<Record<string, pulumi.Input<string | undefined>>>;
    /** What runs when the resource is deleted (default: nothing). */
    readonly delete?: ScriptStep;
    /** Keep the output out of Pulumi's logs and store it as a secret (default: false). */
    readonly secretOutput?: boolean;
}

function render(step: ScriptStep): pulumi.Output<string> {
    return pulumi.output(step.env ?? {}).apply((env) => renderInvocation(step.script, env as Record<string, string>));
}

/** A remote command that runs one of the node scripts on a host. */
export function runScript(name: string, args: RunScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(
        name,
        {
            connection: connectionFor(args.host, args.ssh),
            create: render(args.create),
            delete: args.delete ? render(args.delete) : undefined,
            stdin: args.secrets
                ? pulumi.secret(pulumi.output(args.secrets).apply((s) => renderSecretStdin(s as Record<string, string | undefined>)))
                : undefined,
            logging: args.secretOutput ? "none" : undefined,
        },
        args.secretOutput ? pulumi.mergeOptions(opts, { additionalSecretOutputs: ["stdout", "stderr"] }) : opts,
    );
}
