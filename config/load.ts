import * as pulumi from "@pulumi/pulumi";
import { SshKeyFacts, sshKeyForm } from "./checks/stack";
import { parseConfig } from "./parse";
import { hostPasswordsFacts } from "./checks/images";
import { IMAGES_HOST_PASSWORDS_CONFIG, IMAGES_PASSWORD_CONFIG, PROJECT, SSH_KEY_CONFIG } from "./schema";
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
    const hostPasswordsName = `${PROJECT}:${IMAGES_HOST_PASSWORDS_CONFIG}`;
    for (const [key, value] of Object.entries(all)) {
        const [namespace, name] = key.split(":");
        if (namespace !== PROJECT) {
            otherKeys.push(key);
        } else if (name !== SSH_KEY_CONFIG && name !== IMAGES_PASSWORD_CONFIG && name !== IMAGES_HOST_PASSWORDS_CONFIG) {
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
    // And for the per-host passwords: which hosts have one, whether each is usable; no value.
    const hostPasswordsText = all[hostPasswordsName];
    const imagesHostPasswords = hostPasswordsText === undefined ? undefined : hostPasswordsFacts(hostPasswordsText, isSecretKey(hostPasswordsName));
    const config = parseConfig(raw, {
        stack: pulumi.getStack(),
        hasSshPrivateKey: sshKeyText !== undefined,
        sshPrivateKey,
        otherKeys,
        imagesPassword,
        imagesHostPasswords,
    });
    const secrets = {
        sshPrivateKey: sshKeyText === undefined ? undefined : pulumi.secret(sshKeyText),
        imagesPassword: passwordText === undefined ? undefined : pulumi.secret(passwordText),
        // Validated above: a map of host → password.
        imagesHostPasswords: hostPasswordsText === undefined ? undefined : pulumi.secret(JSON.parse(hostPasswordsText) as Record<string, string>),
    };
    return { config, secrets };
}
