import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { librariesOf, renderInvocation, renderScriptFile, SCRIPTS_DIR, stripScriptComments, useScriptsDir } from "../components/render/script";

/**
 * bash's own reading of a script: the script as the body of a function, printed back by
 * `declare -f`, which drops comments and normalises layout but keeps every command, quoted
 * string and here-document. Equal for two texts means bash runs the same program.
 */
function bashReading(script: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-strip-"));
    const file = path.join(dir, "s.sh");
    fs.writeFileSync(file, `k8sp_body() {\n${script.replace(/^#!.*\n/, "")}\n}\ndeclare -f k8sp_body\n`);
    try {
        return execFileSync("bash", ["--norc", "--noprofile", file], { encoding: "utf8" });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const SCRIPTS = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh")).sort();
/** lib.sh and the libraries lib-*.sh are sent with scripts, never on their own. */
const LIBRARY_FILES = SCRIPTS.filter((f) => /^lib(-[a-z-]+)?\.sh$/.test(f));
const SCRIPT_NAMES = SCRIPTS.filter((f) => !LIBRARY_FILES.includes(f)).map((f) => f.replace(/\.sh$/, "")) as Parameters<typeof renderScriptFile>[0][];

describe("script comments are not sent", () => {
    for (const file of SCRIPTS) {
        it(`${file}: bash reads the stripped text as the same program, with no comment line left`, () => {
            const text = fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");
            const stripped = stripScriptComments(text);
            assert.equal(bashReading(stripped), bashReading(text));
            assert.ok(stripped.length < text.length, "it had comments to strip");
            // A '#' line left must be data (a here-document body line, which bash keeps), not a
            // comment the stripper missed (which `declare -f` drops).
            const reading = bashReading(text);
            const left = stripped.split("\n").slice(1).filter((l) => /^\s*#/.test(l) && !/^\s*#\s*shellcheck\s/.test(l));
            assert.deepEqual(left.filter((l) => !reading.includes(`${l}\n`)), []);
            assert.ok(stripped.startsWith("#!/usr/bin/env bash\n"), "the shebang stays");
        });
    }

    it("keeps here-documents, multi-line strings, continuations and '#' inside words verbatim", () => {
        const script = [
            "#!/usr/bin/env bash",
            "# a comment",
            "",
            "cat <<EOF",
            "# not a comment: here-document body",
            "",
            "EOF",
            "cat <<-'END' | sed 's/#//'",
            "\t# also a body",
            "\tEND",
            "echo 'a string",
            "# inside it",
            "' \"and \\\"another",
            "  # inside too\"",
            "echo $'ansi \\' quote",
            "# inside the ansi string'",
            "echo one \\",
            "# continued line (an argument)",
            "n=${#x} # don't: a quote in a trailing comment",
            "echo \"${x#pre}\" #'",
            "  # indented comment",
            "grep -q x <<<\"$y\"",
            "# shellcheck disable=SC2034",
            "z=1",
        ].join("\n") + "\n";
        const stripped = stripScriptComments(script);
        assert.equal(
            stripped,
            [
                "#!/usr/bin/env bash",
                "cat <<EOF",
                "# not a comment: here-document body",
                "",
                "EOF",
                "cat <<-'END' | sed 's/#//'",
                "\t# also a body",
                "\tEND",
                "echo 'a string",
                "# inside it",
                "' \"and \\\"another",
                "  # inside too\"",
                "echo $'ansi \\' quote",
                "# inside the ansi string'",
                "echo one \\",
                "# continued line (an argument)",
                "n=${#x} # don't: a quote in a trailing comment",
                "echo \"${x#pre}\" #'",
                "grep -q x <<<\"$y\"",
                "# shellcheck disable=SC2034",
                "z=1",
            ].join("\n") + "\n",
        );
        assert.equal(bashReading(stripped), bashReading(script));
    });

    it("refuses what it cannot read rather than guess", () => {
        assert.throws(() => stripScriptComments("cat <<EOF\nbody\n"), /unterminated here-document EOF/);
        assert.throws(() => stripScriptComments("echo 'open\n"), /unterminated quoted string/);
    });

    it("a comment-only edit of a script leaves the command sent to the host unchanged; a code edit changes it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-scripts-"));
        for (const file of SCRIPTS) {
            fs.copyFileSync(path.join(SCRIPTS_DIR, file), path.join(dir, file));
        }
        const env = { BLOCK_NAME: "lab", HOSTS_LINES: "10.0.0.9\tn9" };
        const before = renderInvocation("hosts-block", env);
        const restore = useScriptsDir(dir);
        try {
            const file = path.join(dir, "hosts-block.sh");
            const original = fs.readFileSync(file, "utf8");
            fs.writeFileSync(file, original.replace(/\n/, "\n# a new comment\n\n   # and an indented one\n"));
            fs.appendFileSync(path.join(dir, "lib.sh"), "\n# a comment at the end of lib.sh\n");
            assert.equal(renderInvocation("hosts-block", env), before);
            fs.writeFileSync(file, original.replace(/\n/, "\ntrue\n"));
            assert.notEqual(renderInvocation("hosts-block", env), before);
        } finally {
            restore();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("every rendered script file passes bash -n and shellcheck", () => {
        const names = SCRIPT_NAMES;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-rendered-"));
        try {
            for (const name of names) {
                const file = path.join(dir, `${name}.sh`);
                fs.writeFileSync(file, renderScriptFile(name, { EXAMPLE_PARAMETER: "x" }));
                const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
                assert.equal(syntax.status, 0, `${name}: ${syntax.stderr}`);
            }
            const files = names.map((n) => path.join(dir, `${n}.sh`));
            // SC2034: EXAMPLE_PARAMETER is unused; every real parameter is used by its script.
            // SC1091: the scripts' fallback `. lib.sh` (for running by hand) is never taken here, lib.sh is inlined.
            const check = spawnSync("shellcheck", ["-s", "bash", "-e", "SC2034,SC1091", ...files], { encoding: "utf8" });
            assert.equal(check.status, 0, check.stdout + check.stderr);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** The shell functions a script file defines: name and body (one-line or up to its closing `}`), comments left out. */
function functionsOf(text: string): { name: string; body: string }[] {
    const lines = stripScriptComments(text).split("\n");
    const found: { name: string; body: string }[] = [];
    lines.forEach((line, i) => {
        const head = /^([a-z_][a-z0-9_]*)\(\) \{(.*)$/.exec(line);
        if (!head) {
            return;
        }
        const end = /\}\s*$/.test(head[2]) ? i : lines.indexOf("}", i);
        assert.ok(end >= i, `the function ${head[1]} ends`);
        found.push({ name: head[1], body: lines.slice(i, end + 1).join("\n") });
    });
    return found;
}

describe("script libraries (lib-*.sh): each sent only with the scripts that source it", () => {
    const rendered = (name: (typeof SCRIPT_NAMES)[number]) => renderScriptFile(name, { EXAMPLE_PARAMETER: "x" });
    const definedIn = (fn: string) => SCRIPT_NAMES.filter((n) => (rendered(n).match(new RegExp(`^${fn}\\(\\) \\{`, "gm"))?.length ?? 0) > 0);

    it("no function is written out twice under scripts/: a shared one lives in one library", () => {
        const seen = new Map<string, string>();
        const twice: string[] = [];
        for (const file of SCRIPTS) {
            for (const { name, body } of functionsOf(fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8"))) {
                const other = seen.get(body);
                if (other !== undefined && other !== file) {
                    twice.push(`${name}: ${other} and ${file}`);
                }
                seen.set(body, file);
            }
        }
        assert.deepEqual(twice, []);
    });

    it("the scripts that source a library get its text, once; the others do not", () => {
        assert.deepEqual(definedIn("place_kube_vip"), ["kubeadm-init", "kubeadm-join"]);
        // The maintenance lock also goes with the steps that move or read the static pod manifests.
        const maintenance = ["apiserver-certs", "cert-renewal", "etcd-backup", "etcd-member", "etcd-restore", "kubeadm-init", "kubeadm-join", "kubeadm-upgrade"];
        assert.deepEqual(definedIn("maintenance_lock"), maintenance);
        assert.deepEqual(definedIn("etcd_tools"), maintenance);
        for (const name of SCRIPT_NAMES) {
            for (const fn of ["place_kube_vip", "maintenance_lock", "read_secrets"]) {
                assert.ok((rendered(name).match(new RegExp(`^${fn}\\(\\) \\{`, "gm"))?.length ?? 0) <= 1, `${name}: ${fn} once`);
            }
        }
        // Order: lib.sh, the library, then the script (which calls the library's functions).
        const init = rendered("kubeadm-init");
        assert.ok(init.indexOf("K8SP_LIB_LOADED=1") < init.indexOf("place_kube_vip() {"));
        assert.ok(init.indexOf("place_kube_vip() {") < init.indexOf("require_env NODE_NAME KUBEADM_CONFIG"));
    });

    it("each library sets the flag its scripts' guard tests, so a sent script never sources a file", () => {
        for (const file of LIBRARY_FILES) {
            const flag = file === "lib.sh" ? "K8SP_LIB_LOADED" : `K8SP_LIB_${file.replace(/^lib-|\.sh$/g, "").replace(/-/g, "_").toUpperCase()}_LOADED`;
            assert.match(fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8"), new RegExp(`^${flag}=1$`, "m"), file);
        }
        for (const name of SCRIPT_NAMES) {
            const text = rendered(name);
            for (const line of text.split("\n").filter((l) => /(^|[;&|]\s*)(\.|source)\s+"?\$\(dirname/.test(l))) {
                const guard = /^\[ -n "\$\{(K8SP_LIB_[A-Z_]*LOADED):-\}" \] \|\| \./.exec(line);
                assert.ok(guard, `${name}: an unguarded source line: ${line}`);
                assert.ok(new RegExp(`^${guard[1]}=1$`, "m").test(text.slice(0, text.indexOf(line))), `${name}: ${guard[1]} is set before ${line}`);
            }
        }
    });

    it("reads a script's libraries from its guarded source lines, and refuses one it does not know", () => {
        const line = (flag: string, file: string) => `[ -n "\${K8SP_LIB_${flag}_LOADED:-}" ] || . "$(dirname "\${BASH_SOURCE[0]}")/${file}.sh"`;
        assert.deepEqual(librariesOf([line("MAINTENANCE", "lib-maintenance"), line("KUBE_VIP", "lib-kube-vip"), line("MAINTENANCE", "lib-maintenance")].join("\n")), [
            "lib-maintenance",
            "lib-kube-vip",
        ]);
        assert.deepEqual(librariesOf(line("", "lib").replace("K8SP_LIB__LOADED", "K8SP_LIB_LOADED")), [], "lib.sh is not a library of its own");
        assert.throws(() => librariesOf(line("NOPE", "lib-nope")), /sources lib-nope\.sh, which is not a library \(libraries: lib-kube-vip, lib-maintenance, lib-membership\)/);
        assert.throws(() => librariesOf(line("KUBE_VIP", "lib-maintenance")), /lib-maintenance\.sh is guarded by K8SP_LIB_KUBE_VIP_LOADED/);
    });
});
