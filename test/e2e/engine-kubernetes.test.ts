/**
 * The kubernetes provider plugin build-tools.sh builds (pulumi-kubernetes v4.25.0's provider
 * module, installed as the 4.34.2 the SDK asks for) loads under the real engine: an explicit
 * provider is configured, previewed and created without any cluster (a kubeconfig naming a closed
 * port on 127.0.0.1), and the engine warns about the version, as test/e2e/README.md says.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { EngineStack, engineSkipReason } from "./engine";

const skip = engineSkipReason(["kubernetes"]);

// Nothing listens on port 9 of 127.0.0.1 (discard): the provider finds the cluster unreachable.
const KUBECONFIG = JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "none", cluster: { server: "https://127.0.0.1:9" } }],
    users: [{ name: "none", user: { token: "not-a-token" } }],
    contexts: [{ name: "none", context: { cluster: "none", user: "none" } }],
    "current-context": "none",
});

describe("kubernetes provider plugin under the real engine", { skip }, () => {
    let stack: EngineStack;
    before(async () => {
        stack = await EngineStack.create("kubernetes", async () => {
            const provider = new k8s.Provider("k8s", { kubeconfig: KUBECONFIG });
            return { provider: provider.urn };
        });
    });
    after(async () => {
        if (stack) {
            await stack.destroy();
            stack.remove();
        }
    });

    it("loads, configures and is stable across runs; the engine names the version gap", async () => {
        let output = "";
        const up = await stack.stack.up({ color: "never", onOutput: (o) => (output += o) });
        assert.equal(up.summary.result, "succeeded");
        assert.match(output, /resource plugin kubernetes is expected to have version >=4\.34\.2, but has 4\.25\.0/);
        await stack.expectNoChanges();
    });
});
