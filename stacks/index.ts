import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig, StackSecrets } from "./config";
import { StackOutputs } from "./kubeadmPlatform";
import { buildOnPrem } from "./onprem";

/** Builds the whole stack for its infra provider. */
export function buildStack(config: PlatformConfig, secrets: StackSecrets): StackOutputs {
    const sshPrivateKey = secrets.sshPrivateKey ?? pulumi.secret("");
    return buildOnPrem(config, { privateKey: sshPrivateKey, bastion: config.ssh.bastion });
}
