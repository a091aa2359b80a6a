// `ingress.controller`: ingress-nginx (the default, retired upstream in March 2026) or Traefik.
// The chart, its values, the IngressClass the platform's Ingress objects name and their
// annotations, per controller; the HAProxy, MetalLB and Azure wiring the same for both; and what
// the next `up` does when a running stack switches (one Chart resource, same Service: see
// components/render/ingress.ts). Chart contents are opaque here (mock runtime): the real chart
// value paths are rendered by Helm in test/e2e/helm-render.test.ts.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { CHART_IMAGES, CHARTS } from "../config";
import { renderCharts } from "../tools/helmRender";
import { listImages } from "../tools/images";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, nextUp, nextUpLines } from "../tools/synthDiff";
import { byType, envOf, named, RawConfig, synthStack } from "./helpers";

const CHART = "kubernetes:helm.sh/v4:Chart";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";

const withController = (controller: string, more?: (raw: RawConfig) => void) => (raw: RawConfig) => {
    raw.ingress = { ...(raw.ingress as object), controller };
    more?.(raw);
};

type Values = {
    ports: { web: { nodePort: number; transport: unknown }; websecure: { nodePort: number; transport: unknown } };
    service: { nameOverride: string; spec: { type: string }; annotations: Record<string, string> };
    [key: string]: unknown;
};

function ingressChart(s: Awaited<ReturnType<typeof synthStack>>) {
    const chart = named(s, "platform-ingress-chart");
    assert.equal(chart.type, CHART);
    return chart.inputs as { chart: string; version?: string; name: string; namespace: unknown; skipCrds?: boolean; repositoryOpts?: { repo: string }; values: any };
}

const ingressClasses = (s: Awaited<ReturnType<typeof synthStack>>) =>
    Object.fromEntries(byType(s, INGRESS).map((r) => [r.name, (r.inputs as { spec: { ingressClassName: string } }).spec.ingressClassName]));
const annotationsOf = (s: Awaited<ReturnType<typeof synthStack>>, name: string) => (named(s, name).inputs as { metadata: { annotations?: Record<string, string> } }).metadata.annotations;

