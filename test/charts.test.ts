// Charts from an internal repository or a directory of archives (air-gapped sites, and the e2e).
import { it } from "node:test";
import * as assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../config";
import { byType, rawConfigOf, synthStack } from "./helpers";

const CHART = "kubernetes:helm.sh/v4:Chart";

it("takes every chart from a directory of `helm pull` archives: path as chart, no repository, no version", async () => {
    const s = await synthStack("lab", (raw: any) => {
        raw.charts = { directory: "/srv/charts/" };
    });
    const charts = byType(s, CHART).map((c) => c.inputs);
    assert.equal(charts.length, 4);
    assert.deepEqual(
        charts.map((c) => c.chart).sort(),
        ["/srv/charts/flannel-v0.27.4.tgz", "/srv/charts/ingress-nginx-4.15.0.tgz", "/srv/charts/metallb-0.15.2.tgz", "/srv/charts/metrics-server-3.13.1.tgz"],
    );
    for (const c of charts) {
        assert.equal(c.repositoryOpts, undefined);
        assert.equal(c.version, undefined);
    }
});

it("takes every chart from an internal repository at the pinned versions", async () => {
    const s = await synthStack("lab", (raw: any) => {
        raw.charts = { repository: "https://charts.internal.example/mirror" };
    });
    for (const c of byType(s, CHART)) {
        assert.deepEqual(c.inputs.repositoryOpts, { repo: "https://charts.internal.example/mirror" });
        assert.match(String(c.inputs.version), /^v?\d+\.\d+\.\d+$/);
    }
});

it("keeps the public repositories by default", async () => {
    const s = await synthStack("lab");
    const repos = byType(s, CHART).map((c) => (c.inputs.repositoryOpts as { repo: string }).repo);
    assert.ok(repos.every((r) => r.startsWith("https://") && !r.includes("internal")));
});

it("refuses a relative chart directory, naming the key", () => {
    const raw = rawConfigOf("lab") as any;
    raw.charts = { directory: "charts" };
    assert.throws(() => parseConfig(raw, { stack: "lab", hasSshPrivateKey: true }), (e: ConfigError) =>
        e.problems.some((p) => p.startsWith("k8s-platform:charts") && p.includes("directory")),
    );
});
