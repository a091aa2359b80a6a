/**
 * The program's values for either ingress controller, rendered by the real Helm CLI (tools/helm,
 * built from its Go module) as Pulumi's Chart v4 renders them (tools/helmRender.ts), from
 * `charts.directory`. The charts cannot be fetched here: the stand-ins of ingress-nginx 4.15.0 and
 * traefik 41.3.0 (hosts/ingressCharts.ts, shared with the engine tests, which run them against a
 * real API server) read exactly the value paths the program sets, with the real charts' defaults
 * for them; that module names the chart files each follows.
 * What it proves: both render ONE Service `ingress-nginx/ingress-nginx-controller` with the same
 * type, node ports and MetalLB annotation, so a switch of `ingress.controller` changes that object
 * (same Chart resource, same object name → same URN) instead of adding a second Service that
 * would ask for node ports still allocated.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { CHARTS } from "../../config";
import { chartObjectsDir, renderCharts } from "../../tools/helmRender";
import { listImages } from "../../tools/images";
import { renderSynthesis } from "../../tools/synth";
import { chartObjectLines, compareRenderings } from "../../tools/synthDiff";
import { RawConfig, synthStack } from "../helpers";
import { buildTestCharts } from "./hosts/charts";
import { onPath } from "./tools";

const helm = onPath("helm");

describe("ingress controllers' charts rendered with the program's values", { skip: helm ? false : "helm is not on PATH (npm run test:e2e builds it with tools/helm/build.sh)" }, () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-ingress-charts-"));
    const archives = path.join(root, "archives");
    const setup = (controller: string, more?: (raw: RawConfig) => void) => (raw: RawConfig) => {
        raw.charts = { directory: archives };
        raw.ingress = { ...(raw.ingress as object), controller };
        more?.(raw);
    };
    const render = async (stack: string, controller: string, more?: (raw: RawConfig) => void) => {
        const s = await synthStack(stack, setup(controller, more));
        return { synthesis: s, files: { ...renderSynthesis(s), ...renderCharts(s, { helm }, "1.35") } };
    };
    const dir = chartObjectsDir("platform-ingress-chart");
    const objectsOf = (files: Record<string, string>) => Object.keys(files).filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1)).sort();
    const serviceOf = (files: Record<string, string>) => parse(files[`${dir}/Service.ingress-nginx.ingress-nginx-controller.yaml`] ?? "null");

    before(() => {
        fs.mkdirSync(archives, { recursive: true });
        buildTestCharts(archives);
    });

    for (const stack of ["lab", "dev"]) {
        it(`${stack}: both controllers render one Service ingress-nginx/ingress-nginx-controller with the same type, node ports and address annotation`, async () => {
            const nginx = (await render(stack, "ingress-nginx")).files;
            const traefik = (await render(stack, "traefik")).files;
            assert.deepEqual(objectsOf(nginx), [
                "Deployment.ingress-nginx.ingress-nginx-controller.yaml",
                "IngressClass._cluster.nginx.yaml",
                "Service.ingress-nginx.ingress-nginx-controller.yaml",
            ]);
            assert.deepEqual(objectsOf(traefik), ["Deployment.ingress-nginx.traefik.yaml", "IngressClass._cluster.traefik.yaml", "Service.ingress-nginx.ingress-nginx-controller.yaml"], "no CRD: skipped");
            const [a, b] = [serviceOf(nginx), serviceOf(traefik)];
            const wiring = (svc: { spec: { type: string; ports: { port: number; nodePort: number }[] }; metadata: { annotations: Record<string, string> } }) => ({
                type: svc.spec.type,
                ports: svc.spec.ports.map((p) => [p.port, p.nodePort]),
                annotations: svc.metadata.annotations,
            });
            assert.deepEqual(wiring(b), wiring(a));
            const expected = stack === "lab"
                ? { type: "LoadBalancer", ports: [[80, 30080], [443, 30443]], annotations: { "metallb.io/loadBalancerIPs": "192.168.1.11" } }
                : { type: "NodePort", ports: [[80, 30080], [443, 30443]], annotations: {} };
            assert.deepEqual(wiring(a), expected);
            // Traefik: no appProtocol (Azure would probe over HTTP at "/"), the classes each chart makes.
            assert.ok(b.spec.ports.every((p: { appProtocol?: string }) => p.appProtocol === undefined));
            assert.equal(parse(traefik[`${dir}/IngressClass._cluster.traefik.yaml`]).metadata.annotations["ingressclass.kubernetes.io/is-default-class"], "true");
            assert.equal(parse(nginx[`${dir}/IngressClass._cluster.nginx.yaml`]).metadata.annotations["ingressclass.kubernetes.io/is-default-class"], "true");
        });
    }

    it("traefik's pod: the pinned image, restricted security context, no read timeout, the one Service published, no CRD provider, no version check", async () => {
        const { synthesis, files } = await render("lab", "traefik");
        const deployment = parse(files[`${dir}/Deployment.ingress-nginx.traefik.yaml`]);
        const container = deployment.spec.template.spec.containers[0];
        assert.equal(container.image, "docker.io/traefik:v3.7.11");
        assert.deepEqual(deployment.spec.template.spec.securityContext, { runAsGroup: 65532, runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } });
        assert.deepEqual(container.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true });
        assert.deepEqual(container.args.filter((a: string) => /readTimeout|kubernetescrd|kubernetesingress|checkNewVersion/.test(a)), [
            "--global.checkNewVersion=false",
            "--entryPoints.web.transport.respondingTimeouts.readTimeout=0",
            "--entryPoints.websecure.transport.respondingTimeouts.readTimeout=0",
            "--providers.kubernetesingress",
            "--providers.kubernetesingress.ingressendpoint.publishedservice=ingress-nginx/ingress-nginx-controller",
        ]);
        // Its Service targets the pod's named ports.
        const service = serviceOf(files);
        assert.deepEqual(service.spec.ports.map((p: { name: string; targetPort: string }) => [p.name, p.targetPort]), [["web", "web"], ["websecure", "websecure"]]);
        const images = listImages(synthesis, renderCharts(synthesis, { helm }, "1.35")).images.filter((l) => l.image.includes("traefik"));
        assert.deepEqual(images.map((l) => l.image), ["docker.io/library/traefik:v3.7.11"], "once: pinned and rendered are the same reference");
    });

    it("the chart's values schema is in force: a misspelt key under a closed object is refused", () => {
        const run = spawnSync(helm!, ["template", "t", path.join(archives, `traefik-${CHARTS.traefik.version}.tgz`), "--set", "providers.kubernetesCRD.enabld=false"], { encoding: "utf8" });
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /kubernetesCRD|enabld/);
    });

    it("switching ingress-nginx → traefik: the Service changes in place, the old Deployment and IngressClass go, the new ones come", async () => {
        const before = (await render("lab", "ingress-nginx")).files;
        const after = (await render("lab", "traefik")).files;
        const d = compareRenderings("lab", before, after);
        assert.deepEqual(d.added, []);
        assert.deepEqual(d.removed, []);
        assert.deepEqual(chartObjectLines(d), [
            "chart platform-ingress-chart: objects 2 (Deployment ingress-nginx/traefik, IngressClass _cluster/traefik) added, 2 (Deployment ingress-nginx/ingress-nginx-controller, IngressClass _cluster/nginx) removed, 1 (Service ingress-nginx/ingress-nginx-controller) changed",
        ]);
        const back = compareRenderings("lab", after, before);
        assert.match(chartObjectLines(back)[0], /1 \(Service ingress-nginx\/ingress-nginx-controller\) changed$/);
    });
});
