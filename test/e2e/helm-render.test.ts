/**
 * Charts rendered offline in `npm run synth` / `synth:diff` (tools/helmRender.ts), with the Helm
 * CLI built from its Go module (tools/helm; `npm run test:e2e` puts it on PATH). The charts are
 * small ones this test writes and packages itself under the pinned names and versions, served
 * from `charts.directory` as an air-gapped site would.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { CHARTS, KUBERNETES_VERSION } from "../../config";
import { chartNotePath, chartObjectsDir, renderCharts } from "../../tools/helmRender";
import { renderSynthesis } from "../../tools/synth";
import { listImages } from "../../tools/images";
import { chartObjectLines, compareRenderings } from "../../tools/synthDiff";
import { RawConfig, synthStack } from "../helpers";
import { onPath } from "./tools";

const helm = onPath("helm");

/** A chart directory: a Deployment without a namespace (Chart v4 gives it the release's), a
 * pre-install hook (never rendered: Chart v4 disables hooks), a CRD (rendered: CRDs included). */
function writeChart(root: string, name: string, version: string, extra: Record<string, string> = {}): string {
    const dir = path.join(root, "src", name);
    fs.mkdirSync(path.join(dir, "templates"), { recursive: true });
    fs.mkdirSync(path.join(dir, "crds"), { recursive: true });
    fs.writeFileSync(path.join(dir, "Chart.yaml"), `apiVersion: v2\nname: ${name}\nversion: ${version}\n`);
    fs.writeFileSync(path.join(dir, "values.yaml"), "args: []\nreplicas: 1\n");
    fs.writeFileSync(
        path.join(dir, "templates", "deployment.yaml"),
        [
            "apiVersion: apps/v1",
            "kind: Deployment",
            "metadata:",
            "  name: {{ .Release.Name }}",
            "  labels: {app.kubernetes.io/instance: {{ .Release.Name | quote }}, kube: {{ .Capabilities.KubeVersion.Version | quote }}}",
            "spec:",
            "  replicas: {{ .Values.replicas }}",
            "  selector: {matchLabels: {app: {{ .Release.Name }}}}",
            "  template:",
            "    metadata: {labels: {app: {{ .Release.Name }}}}",
            "    spec:",
            "      containers:",
            "        - name: main",
            "          image: example.invalid/{{ .Chart.Name }}:{{ .Chart.Version }}",
            "          args: {{ toJson .Values.args }}",
        ].join("\n") + "\n",
    );
    fs.writeFileSync(
        path.join(dir, "templates", "hook.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hook\n  annotations: {helm.sh/hook: pre-install}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: x}]}}}\n",
    );
    fs.writeFileSync(
        path.join(dir, "crds", "crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\nspec:\n  group: example.com\n  names: {kind: Thing, plural: things}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n",
    );
    for (const [file, text] of Object.entries(extra)) {
        fs.writeFileSync(path.join(dir, "templates", file), text);
    }
    const out = path.join(root, "archives");
    fs.mkdirSync(out, { recursive: true });
    const packaged = spawnSync(helm!, ["package", dir, "--destination", out], { encoding: "utf8" });
    assert.equal(packaged.status, 0, packaged.stderr);
    return out;
}

describe("charts rendered offline with Helm", { skip: helm ? false : "helm is not on PATH (npm run test:e2e builds it with tools/helm/build.sh)" }, () => {
    let archives = "";
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-charts-"));
    const withDirectory = (dir: string) => (raw: RawConfig) => {
        raw.charts = { directory: dir };
    };
    const render = async (dir: string, edit?: (raw: RawConfig) => void) => {
        const s = await synthStack("lab", (raw) => {
            withDirectory(dir)(raw);
            edit?.(raw);
        });
        return { ...renderSynthesis(s), ...renderCharts(s, { helm }, "1.35") };
    };

    before(() => {
        for (const pin of Object.values(CHARTS)) {
            archives = writeChart(root, pin.chart, pin.version.replace(/^v/, ""));
        }
        // flannel's pin has a "v": `helm pull` saves it as flannel-v0.27.4.tgz, as chartReference names it.
        fs.renameSync(path.join(archives, `flannel-${CHARTS.flannel.version.replace(/^v/, "")}.tgz`), path.join(archives, `flannel-${CHARTS.flannel.version}.tgz`));
    });

    it("renders each chart as Chart v4 does: release name, namespace, values, CRDs, no hooks, the stack's Kubernetes version", async () => {
        const files = await render(archives);
        const dir = chartObjectsDir("platform-metrics-server-chart");
        const objects = Object.keys(files).filter((f) => f.startsWith(`${dir}/`)).sort();
        assert.deepEqual(objects, [`${dir}/CustomResourceDefinition._cluster.things.example.com.yaml`, `${dir}/Deployment.kube-system.metrics-server.yaml`]);
        const deployment = parse(files[`${dir}/Deployment.kube-system.metrics-server.yaml`]);
        assert.equal(deployment.metadata.namespace, "kube-system", "namespaced like provideryamlv2.Normalize");
        assert.equal(deployment.metadata.labels["app.kubernetes.io/instance"], "metrics-server", "the release name is the Chart's name input");
        // lab sets no kubernetes.version: the default minor, not renderCharts' fallback (1.35).
        assert.match(deployment.metadata.labels.kube, new RegExp(`^v${KUBERNETES_VERSION.replace(".", "\\.")}\\.`), "rendered for the stack's Kubernetes minor");
        assert.deepEqual(deployment.spec.template.spec.containers[0].args, ["--kubelet-insecure-tls"], "the program's values");
        for (const chart of ["flannel-chart", "platform-ingress-chart", "platform-metallb-chart"]) {
            assert.ok(Object.keys(files).some((f) => f.startsWith(`${chartObjectsDir(chart)}/Deployment.`)), chart);
        }
        assert.ok(!Object.keys(files).some((f) => f.includes("Job.")), "hooks are not rendered");
        // npm run images lists the rendered charts' images.
        const s = await synthStack("lab", withDirectory(archives));
        const images = listImages(s, renderCharts(s, { helm }, "1.35")).images;
        assert.ok(images.some((l) => l.image === `example.invalid/metrics-server:${CHARTS.metricsServer.version}` && l.source.startsWith("chart metrics-server-")), images.map((l) => `${l.image} ${l.source}`).join("\n"));
    });

    it("synth:diff shows the objects a chart upgrade adds and a values change changes", async () => {
        // The site's chart directory, before and after a new metrics-server archive lands in it.
        const site = path.join(root, "site");
        fs.cpSync(archives, site, { recursive: true });
        const before = await render(site);
        const upgraded = writeChart(path.join(root, "upgrade"), "metrics-server", CHARTS.metricsServer.version, {
            "configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n",
        });
        fs.copyFileSync(path.join(upgraded, `metrics-server-${CHARTS.metricsServer.version}.tgz`), path.join(site, `metrics-server-${CHARTS.metricsServer.version}.tgz`));
        const after = await render(site, (raw) => {
            raw.metricsServer = { ...(raw.metricsServer as object), kubeletInsecureTls: false };
        });
        const d = compareRenderings("lab", before, after);
        const chart = d.changed.find((c) => c.resource.name === "platform-metrics-server-chart");
        assert.ok(chart, "the chart resource changed");
        const dir = chartObjectsDir("platform-metrics-server-chart");
        const added = chart.files.filter((f) => f.before === undefined).map((f) => f.path);
        assert.deepEqual(added, [`${dir}/ConfigMap.kube-system.extra.yaml`]);
        const changed = chart.files.filter((f) => f.before !== undefined && f.after !== undefined).map((f) => f.path).sort();
        assert.deepEqual(changed, [`${dir}/Deployment.kube-system.metrics-server.yaml`, "charts/platform-metrics-server-chart.yaml"]);
        assert.deepEqual(d.changed.map((c) => c.resource.name), ["platform-metrics-server-chart"], "nothing else changes");
        assert.deepEqual(chartObjectLines(d), [
            "chart platform-metrics-server-chart: objects 1 (ConfigMap kube-system/extra) added, 0 removed, 1 (Deployment kube-system/metrics-server) changed",
        ]);
    });

    it("a chart that cannot be had is shown as its inputs, with a note saying why", async () => {
        const files = await render(path.join(root, "empty"));
        for (const chart of ["flannel-chart", "platform-metrics-server-chart"]) {
            assert.match(files[chartNotePath(chart)], /^not rendered: the chart \/.+ could not be rendered\nhelm: .+/);
            assert.ok(files[`charts/${chart}.yaml`], "its inputs are still shown");
        }
        const offline = await synthStack("lab");
        const notes = renderCharts(offline, { helm }, "1.35");
        // No network here: the public repositories cannot be reached.
        assert.match(notes[chartNotePath("flannel-chart")], /^not rendered: the chart could not be fetched from https:\/\/flannel-io\.github\.io\/flannel\//);
    });
});
