/**
 * Every kubeadm config the program renders (init and join, every stack) goes through the real
 * parser: `kubeadm config validate --config`, built from k8s.io/kubernetes at the release the stacks
 * default to. Its v1beta4 decoding is strict (unknown and duplicate fields are errors), so this is
 * the schema check that a hand-written one could only imitate.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { listStacks, Synthesis, unwrapSecrets } from "../../tools/mockRuntime";
import { KUBERNETES_VERSION } from "../../config";
import { commands, scriptOf, synthStack } from "../helpers";
import { onPath, run, skipUnless } from "./tools";

const skip = skipUnless("kubeadm");

/** The value of `export KUBEADM_CONFIG='…'` in a rendered script (shellQuote's quoting undone). */
export function kubeadmConfigOf(script: string): string | undefined {
    const match = /^export KUBEADM_CONFIG='((?:[^']|'\\'')*)'$/m.exec(script);
    return match?.[1].replace(/'\\''/g, "'");
}

/**
 * Fills the placeholders as scripts/kubeadm-init.sh and kubeadm-join.sh do on the node: the
 * version from `kubeadm version -o short`, a token and key of the formats kubeadm generates
 * ([a-z0-9]{6}.[a-z0-9]{16}; 32 bytes in hex).
 */
function filled(config: string, kubeadmVersion: string): string {
    return config
        .replaceAll("@BOOTSTRAP_TOKEN@", "abcdef.0123456789abcdef")
        .replaceAll("@CERTIFICATE_KEY@", "0".repeat(63) + "1")
        .replaceAll("@KUBERNETES_VERSION@", kubeadmVersion);
}

function validate(config: string): { status: number | null; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-validate-"));
    try {
        const file = path.join(dir, "kubeadm.yaml");
        fs.writeFileSync(file, config);
        return run("kubeadm", ["config", "validate", "--config", file]);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("kubeadm config validate (real kubeadm)", { skip }, () => {
    const version = () => run("kubeadm", ["version", "-o", "short"]).output.trim();

    it(`is the kubeadm of the stacks' default minor ${KUBERNETES_VERSION}`, () => {
        assert.match(version(), new RegExp(`^v${KUBERNETES_VERSION.replace(".", "\\.")}\\.\\d+$`), `kubeadm at ${onPath("kubeadm")}`);
    });

    it("rejects what it should (the check can fail): an unknown field in v1beta4", () => {
        const bad = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.35.0\nnetworkng: {}\n";
        const result = validate(bad);
        assert.notEqual(result.status, 0, result.output);
        assert.match(result.output, /networkng/);
    });

    // Every committed stack, plus control planes that join (no committed stack has one yet).
    const cases: [string, () => Promise<Synthesis>][] = [
        ...listStacks().map((stack): [string, () => Promise<Synthesis>] => [stack, () => synthStack(stack)]),
        [
            "lab with three control planes",
            () =>
                synthStack("lab", (raw) => {
                    (raw.nodes as unknown[]).push(
                        { name: "m2-k8s", ip: "192.168.1.20", role: "control-plane" },
                        { name: "m3-k8s", ip: "192.168.1.30", role: "control-plane" },
                    );
                    raw.kubernetes = { controlPlaneEndpoint: "192.168.1.9" };
                }),
        ],
    ];
    for (const [stack, synth] of cases) {
        it(`${stack}: every init and join config the program renders is valid`, async () => {
            const synthesis = await synth();
            const rendered = commands(synthesis)
                .filter((r) => ["kubeadm-init", "kubeadm-join"].includes(scriptOf(r) ?? ""))
                .map((r) => ({ name: r.name, config: kubeadmConfigOf(String(unwrapSecrets(r.inputs.create))) }));
            if (rendered.length === 0) {
                // A managed cluster (AKS) runs no kubeadm: nothing to validate, and say so.
                assert.equal(commands(synthesis).length, 0, `${stack} runs remote commands but renders no kubeadm config`);
                return;
            }
            const failures: string[] = [];
            for (const { name, config } of rendered) {
                assert.ok(config, `${name}: no KUBEADM_CONFIG in its script`);
                const result = validate(filled(config, version()));
                if (result.status !== 0) {
                    failures.push(`${name}:\n${result.output}`);
                }
            }
            assert.deepEqual(failures, [], failures.join("\n"));
            assert.ok(rendered.some((r) => /kind: InitConfiguration/.test(r.config ?? "")), `${stack}: no init config`);
            assert.ok(rendered.some((r) => /kind: JoinConfiguration/.test(r.config ?? "")), `${stack}: no join config`);
            if (stack.includes("control planes")) {
                assert.ok(rendered.some((r) => /^controlPlane:/m.test(r.config ?? "")), `${stack}: no control-plane join config`);
            }
        });
    }
});
