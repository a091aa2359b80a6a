import * as fs from "fs";
import * as path from "path";

/**
 * How a node script travels: the remote command is a self-contained shell snippet that writes
 * the script (lib.sh, the libraries the script sources, then the script itself, with its
 * parameters exported at the top) to a temporary file and runs it as root. Parameters are plain
 * environment; secrets come on standard input (see `renderSecretStdin`), so the command text holds
 * no secret and shows in `pulumi preview` diffs exactly as it will run. The script's content is
 * part of the command, so a changed script re-runs its command and an unchanged one does not.
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
    | "join-credentials"
    | "kubeadm-upgrade"
    | "etcd-member";

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

/**
 * The libraries besides lib.sh, each sent only with the scripts that source it (see
 * `librariesOf`): every command carries lib.sh, so an edit there re-runs every step on every host,
 * while an edit of one of these re-runs only the steps whose scripts use it.
 */
export type LibraryName = "lib-kube-vip" | "lib-maintenance" | "lib-membership";
const LIBRARIES: readonly LibraryName[] = ["lib-kube-vip", "lib-maintenance", "lib-membership"];

export function readScript(name: ScriptName | LibraryName | "lib"): string {
    return fs.readFileSync(path.join(scriptsDir, `${name}.sh`), "utf8");
}

/**
 * A script declares a library by sourcing it from its own directory, right below lib.sh, with the
 * guard that skips the file once the library is loaded (it is when the program sends the script):
 *   [ -n "${K8SP_LIB_KUBE_VIP_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-kube-vip.sh"
 * Run by hand or by the tests, the script sources the file; sent by the program, the library's
 * text precedes it. The libraries `text` declares, in its order; an unknown one is an error.
 */
export function librariesOf(text: string): LibraryName[] {
    const found: LibraryName[] = [];
    const line = /^\[ -n "\$\{K8SP_LIB_([A-Z_]+)_LOADED:-\}" \] \|\| \. "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)\/(lib-[a-z-]+)\.sh"$/gm;
    for (const [, flag, file] of text.matchAll(line)) {
        const library = LIBRARIES.find((l) => l === file);
        if (library === undefined) {
            throw new Error(`a script sources ${file}.sh, which is not a library (libraries: ${LIBRARIES.join(", ")})`);
        }
        if (flag !== library.replace(/^lib-/, "").replace(/-/g, "_").toUpperCase()) {
            throw new Error(`${file}.sh is guarded by K8SP_LIB_${flag}_LOADED, not the flag it sets`);
        }
        if (!found.includes(library)) {
            found.push(library);
        }
    }
    return found;
}

/** Single-quotes a value for the shell. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

function withoutShebang(text: string): string {
    return text.replace(/^#!.*\n/, "");
}

/** Where the shell's lexer is at the end of a line, as far as `stripScriptComments` needs. */
interface LexState {
    /** Inside '…', $'…' or "…" (`$'` is "a"): the next line continues the string. */
    quote?: "'" | '"' | "a";
    /** Here-documents opened on this line, their bodies start on the next: delimiter, `<<-`. */
    heredocs: { word: string; tabs: boolean }[];
    /** The line ended with a backslash (outside quotes): the next line continues the command. */
    continued: boolean;
}

const HEREDOC_OP = /^<<(-?)[ \t]*(?:'([^']*)'|"([^"]*)"|\\?([A-Za-z0-9_.-]+))/;

/** Scans one line of shell from `state`, returning the state at its end. */
function scanLine(line: string, state: LexState): LexState {
    let quote = state.quote;
    const heredocs: LexState["heredocs"] = [];
    let i = 0;
    while (i < line.length) {
        const c = line[i];
        if (quote === "'") {
            quote = c === "'" ? undefined : quote;
            i += 1;
        } else if (quote === "a" || quote === '"') {
            if (c === "\\") {
                i += 2;
                continue;
            }
            if ((quote === "a" && c === "'") || (quote === '"' && c === '"')) {
                quote = undefined;
            }
            i += 1;
        } else if (c === "\\") {
            if (i === line.length - 1) {
                return { heredocs, continued: true };
            }
            i += 2;
        } else if (c === "'" || c === '"') {
            quote = c;
            i += 1;
        } else if (c === "$" && line[i + 1] === "'") {
            quote = "a";
            i += 2;
        } else if (c === "#" && (i === 0 || /[\s;&|()]/.test(line[i - 1]))) {
            break; // a comment: nothing after it counts
        } else if (c === "<" && line.startsWith("<<<", i)) {
            i += 3;
        } else if (c === "<" && line.startsWith("<<", i)) {
            const op = HEREDOC_OP.exec(line.slice(i));
            if (!op) {
                throw new Error(`cannot read the here-document at: ${line}`);
            }
            heredocs.push({ word: op[2] ?? op[3] ?? op[4], tabs: op[1] === "-" });
            i += op[0].length;
        } else {
            i += 1;
        }
    }
    return { quote, heredocs, continued: false };
}

/**
 * A script without its full-line comments and blank lines, so that what is sent to a host (and
 * kept in state as the command's input) changes only when the code does: a comment-only edit of
 * a script re-runs nothing. Conservative on purpose: a line is dropped only where the shell would
 * read it as a comment or blank line between commands, i.e. not inside a quoted string that spans
 * lines, a here-document body, or after a line ending in a backslash. Comments after code on the
 * same line stay. Kept: the shebang (first line) and `# shellcheck` directives. Pure; bash reads
 * the result as the same program (test/render.test.ts compares `declare -f` of both for every
 * script under scripts/).
 */
export function stripScriptComments(text: string): string {
    const out: string[] = [];
    let state: LexState = { heredocs: [], continued: false };
    let pending: LexState["heredocs"] = [];
    text.split("\n").forEach((line, index) => {
        if (pending.length > 0) {
            out.push(line);
            const body = pending[0];
            if ((body.tabs ? line.replace(/^\t+/, "") : line) === body.word) {
                pending = pending.slice(1);
            }
            return;
        }
        const atCommandStart = state.quote === undefined && !state.continued;
        const trimmed = line.trim();
        const comment = trimmed.startsWith("#") && !(index === 0 && trimmed.startsWith("#!")) && !/^#\s*shellcheck\s/.test(trimmed);
        if (atCommandStart && (trimmed === "" || comment)) {
            return;
        }
        out.push(line);
        state = scanLine(line, state);
        pending = state.heredocs;
    });
    if (pending.length > 0 || state.quote !== undefined) {
        throw new Error(`unterminated ${pending.length > 0 ? `here-document ${pending[0].word}` : "quoted string"} in a script`);
    }
    return out.join("\n") + (text.endsWith("\n") ? "\n" : "");
}

/** The script file a node runs: shebang, exported parameters, lib.sh, the script's libraries, the script. */
export function renderScriptFile(name: ScriptName, env: Record<string, string>): string {
    const exports = Object.keys(env)
        .sort()
        .map((key) => {
            if (!ENV_NAME.test(key)) {
                throw new Error(`script parameter name ${JSON.stringify(key)} is not an upper-case shell variable name`);
            }
            return `export ${key}=${shellQuote(env[key])}`;
        });
    const script = readScript(name);
    const body = [
        "#!/usr/bin/env bash",
        `# k8s-platform: ${name}.sh`,
        ...exports,
        // Comments and blank lines are not sent: a comment-only edit changes no command.
        ...(["lib", ...librariesOf(script)] as const).map((library) => stripScriptComments(withoutShebang(readScript(library))).trimEnd()),
        stripScriptComments(withoutShebang(script)),
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
