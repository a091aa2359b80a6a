/**
 * Image mirrors through real Helm rendering (issue 16 §4): the charts are stand-ins this test
 * packages under the pinned names and versions (no network here), each carrying its real chart's
 * image values (keys and defaults) and composing every image reference from them the way the real
 * templates do, at the pinned version:
 *  - flannel v0.27.4 (chart/kube-flannel values.yaml; templates/daemonset.yaml: the CNI plugin
 *    and CNI config init containers and kube-flannel, `<repository>:<tag>`);
 *  - ingress-nginx 4.15.0 (values.yaml `global.image.registry`, `controller.image.{image,tag,digest}`;
 *    templates/controller-deployment.yaml merges controller.image over global.image and writes
 *    `<registry>/<image>:<tag>@<digest>` unless `repository` is set);
 *  - metallb 0.15.2 (values.yaml controller/speaker/speaker.frr images, tags defaulting to the
 *    appVersion v0.15.2; templates/controller.yaml and speaker.yaml: the speaker, reloader and
 *    metrics containers and three init containers);
 *  - metrics-server 3.13.1 (values.yaml `image.repository`, templates/_helpers.tpl
 *    "metrics-server.image": `<repository>:<tag or v<appVersion 0.8.1>>`).
 * Rendered by the real Helm CLI as `npm run synth` and `npm run images` render them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { stringify } from "yaml";
import { CHARTS } from "../../config";
import { renderCharts } from "../../tools/helmRender";
import { annotateMirrors, listImages, mirrorsOf } from "../../tools/images";
import { RawConfig, synthStack } from "../helpers";
import { onPath } from "./tools";

const helm = onPath("helm");
const MIRROR = "harbor.example.com/mirror";

const container = (name: string, image: string) => `      - name: ${name}\n        image: ${image}\n`;
const pod = (kind: string, name: string, init: string, containers: string) =>
    `apiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec:\n${init ? `      initContainers:\n${init}` : ""}      containers:\n${containers}`;

/** name → [appVersion, values, templates]. */
const STAND_INS: Record<string, [string, unknown, Record<string, string>]> = {
    flannel: [
        "v0.27.4",
        {
            podCidr: "10.244.0.0/16",
            flannel: {
                image: { repository: "ghcr.io/flannel-io/flannel", tag: "v0.27.4" },
                image_cni: { repository: "ghcr.io/flannel-io/flannel-cni-plugin", tag: "v1.8.0-flannel1" },
                args: ["--ip-masq", "--kube-subnet-mgr"],
            },
        },
        {
            "daemonset.yaml": pod(
                "DaemonSet",
                "kube-flannel-ds",
                container("install-cni-plugin", "{{ .Values.flannel.image_cni.repository }}:{{ .Values.flannel.image_cni.tag }}") +
                    container("install-cni", "{{ .Values.flannel.image.repository }}:{{ .Values.flannel.image.tag }}"),
                container("kube-flannel", "{{ .Values.flannel.image.repository }}:{{ .Values.flannel.image.tag }}"),
            ),
        },
    ],
    // traefik 41.3.0: image.registry/repository/tag (values.yaml), the pod's image
    // `<registry>/<repository>:<tag>` (templates/_podtemplate.tpl; the tag defaults to the appVersion).
    traefik: [
        "v3.7.11",
        { image: { registry: "docker.io", repository: "traefik", tag: "" } },
        {
            "deployment.yaml": pod(
                "Deployment",
                "traefik",
                "",
                container("traefik", '{{ printf "%s/%s:%s" .Values.image.registry .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}'),
            ),
        },
    ],
    "ingress-nginx": [
        "1.15.0",
        {
            global: { image: { registry: "registry.k8s.io" } },
            controller: { image: { image: "ingress-nginx/controller", tag: "v1.15.0", digest: "sha256:4eea9a4cc2cb6ddcb7da14d377aaf452e68bd3dbe87fe280755d225c4d5e7e4e" } },
        },
        {
            "deployment.yaml": pod(
                "Deployment",
                "ingress-nginx-controller",
                "",
                container(
                    "controller",
                    "{{ $i := merge (deepCopy .Values.controller.image) .Values.global.image }}{{ if $i.repository }}{{ $i.repository }}{{ else }}{{ $i.registry }}/{{ $i.image }}{{ end }}:{{ $i.tag }}{{ if $i.digest }}@{{ $i.digest }}{{ end }}",
                ),
            ),
        },
    ],
    metallb: [
        "v0.15.2",
        {
            controller: { image: { repository: "quay.io/metallb/controller", tag: null } },
            speaker: { image: { repository: "quay.io/metallb/speaker", tag: null }, frr: { enabled: true, image: { repository: "quay.io/frrouting/frr", tag: "9.1.0" } } },
        },
        {
            "controller.yaml": pod("Deployment", "metallb-controller", "", container("controller", "{{ .Values.controller.image.repository }}:{{ .Values.controller.image.tag | default .Chart.AppVersion }}")),
            "speaker.yaml": pod(
                "DaemonSet",
                "metallb-speaker",
                container("cp-frr-files", "{{ .Values.speaker.frr.image.repository }}:{{ .Values.speaker.frr.image.tag | default .Chart.AppVersion }}") +
                    container("cp-reloader", "{{ .Values.speaker.image.repository }}:{{ .Values.speaker.image.tag | default .Chart.AppVersion }}") +
                    container("cp-metrics", "{{ .Values.speaker.image.repository }}:{{ .Values.speaker.image.tag | default .Chart.AppVersion }}"),
                container("speaker", "{{ .Values.speaker.image.repository }}:{{ .Values.speaker.image.tag | default .Chart.AppVersion }}") +
                    container("frr", "{{ .Values.speaker.frr.image.repository }}:{{ .Values.speaker.frr.image.tag | default .Chart.AppVersion }}") +
                    container("reloader", "{{ .Values.speaker.frr.image.repository }}:{{ .Values.speaker.frr.image.tag | default .Chart.AppVersion }}") +
                    container("frr-metrics", "{{ .Values.speaker.frr.image.repository }}:{{ .Values.speaker.frr.image.tag | default .Chart.AppVersion }}"),
            ),
        },
    ],
    "metrics-server": [
        "0.8.1",
        { image: { repository: "registry.k8s.io/metrics-server/metrics-server", tag: "" }, args: [] },
        { "deployment.yaml": pod("Deployment", "metrics-server", "", container("metrics-server", '{{ printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) }}')) },
    ],
};

