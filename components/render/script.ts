import * as fs from "fs";
import * as path from "path";

/**
 * How a node script travels: the remote command is a self-contained shell snippet that writes
 * the script (lib.sh, then the script itself, with its parameters exported at the top) to a
 * temporary file and runs it as root. Parameters are plain environment; secrets come on
 * standard input (see `renderSecretStdin`), so the command text holds no secret and shows in
 * `pulumi preview` diffs exactly as it will run. The script's content is part of the command,
 * so a changed script re-runs its command and an unchanged one does not.
 */

export const SCRIPTS_DIR = path.resolve(__dirname, "..", "..", "scripts");

export type ScriptName =
    | "prepare-node"
    | "kubeadm-init"
    | "kubeadm-join"
    | "kubeadm-reset"
    | "cluster-admin"
    | "hosts-block"
    | "nfs-server"
    | "haproxy"
    | "registry-trust"
    | "control-plane-maintenance"
    | "etcd-backup"
    | "cert-renewal"
    | "etcd-restore"
    | "apiserver-certs"
    | "join-credentials";

const HEREDOC = "K8S_PLATFORM_SCRIPT_EOF";
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

let scriptsDir = SCRIPTS_DIR;

/**
 * Reads node scripts from `dir` instead of scripts/ until the returned function is called. For
 * tests that compare the program's output before and after a script edit (test/synthDiff.test.ts)
 * without touching the checkout.
 */
export function useScriptsDir(dir: string): () => void {
    const previous = scriptsDir;
    scriptsDir = dir;
    return () => {
        scriptsDir = previous;
    };
}

export function readScript(name: ScriptName | "lib"): string {
    return fs.readFileSync(path.join(scriptsDir, `${name}.sh`), "utf8");
}

/** Single-quotes a value for the shell. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

function withoutShebang(text: string): string {
    return text.replace(/^#!.*\n/, "");
}

/** The script file a node runs: shebang, exported parameters, lib.sh, the script. */
export function renderScriptFile(name: ScriptName, env: Record<string, string>): string {
    const exports = Object.keys(env)
        .sort()
        .map((key) => {
            if (!ENV_NAME.test(key)) {
                throw new Error(`script parameter name ${JSON.stringify(key)} is not an upper-case shell variable name`);
            }
            return `export ${key}=${shellQuote(env[key])}`;
        });
    const body = [
        "#!/usr/bin/env bash",
        `# k8s-platform: ${name}.sh`,
        ...exports,
        withoutShebang(readScript("lib")),
        withoutShebang(readScript(name)),
    ].join("\n");
    if (body.split("\n").includes(HEREDOC)) {
        throw new Error(`${name}.sh contains the line ${HEREDOC}, which would end the here-document early`);
    }
    return body;
}

/** The remote command that runs `name` with `env` as root (directly, or through `sudo -n`). */
export function renderInvocation(name: ScriptName, env: Record<string, string>): string {
    return [
        "set -eu",
        "k8sp_script=$(mktemp)",
        "trap 'rm -f \"$k8sp_script\"' EXIT",
        `cat >"$k8sp_script" <<'${HEREDOC}'`,
        renderScriptFile(name, env),
        HEREDOC,
        'if [ "$(id -u)" -eq 0 ]; then bash "$k8sp_script"; else sudo -n bash "$k8sp_script"; fi',
        "",
    ].join("\n");
}

/** Standard input carrying secrets: one "NAME=<base64>" line each, read by lib.sh's read_secrets. */
export function renderSecretStdin(secrets: Record<string, string | undefined>): string {
    return Object.keys(secrets)
        .sort()
        .filter((key) => secrets[key] !== undefined)
        .map((key) => {
            if (!ENV_NAME.test(key)) {
                throw new Error(`secret name ${JSON.stringify(key)} is not an upper-case shell variable name`);
            }
            return `${key}=${Buffer.from(secrets[key]!, "utf8").toString("base64")}\n`;
        })
        .join("");
}