describe("ingress.controller", () => {
    it("default: ingress-nginx 4.15.0, class nginx, the registry's nginx annotations (existing stacks unchanged)", async () => {
        const s = await synthStack("lab");
        const chart = ingressChart(s);
        assert.deepEqual([chart.chart, chart.version, chart.name, chart.repositoryOpts?.repo], ["ingress-nginx", "4.15.0", "ingress-nginx", CHARTS.ingressNginx.repo]);
        assert.equal(chart.skipCrds, undefined);
        assert.deepEqual(chart.values.controller.ingressClassResource, { name: "nginx", enabled: true, default: true });
        assert.deepEqual(chart.values.controller.service, {
            type: "LoadBalancer",
            nodePorts: { http: 30080, https: 30443 },
            annotations: { "metallb.io/loadBalancerIPs": "192.168.1.11" },
        });
        assert.deepEqual(ingressClasses(s), { "platform-registry-ingress": "nginx", "platform-test-app-ingress": "nginx" });
        assert.deepEqual(annotationsOf(s, "platform-registry-ingress"), { "nginx.ingress.kubernetes.io/proxy-body-size": "0" });
    });

    it("traefik: chart traefik 41.3.0 (no CRDs), class traefik, no nginx annotations, the same Service (name, type, node ports, MetalLB address)", async () => {
        const s = await synthStack("lab", withController("traefik"));
        const chart = ingressChart(s);
        assert.deepEqual([chart.chart, chart.version, chart.name, chart.repositoryOpts?.repo], ["traefik", "41.3.0", "traefik", "https://traefik.github.io/charts"]);
        assert.equal(chart.skipCrds, true, "the platform uses no Traefik CRD");
        const values = chart.values as Values;
        assert.deepEqual(values.image, CHART_IMAGES.traefik, "the image pinned in config/versions.ts, in the chart's shape");
        assert.deepEqual(values.ingressClass, { enabled: true, isDefaultClass: true, name: "traefik" });
        assert.deepEqual(values.providers, {
            kubernetesCRD: { enabled: false },
            kubernetesIngress: { enabled: true, publishedService: { enabled: true, pathOverride: "ingress-nginx/ingress-nginx-controller" } },
        });
        assert.deepEqual([values.ports.web.nodePort, values.ports.websecure.nodePort], [30080, 30443]);
        assert.deepEqual(values.ports.web.transport, { respondingTimeouts: { readTimeout: 0 } }, "registry pushes are not cut after 60 s");
        assert.deepEqual(values.service, {
            nameOverride: "ingress-nginx-controller",
            spec: { type: "LoadBalancer" },
            annotations: { "metallb.io/loadBalancerIPs": "192.168.1.11" },
        });
        assert.deepEqual(values.global, { checkNewVersion: false, sendAnonymousUsage: false });
        assert.deepEqual(ingressClasses(s), { "platform-registry-ingress": "traefik", "platform-test-app-ingress": "traefik" });
        assert.deepEqual(annotationsOf(s, "platform-registry-ingress"), {}, "Traefik limits no body and redirects nothing");
        // The namespace and the chart are the same resources as with ingress-nginx.
        assert.equal(named(s, "platform-ingress-namespace").type, "kubernetes:core/v1:Namespace");
    });

    it("traefik behind HAProxy (dev): NodePort on the configured node ports, HAProxy's backends unchanged", async () => {
        const edit = (raw: RawConfig) => {
            raw.ingress = { ...(raw.ingress as object), httpNodePort: 31080, httpsNodePort: 31443 };
        };
        const nginx = await synthStack("dev", edit);
        const traefik = await synthStack("dev", withController("traefik", edit));
        const values = ingressChart(traefik).values as Values;
        assert.deepEqual([values.service.spec.type, values.ports.web.nodePort, values.ports.websecure.nodePort], ["NodePort", 31080, 31443]);
        assert.deepEqual(values.service.annotations, {});
        const haproxy = (s: typeof nginx) => envOf(byType(s, "command:remote:Command").find((r) => r.name.endsWith("-haproxy"))!, "HAPROXY_CONFIG");
        assert.match(haproxy(traefik) ?? "", /:31080 check/);
        assert.equal(haproxy(traefik), haproxy(nginx));
    });

    it("traefik on AKS: LoadBalancer, no /healthz probe path (Azure probes the node ports over TCP)", async () => {
        const nginx = ingressChart(await synthStack("aks")).values;
        assert.equal(nginx.controller.service.annotations["service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path"], "/healthz");
        const values = ingressChart(await synthStack("aks", withController("traefik"))).values as Values;
        assert.deepEqual(values.service.spec, { type: "LoadBalancer" });
        assert.deepEqual(values.service.annotations, {});
    });

    it("registry in insecure mode: ingress-nginx is told not to redirect to HTTPS, Traefik needs nothing", async () => {
        const insecure = (raw: RawConfig) => (raw.registry = { ...(raw.registry as object), mode: "insecure" });
        assert.deepEqual(annotationsOf(await synthStack("lab", insecure), "platform-registry-ingress"), {
            "nginx.ingress.kubernetes.io/proxy-body-size": "0",
            "nginx.ingress.kubernetes.io/ssl-redirect": "false",
        });
        assert.deepEqual(annotationsOf(await synthStack("lab", withController("traefik", insecure)), "platform-registry-ingress"), {});
    });

    it("traefik from a chart directory: the archive helm pull saves", async () => {
        const s = await synthStack("lab", withController("traefik", (raw) => (raw.charts = { directory: "/srv/charts" })));
        assert.equal(ingressChart(s).chart, "/srv/charts/traefik-41.3.0.tgz");
    });

    it("npm run images lists Traefik's pinned image even when the chart cannot be rendered", async () => {
        const s = await synthStack("lab", withController("traefik"));
        const listed = listImages(s, renderCharts(s, { reason: "Helm rendering is off (--no-charts)" }, "1.35"));
        const line = listed.images.find((l) => l.image === "docker.io/library/traefik:v3.7.11");
        assert.ok(line, listed.images.map((l) => l.image).join("\n"));
        assert.equal(line.source, "chart traefik 41.3.0: image pinned in config/versions.ts");
        assert.ok(listed.notes.some((n) => n.startsWith("chart traefik 41.3.0 (platform-ingress-chart): not rendered") && n.endsWith("only its pinned images are listed")));
        const nginx = await synthStack("lab");
        assert.ok(!listImages(nginx, {}).images.some((l) => l.image.includes("traefik")));
    });

    it("a docker.io mirror moves Traefik's image, and npm run images lists what the nodes pull", async () => {
        const s = await synthStack("lab", withController("traefik", (raw) => (raw.images = { mirrors: { "docker.io": "mirror.example.com/hub" } })));
        const values = ingressChart(s).values as { image: { registry: string; repository: string; tag: string } };
        assert.deepEqual(values.image, { registry: "mirror.example.com/hub", repository: "library/traefik", tag: CHART_IMAGES.traefik.tag });
        const listed = listImages(s, renderCharts(s, { reason: "Helm rendering is off (--no-charts)" }, "1.35"));
        assert.ok(listed.images.some((l) => l.image === `mirror.example.com/hub/library/traefik:${CHART_IMAGES.traefik.tag}`), listed.images.map((l) => l.image).join("\n"));
    });

    for (const [from, to] of [["ingress-nginx", "traefik"], ["traefik", "ingress-nginx"]] as const) {
        it(`switching a running stack ${from} → ${to}: the chart and the two Ingress objects change in place, nothing is added or removed, nothing runs on a host`, async () => {
            for (const stack of ["lab", "dev"]) {
                const before = renderSynthesis(await synthStack(stack, withController(from)));
                const after = renderSynthesis(await synthStack(stack, withController(to)));
                const d = compareRenderings(stack, before, after);
                assert.deepEqual(d.added, [], stack);
                assert.deepEqual(d.removed, [], stack);
                assert.deepEqual(d.changed.map((c) => c.resource.name).sort(), ["platform-ingress-chart", "platform-registry-ingress", "platform-test-app-ingress"], stack);
                const n = nextUp(d);
                assert.deepEqual([n.firstRun, n.reRun, n.deleteRun], [[], [], []], stack);
                assert.deepEqual(nextUpLines(d), ["next up: no remote command runs"], stack);
            }
        });
    }
});
