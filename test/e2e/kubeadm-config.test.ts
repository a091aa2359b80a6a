/**
 * Every kubeadm config the program renders (init, join, the API server certificate's, every
 * stack) goes through the real parser of the kubeadm of its own minor: `kubeadm config validate
 * --config`, with kubeadm built from k8s.io/kubernetes at that minor's release (tools/k8s: v1.35.4,
 * tools/k8s-1.36: v1.36.3, tools/k8s-1.37: v1.37.2). Its v1beta4 decoding is strict (unknown and
 * duplicate fields are errors), so this is the schema check that a hand-written one could only
 * imitate. `kubeadm config images list --config` on the rendered init config must print the images
 * config/versions.ts KUBEADM_IMAGES lists for that minor.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { listStacks, Synthesis, unwrapSecrets } from "../../tools/mockRuntime";
import { kubeadmImages } from "../../tools/images";
import { SUPPORTED_KUBERNETES_MINORS } from "../../config";
import { commands, scriptOf, synthStack } from "../helpers";
import { KUBEADM_TOOLS, onPath, run, skipUnless } from "./tools";

/** The value of `export KUBEADM_CONFIG='…'` in a rendered script (shellQuote's quoting undone). */
export function kubeadmConfigOf(script: string): string | undefined {
    const match = /^export KUBEADM_CONFIG='((?:[^']|'\\'')*)'$/m.exec(script);
    return match?.[1].replace(/'\\''/g, "'");
}

/**
 * Fills the placeholders as scripts/kubeadm-init.sh, kubeadm-join.sh and apiserver-certs.sh do on
 * the node: the version from `kubeadm version -o short`, a token and key of the formats kubeadm
 * generates ([a-z0-9]{6}.[a-z0-9]{16}; 32 bytes in hex).
 */
function filled(config: string, kubeadmVersion: string): string {
    return config
        .replaceAll("@BOOTSTRAP_TOKEN@", "abcdef.0123456789abcdef")
        .replaceAll("@CERTIFICATE_KEY@", "0".repeat(63) + "1")
        .replaceAll("@KUBERNETES_VERSION@", kubeadmVersion);
}

/** `kubeadm <args…> --config <file>` on a config written to a scratch file. */
function withConfig(kubeadm: string, args: string[], config: string): { status: number | null; stdout: string; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-config-"));
    try {
        const file = path.join(dir, "kubeadm.yaml");
        fs.writeFileSync(file, config);
        return run(kubeadm, [...args, "--config", file]);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The scripts that carry a kubeadm config. */
const KUBEADM_SCRIPTS = ["kubeadm-init", "kubeadm-join", "apiserver-certs"];

/** The stacks to validate at `minor`: every committed one, plus control planes that join (no
 * committed stack has one yet), each with kubernetes.version set to the minor. */
function cases(minor: string): [string, () => Promise<Synthesis>][] {
    const at = (raw: Record<string, unknown>) => {
        raw.kubernetes = { ...(raw.kubernetes as object | undefined), version: minor };
    };
    return [
        ...listStacks().map((stack): [string, () => Promise<Synthesis>] => [stack, () => synthStack(stack, (raw) => at(raw))]),
        [
            "lab with three control planes",
            () =>
                synthStack("lab", (raw) => {
                    (raw.nodes as unknown[]).push(
                        { name: "m2-k8s", ip: "192.168.1.20", role: "control-plane" },
                        { name: "m3-k8s", ip: "192.168.1.30", role: "control-plane" },
                    );
                    raw.kubernetes = { controlPlaneEndpoint: "192.168.1.9" };
                    at(raw);
                }),
        ],
    ];
}

it("every supported minor has a kubeadm built for it (test/e2e/tools.ts KUBEADM_TOOLS, build-tools.sh)", () => {
    assert.deepEqual(Object.keys(KUBEADM_TOOLS).sort(), [...SUPPORTED_KUBERNETES_MINORS].sort());
    const built = fs.readFileSync(path.join(__dirname, "build-tools.sh"), "utf8");
    for (const tool of Object.values(KUBEADM_TOOLS)) {
        assert.match(built, new RegExp(`^${tool.replace(".", "\\.")}\\|`, "m"), `no row for ${tool} in build-tools.sh`);
    }
});

for (const minor of SUPPORTED_KUBERNETES_MINORS) {
    const kubeadm = KUBEADM_TOOLS[minor];
    describe(`kubeadm ${minor} (${kubeadm}): the configs rendered for Kubernetes ${minor}`, { skip: skipUnless(kubeadm) }, () => {
        let cachedVersion: string | undefined;
        const version = () => (cachedVersion ??= run(kubeadm, ["version", "-o", "short"]).output.trim());

        it(`is a kubeadm ${minor}`, () => {
            assert.match(version(), new RegExp(`^v${minor.replace(".", "\\.")}\\.\\d+$`), `${kubeadm} at ${onPath(kubeadm)}`);
        });

        it("rejects what it should (the check can fail): an unknown field in v1beta4", () => {
            const bad = `apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: ${version()}\nnetworkng: {}\n`;
            const result = withConfig(kubeadm, ["config", "validate"], bad);
            assert.notEqual(result.status, 0, result.output);
            assert.match(result.output, /networkng/);
        });

        for (const [stack, synth] of cases(minor)) {
            it(`${stack}: every init, join and API-server-certificate config is valid; its images are KUBEADM_IMAGES["${minor}"]`, async () => {
                const synthesis = await synth();
                const rendered = commands(synthesis)
                    .filter((r) => KUBEADM_SCRIPTS.includes(scriptOf(r) ?? ""))
                    .map((r) => ({ name: r.name, script: scriptOf(r), config: kubeadmConfigOf(String(unwrapSecrets(r.inputs.create))) }));
                if (rendered.length === 0) {
                    // A managed cluster (AKS) runs no kubeadm: nothing to validate, and say so.
                    assert.equal(commands(synthesis).length, 0, `${stack} runs remote commands but renders no kubeadm config`);
                    return;
                }
                const failures: string[] = [];
                for (const { name, config } of rendered) {
                    assert.ok(config, `${name}: no KUBEADM_CONFIG in its script`);
                    const result = withConfig(kubeadm, ["config", "validate"], filled(config, version()));
                    if (result.status !== 0) {
                        failures.push(`${name}:\n${result.output}`);
                    }
                }
                assert.deepEqual(failures, [], failures.join("\n"));
                const init = rendered.find((r) => /kind: InitConfiguration/.test(r.config ?? "") && r.script === "kubeadm-init");
                assert.ok(init?.config, `${stack}: no init config`);
                assert.ok(rendered.some((r) => /kind: JoinConfiguration/.test(r.config ?? "")), `${stack}: no join config`);
                assert.ok(rendered.some((r) => r.script === "apiserver-certs"), `${stack}: no API server certificate config`);
                if (stack.includes("control planes")) {
                    assert.ok(rendered.some((r) => /^controlPlane:/m.test(r.config ?? "")), `${stack}: no control-plane join config`);
                }
                // The images this init config makes kubeadm pull: the version kubeadm fills in, and
                // KUBEADM_IMAGES' CoreDNS, pause and etcd of this minor.
                const images = withConfig(kubeadm, ["config", "images", "list"], filled(init.config, version()));
                assert.equal(images.status, 0, images.output);
                assert.deepEqual(
                    images.stdout.trim().split("\n"),
                    kubeadmImages(version().replace(/^v/, "")).map((l) => l.image),
                );
            });
        }
    });
}
