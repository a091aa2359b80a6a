import * as pulumi from "@pulumi/pulumi";
import { buildAks } from "./aks";
import { buildAzure } from "./azure";
import { PlatformConfig, StackSecrets } from "../config";
import { StackOutputs } from "./outputs";
import { buildOnPrem } from "./onprem";

/** Builds the whole stack for its infra provider. */
export function buildStack(config: PlatformConfig, secrets: StackSecrets): StackOutputs {
    if (config.infra.provider === "aks") {
        return buildAks(config);
    }
    // Config validation has required the key for every provider but AKS.
    const ssh = { privateKey: secrets.sshPrivateKey ?? pulumi.secret(""), bastion: config.ssh.bastion, dialErrorLimit: config.ssh.dialErrorLimit };
    return config.infra.provider === "azure" ? buildAzure(config, ssh, secrets) : buildOnPrem(config, ssh, secrets);
}
