import { closest, configKey as k, Problems } from "../errors";
import { OTHER_NAMESPACES, PROJECT, SSH_KEY_CONFIG } from "../schema";

/**
 * Checks of the stack's config as a whole, before its values: keys in namespaces nothing reads,
 * and the SSH key's form. They see what `pulumi.runtime.allConfig()` holds (every key of the
 * stack, `namespace:key`, after the CLI merged Pulumi.yaml's defaults).
 */

/** Keys whose namespace is neither the project's nor one the program's providers read. */
export function checkNamespaces(keys: readonly string[], problems: Problems): void {
    const known = [PROJECT, ...OTHER_NAMESPACES];
    for (const key of keys) {
        const namespace = key.includes(":") ? key.slice(0, key.indexOf(":")) : "";
        if ((known as string[]).includes(namespace)) continue;
        // "azure" is far from "azure-native" by edit distance, but a prefix of it.
        const guess = closest(namespace, known) ?? (namespace.length >= 3 ? known.find((n) => n.startsWith(namespace)) : undefined);
        const rest = key.slice(namespace.length);
        problems.push(
            `${key}: unknown config namespace ${JSON.stringify(namespace)}, so nothing reads this key` +
                `${guess ? ` (did you mean "${guess}${rest}"?)` : ""}; namespaces this program reads: ${known.join(", ")}`,
        );
    }
}

/** What the program may know about the SSH key without keeping it: whether it is a secret, and its form. */
export interface SshKeyFacts {
    readonly secret: boolean;
    readonly form: "private-key" | "public-key" | "path" | "other";
}

/** The form of an SSH key value: only this leaves load.ts, never the value. */
export function sshKeyForm(value: string): SshKeyFacts["form"] {
    const text = value.trim();
    if (/^-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----[\s\S]+-----END ([A-Z0-9]+ )*PRIVATE KEY-----$/.test(text)) return "private-key";
    if (/^(ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]+ AAAA/.test(text)) return "public-key";
    if (/^(~|\.{0,2}\/)[^\n]*$/.test(text)) return "path";
    return "other";
}

export function checkSshKey(facts: SshKeyFacts, problems: Problems): void {
    const set = `set it with \`pulumi config set --secret ${SSH_KEY_CONFIG} < ~/.ssh/id_ed25519\``;
    if (!facts.secret) {
        problems.push(
            `${k(SSH_KEY_CONFIG)}: is stored in plain text in Pulumi.<stack>.yaml; it must be a secret (encrypted in the file, masked in ` +
                `every output): ${set}, which replaces the plain value (and rotate the key if the file was shared)`,
        );
    }
    const what = {
        "private-key": "",
        "public-key": "is an SSH public key; the program needs the private key (the file without .pub)",
        path: "is a file path, not the key; pass the file's content on standard input",
        other: 'does not look like a private key (expected a PEM or OpenSSH block, "-----BEGIN OPENSSH PRIVATE KEY-----" …)',
    }[facts.form];
    if (what) {
        problems.push(`${k(SSH_KEY_CONFIG)}: ${what}: ${set}`);
    }
}
