// Cost linear in the number of nodes: counts only (times and memory are `npm run bench`'s).
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { Synthesis } from "../tools/mockRuntime";
import { commandHost, scaleStats, withWorkers } from "../tools/stats";
import { synthStack } from "./helpers";

describe("lab at 3, 4 and 100 workers", () => {
    const s: Record<number, Synthesis> = {};
    before(async () => {
        for (const n of [3, 4, 100]) {
            s[n] = await synthStack("lab", withWorkers(n));
        }
    });

    it("adds the same number of resources per worker, at most 12", () => {
        const first = s[4].resources.length - s[3].resources.length;
        const average = (s[100].resources.length - s[3].resources.length) / 97;
        assert.equal(average, first);
        // 12: its preparation, hosts block, reachability check, IP record, join, drain and Node-deletion
        // steps, role patch, registry trust, its Kubernetes upgrade step (runs only on a version
        // change), and the two components around them.
        assert.ok(first <= 12, `${first} resources per worker`);
    });

    it("runs at most 9 remote commands on any one machine at 100 workers, at most 4 of them at once", () => {
        const stats = scaleStats(s[100]);
        // The bootstrap control plane: reachability, preparation, hosts block, NFS, init, API server
        // certificate, join credentials, maintenance, registry trust; none per worker.
        assert.ok(stats.mostCommandsOnOneHost.count <= 9, JSON.stringify(stats.mostCommandsOnOneHost));
        assert.ok(stats.mostConcurrentOnOneHost.count <= 4, JSON.stringify(stats.mostConcurrentOnOneHost));
        // The check is live: the control plane does carry more than a worker.
        const onWorker = s[100].resources.filter((r) => r.type === "command:remote:Command" && commandHost(r) === "192.168.1.150");
        assert.ok(onWorker.length >= 3 && onWorker.length <= stats.mostCommandsOnOneHost.count);
    });

    it("keeps the longest chain of remote commands as it is at 3 workers", () => {
        assert.equal(scaleStats(s[100]).longestCommandChain, scaleStats(s[3]).longestCommandChain);
        // reachability → preparation → init → API server certificate → join credentials → maintenance.
        assert.ok(scaleStats(s[3]).longestCommandChain <= 6);
    });
});

// lab's 10 per worker and the VM: the node's IP record (issue 18 item 8) made them 10 and 11, its
// Kubernetes upgrade step (issue 16 item 1) 11 and 12.
it("dev (vSphere, one VM per node): at most 12 resources per added worker", async () => {
    const base = await synthStack("dev");
    const grown = await synthStack("dev", (raw: any) => raw.nodes.push({ name: "test-node4", ip: "192.168.111.174", role: "worker" }));
    assert.ok(grown.resources.length - base.resources.length <= 12, `${grown.resources.length - base.resources.length}`);
});

