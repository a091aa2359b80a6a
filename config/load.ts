import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "./parse";
import { PROJECT, SSH_KEY_CONFIG } from "./schema";
import { PlatformConfig, StackSecrets } from "./types";

/** A raw config value as Pulumi stores it: objects and lists as JSON text, the rest as strings. */
export function decodeConfigValue(text: string): unknown {
    const trimmed = text.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
        return JSON.parse(trimmed);
    }
    return text;
}

/** Reads and validates the running stack's config: the program's only use of pulumi config. */
export function loadConfig(): { config: PlatformConfig; secrets: StackSecrets } {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        const [namespace, name] = key.split(":");
        if (namespace === PROJECT && name !== SSH_KEY_CONFIG) {
            raw[name] = decodeConfigValue(value);
        }
    }
    const sshPrivateKey = new pulumi.Config(PROJECT).getSecret(SSH_KEY_CONFIG);
    const config = parseConfig(raw, { stack: pulumi.getStack(), hasSshPrivateKey: sshPrivateKey !== undefined });
    return { config, secrets: { sshPrivateKey } };
}
