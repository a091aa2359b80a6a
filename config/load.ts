import * as pulumi from "@pulumi/pulumi";
import { SshKeyFacts, sshKeyForm } from "./checks/stack";
import { parseConfig } from "./parse";
import { IMAGES_PASSWORD_CONFIG, PROJECT, SSH_KEY_CONFIG } from "./schema";
import { PlatformConfig, StackSecrets } from "./types";

/** A raw config value as Pulumi stores it: objects and lists as JSON text, the rest as strings. */
export function decodeConfigValue(text: string): unknown {
    const trimmed = text.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
        return JSON.parse(trimmed);
    }
    return text;
}

/**
 * Whether a config key holds a secret. @pulumi/pulumi 3.270.0 runtime/config.js `isConfigSecret`
 * reads PULUMI_CONFIG_SECRET_KEYS, the list the language host passes with PULUMI_CONFIG (the mock
 * runtime's `setAllConfig(config, secretKeys)` sets the same list); the SDK exports it at runtime
 * but marks it internal in its typings.
 */
function isSecretKey(key: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
    return runtime.isConfigSecret ? runtime.isConfigSecret(key) : true;
}

/** Reads and validates the running stack's config: the program's only use of pulumi config. */
export function loadConfig(): { config: PlatformConfig; secrets: StackSecrets } {
    const raw: Record<string, unknown> = {};
    const otherKeys: string[] = [];
    const all = pulumi.runtime.allConfig();
    const sshKeyName = `${PROJECT}:${SSH_KEY_CONFIG}`;
    const passwordName = `${PROJECT}:${IMAGES_PASSWORD_CONFIG}`;
    for (const [key, value] of Object.entries(all)) {
        const [namespace, name] = key.split(":");
        if (namespace !== PROJECT) {
            otherKeys.push(key);
        } else if (name !== SSH_KEY_CONFIG && name !== IMAGES_PASSWORD_CONFIG) {
            raw[name] = decodeConfigValue(value);
        }
    }
    const sshKeyText = all[sshKeyName];
    // Only facts about the key leave this function: never the key itself.
    const sshPrivateKey: SshKeyFacts | undefined =
        sshKeyText === undefined ? undefined : { secret: isSecretKey(sshKeyName), form: sshKeyForm(sshKeyText) };
    // The same for the mirrors' password: whether it is a secret and empty, never its value.
    const passwordText = all[passwordName];
    const imagesPassword = passwordText === undefined ? undefined : { secret: isSecretKey(passwordName), empty: passwordText === "" };
    const config = parseConfig(raw, { stack: pulumi.getStack(), hasSshPrivateKey: sshKeyText !== undefined, sshPrivateKey, otherKeys, imagesPassword });
    const secrets = {
        sshPrivateKey: sshKeyText === undefined ? undefined : pulumi.secret(sshKeyText),
        imagesPassword: passwordText === undefined ? undefined : pulumi.secret(passwordText),
    };
    return { config, secrets };
}
