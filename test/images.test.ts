// `npm run images -- <stack>`: every image a stack pulls, offline (tools/images.ts). The charts'
// images come from the rendered charts (test/e2e/helm-render.test.ts); here charts are not
// rendered and must say so.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";
import { IMAGES, KUBEADM_IMAGES } from "../config";
import { formatImages, fullReference, kubeadmImages, listImages } from "../tools/images";
import { renderCharts } from "../tools/helmRender";
import { RawConfig, synthStack } from "./helpers";

const off = { reason: "Helm rendering is off (--no-charts)" };

describe("npm run images", () => {
    it("resolves references as the container runtime does", () => {
        assert.equal(fullReference("registry:3.0.0"), "docker.io/library/registry:3.0.0");
        assert.equal(fullReference("bitnami/nginx:1"), "docker.io/bitnami/nginx:1");
        assert.equal(fullReference("registry.k8s.io/pause:3.10.1"), "registry.k8s.io/pause:3.10.1");
        assert.equal(fullReference("localhost:5000/x:1"), "localhost:5000/x:1");
    });

    it("lab at 1.35: kubeadm's images for 1.35 (control plane as v1.35.x: only the minor is pinned), the program's, and names the charts it could not render", async () => {
        const s = await synthStack("lab", (raw: RawConfig) => {
            raw.kubernetes = { ...(raw.kubernetes as object), version: "1.35" };
        });
        const listed = listImages(s, renderCharts(s, off, "1.35"));
        const images = listed.images.map((l) => l.image);
        assert.deepEqual(images.filter((i) => i.startsWith("registry.k8s.io/")), [
            "registry.k8s.io/kube-apiserver:v1.35.x",
            "registry.k8s.io/kube-controller-manager:v1.35.x",
            "registry.k8s.io/kube-scheduler:v1.35.x",
            "registry.k8s.io/kube-proxy:v1.35.x",
            `registry.k8s.io/coredns/coredns:${KUBEADM_IMAGES["1.35"].coredns}`,
            `registry.k8s.io/pause:${KUBEADM_IMAGES["1.35"].pause}`,
            `registry.k8s.io/etcd:${KUBEADM_IMAGES["1.35"].etcd}`,
        ]);
        assert.ok(images.includes("docker.io/library/registry:3.0.0"));
        assert.ok(images.includes("docker.io/library/tomcat:10.1.44-jdk21"), "the init container's image once");
        assert.equal(images.length, new Set(images).size, "each image once");
        assert.equal(listed.notes.filter((n) => /^chart .+: not rendered: Helm rendering is off/.test(n)).length, 4, "flannel, ingress-nginx, metallb, metrics-server");
        const text = formatImages("lab", listed);
        assert.match(text, /^registry\.k8s\.io\/etcd:3\.6\.6-0 +# kubeadm: etcd$/m);
    });

    it("lab without kubernetes.version: the default minor 1.37's images (kubeadm v1.37.2's constants)", async () => {
        const s = await synthStack("lab");
        const images = listImages(s, {}).images.map((l) => l.image).filter((i) => i.startsWith("registry.k8s.io/"));
        assert.deepEqual(images.slice(0, 4), ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"].map((c) => `registry.k8s.io/${c}:v1.37.x`));
        assert.deepEqual(images.slice(4), ["registry.k8s.io/coredns/coredns:v1.14.6", "registry.k8s.io/pause:3.10.2", "registry.k8s.io/etcd:3.7.0-0"]);
        assert.deepEqual(kubeadmImages("1.36.3").slice(4).map((l) => l.image), ["registry.k8s.io/coredns/coredns:v1.14.2", "registry.k8s.io/pause:3.10.2", "registry.k8s.io/etcd:3.6.8-0"]);
    });

    it("an exact Kubernetes version gives exact control-plane tags; a minor without a list is refused by name", async () => {
        const s = await synthStack("lab", (raw: RawConfig) => {
            raw.kubernetes = { ...(raw.kubernetes as object), version: "1.35.2" };
        });
        const images = listImages(s, {}).images.map((l) => l.image);
        assert.ok(images.includes("registry.k8s.io/kube-apiserver:v1.35.2"), images.join(" "));
        assert.ok(!images.some((i) => i.includes("v1.35.x")));
        assert.throws(() => kubeadmImages("1.99"), /no kubeadm image list for Kubernetes 1\.99 in config\/versions\.ts KUBEADM_IMAGES/);
    });

    it("aks: no kubeadm images, the test app's image and the ingress chart named", async () => {
        const s = await synthStack("aks");
        const listed = listImages(s, renderCharts(s, off, "1.35"));
        assert.ok(!listed.images.some((l) => l.image.startsWith("registry.k8s.io/")));
        assert.ok(listed.notes.some((n) => n.startsWith("no kubeadm images")));
    });

    it("runs from the command line", () => {
        const tsx = path.resolve(__dirname, "..", "node_modules", ".bin", "tsx");
        const run = spawnSync(tsx, ["tools/images.ts", "dev", "--no-charts"], { cwd: path.resolve(__dirname, ".."), encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /^# images the stack dev pulls/);
        assert.match(run.stdout, /^registry\.k8s\.io\/kube-apiserver:/m);
        const usage = spawnSync(tsx, ["tools/images.ts"], { cwd: path.resolve(__dirname, ".."), encoding: "utf8" });
        assert.equal(usage.status, 2);
    });

    it("a stack with kube-vip lists its pinned image once, as the control planes' static pod", async () => {
        const s = await synthStack("lab", (raw: RawConfig) => {
            const workers = (raw.nodes as { role: string }[]).filter((n) => n.role === "worker");
            raw.nodes = [
                { name: "m-k8s", ip: "192.168.1.10", role: "control-plane" },
                { name: "m2-k8s", ip: "192.168.1.20", role: "control-plane" },
                { name: "m3-k8s", ip: "192.168.1.30", role: "control-plane" },
                ...workers,
            ];
            raw.kubernetes = { controlPlaneEndpoint: { mode: "kube-vip", address: "192.168.1.9" } };
        });
        const listed = listImages(s, renderCharts(s, off, "1.35"));
        const vip = listed.images.filter((l) => l.image.includes("kube-vip"));
        assert.deepEqual(vip, [{ image: IMAGES.kubeVip, source: "static pod: kube-system/kube-vip on every control plane" }]);
        const lab = listImages(await synthStack("lab"), renderCharts(await synthStack("lab"), off, "1.35"));
        assert.ok(!lab.images.some((l) => l.image.includes("kube-vip")));
    });
});
