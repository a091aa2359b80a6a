// Reaching the hosts: a host that does not answer fails the up within about 1.5 minutes when the
// program did not create it (it is up already), while a VM the program creates, which may still
// be booting, gets ssh.dialErrorLimit (components/nodeHost.ts, README "Reaching the hosts").
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EXISTING_HOST_REACH_DIALS } from "../components/nodeHost";
import { SCRIPTS_DIR, useScriptsDir } from "../components/render/script";
import { unwrapSecrets } from "../tools/mockRuntime";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, nextUp } from "../tools/synthDiff";
import { commands, named, RawConfig, synthStack } from "./helpers";

const dials = (r: { inputs: Record<string, unknown> }) => (unwrapSecrets(r.inputs.connection) as { dialErrorLimit: number }).dialErrorLimit;

describe("reaching the hosts", () => {
    it("lab (existing hosts): each node's first step dials 6 times (1.5 min); everything on it waits for that step", async () => {
        const s = await synthStack("lab");
        for (const node of ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]) {
            const reach = named(s, `cluster-${node}-reachable`);
            assert.equal(dials(reach), EXISTING_HOST_REACH_DIALS);
            assert.equal(EXISTING_HOST_REACH_DIALS * 15, 90);
            for (const step of ["prepare", "hosts"]) {
                assert.ok(named(s, `cluster-${node}-${step}`).dependsOn.includes(reach.name), `${node} ${step} waits for it`);
            }
            // The other commands keep the configured limit (their connection is unchanged).
            assert.equal(dials(named(s, `cluster-${node}-prepare`)), 40);
        }
    });

    it("a lower ssh.dialErrorLimit lowers it further; VMs the program creates have no such step (prepare dials the booting allowance)", async () => {
        const low = await synthStack("lab", (raw: RawConfig) => {
            raw.ssh = { ...(raw.ssh as object), dialErrorLimit: 3 };
        });
        assert.equal(dials(named(low, "cluster-m-k8s-reachable")), 3);
        for (const stack of ["dev", "azure"]) {
            const s = await synthStack(stack);
            assert.deepEqual(commands(s).filter((c) => c.name.endsWith("-reachable")).map((c) => c.name), [], stack);
            for (const prepare of commands(s).filter((c) => c.name.endsWith("-prepare"))) {
                assert.equal(dials(prepare), 40, `${prepare.name}: a booting VM`);
            }
        }
    });

    it("runs again (replaced by its trigger) exactly when prepare-node's command changes, never on a node added", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reach-"));
        fs.cpSync(SCRIPTS_DIR, dir, { recursive: true });
        const file = path.join(dir, "prepare-node.sh");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("set -euo pipefail", "set -euo pipefail\n: edited"));
        const restore = useScriptsDir(dir);
        let edited;
        try {
            edited = renderSynthesis(await synthStack("lab"));
        } finally {
            restore();
        }
        const n = nextUp(compareRenderings("lab", before, edited));
        const reRun = n.reRun.map((r) => `${r.script}@${r.target}`).sort();
        for (const node of ["m-k8s", "w1-k8s", "w2-k8s", "w3-k8s"]) {
            assert.ok(reRun.includes(`reachable@${node}`) && reRun.includes(`prepare-node@${node}`), reRun.join(" "));
        }
        const added = renderSynthesis(
            await synthStack("lab", (raw: RawConfig) => {
                (raw.nodes as unknown[]).push({ name: "w4-k8s", ip: "192.168.1.104", role: "worker" });
            }),
        );
        const d = compareRenderings("lab", before, added);
        assert.deepEqual(d.changed.filter((c) => c.resource.name.endsWith("-reachable")), []);
        assert.ok(d.added.some((c) => c.resource.name === "cluster-w4-k8s-reachable"));
    });
});