describe("image mirrors in the charts rendered by Helm", { skip: helm ? false : "helm is not on PATH (npm run test:e2e builds it with tools/helm/build.sh)" }, () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-chart-images-"));
    const archives = path.join(root, "archives");

    before(() => {
        fs.mkdirSync(archives, { recursive: true });
        for (const pin of Object.values(CHARTS)) {
            const [appVersion, values, templates] = STAND_INS[pin.chart];
            const dir = path.join(root, "src", pin.chart);
            fs.mkdirSync(path.join(dir, "templates"), { recursive: true });
            fs.writeFileSync(path.join(dir, "Chart.yaml"), `apiVersion: v2\nname: ${pin.chart}\nversion: ${pin.version}\nappVersion: ${JSON.stringify(appVersion)}\n`);
            fs.writeFileSync(path.join(dir, "values.yaml"), stringify(values));
            for (const [file, text] of Object.entries(templates)) fs.writeFileSync(path.join(dir, "templates", file), text);
            const packaged = spawnSync(helm!, ["package", dir, "--destination", archives], { encoding: "utf8" });
            assert.equal(packaged.status, 0, packaged.stderr);
        }
    });

    const render = async (edit?: (raw: RawConfig) => void) => {
        const s = await synthStack("lab", (raw) => {
            raw.charts = { directory: archives };
            edit?.(raw);
        });
        return { synthesis: s, files: renderCharts(s, { helm }, "1.35") };
    };
    const chartImages = (files: Record<string, string>) => {
        const images: string[] = [];
        for (const text of Object.values(files)) {
            for (const m of text.matchAll(/^\s*image: (\S+)$/gm)) images.push(m[1].replace(/^["']|["']$/g, ""));
        }
        return images;
    };

    it("without mirrors the stand-ins render their upstream images (they match the charts' defaults)", async () => {
        const { files } = await render();
        const images = chartImages(files);
        assert.ok(!Object.keys(files).some((f) => f.endsWith(".not-rendered.txt")), Object.keys(files).join("\n"));
        for (const expected of [
            "ghcr.io/flannel-io/flannel:v0.27.4",
            "ghcr.io/flannel-io/flannel-cni-plugin:v1.8.0-flannel1",
            "registry.k8s.io/ingress-nginx/controller:v1.15.0@sha256:4eea9a4cc2cb6ddcb7da14d377aaf452e68bd3dbe87fe280755d225c4d5e7e4e",
            "quay.io/metallb/controller:v0.15.2",
            "quay.io/metallb/speaker:v0.15.2",
            "quay.io/frrouting/frr:9.1.0",
            "registry.k8s.io/metrics-server/metrics-server:v0.8.1",
        ]) {
            assert.ok(images.includes(expected), `${expected} in\n${images.join("\n")}`);
        }
    });

    it("with images.registry every image of every rendered chart starts with the mirror, and npm run images lists each with its upstream", async () => {
        const { synthesis, files } = await render((raw) => (raw.images = { registry: MIRROR }));
        const images = chartImages(files);
        assert.equal(images.length, 13, images.join("\n"));
        assert.deepEqual(images.filter((i) => !i.startsWith(`${MIRROR}/`)), []);
        assert.ok(images.includes(`${MIRROR}/ingress-nginx/controller:v1.15.0@sha256:4eea9a4cc2cb6ddcb7da14d377aaf452e68bd3dbe87fe280755d225c4d5e7e4e`));
        assert.ok(images.includes(`${MIRROR}/frrouting/frr:9.1.0`));

        const plain = await render();
        const originals = listImages(plain.synthesis, plain.files).images.map((l) => l.image);
        const listed = annotateMirrors(listImages(synthesis, files), mirrorsOf(synthesis), originals);
        assert.deepEqual(listed.images.filter((l) => !l.image.startsWith(`${MIRROR}/`) || !l.copyFrom || l.notMirrored), []);
        const flannel = listed.images.find((l) => l.image === `${MIRROR}/flannel-io/flannel:v0.27.4`);
        assert.equal(flannel?.copyFrom, "ghcr.io/flannel-io/flannel:v0.27.4");
    });

    it("Traefik as the ingress controller under a docker.io mirror: its image is the mirror's library/traefik, as npm run images lists it", async () => {
        const { synthesis, files } = await render((raw) => {
            raw.ingress = { ...(raw.ingress as object), controller: "traefik" };
            raw.images = { mirrors: { "docker.io": "hub.example.com" } };
        });
        const images = chartImages(files).filter((i) => i.includes("traefik"));
        assert.deepEqual(images, ["hub.example.com/library/traefik:v3.7.11"]);
        assert.ok(listImages(synthesis, files).images.some((l) => l.image === "hub.example.com/library/traefik:v3.7.11"));
    });

    it("a mirror for one source moves only that source's images", async () => {
        const { files } = await render((raw) => (raw.images = { mirrors: { "quay.io": "quay.example.com" } }));
        const images = chartImages(files);
        assert.deepEqual(images.filter((i) => i.includes("quay")).sort(), [
            "quay.example.com/frrouting/frr:9.1.0",
            "quay.example.com/frrouting/frr:9.1.0",
            "quay.example.com/frrouting/frr:9.1.0",
            "quay.example.com/frrouting/frr:9.1.0",
            "quay.example.com/metallb/controller:v0.15.2",
            "quay.example.com/metallb/speaker:v0.15.2",
            "quay.example.com/metallb/speaker:v0.15.2",
            "quay.example.com/metallb/speaker:v0.15.2",
        ]);
        assert.ok(images.includes("ghcr.io/flannel-io/flannel:v0.27.4"));
    });
});
