/**
 * The program's values for either ingress controller, rendered by the real Helm CLI (tools/helm,
 * built from its Go module) as Pulumi's Chart v4 renders them (tools/helmRender.ts), from
 * `charts.directory`. The charts cannot be fetched here, so this test writes two small charts
 * under the pinned names and versions whose templates read exactly the value paths the program
 * sets, with the real charts' defaults for them:
 *  - ingress-nginx 4.15.0: charts/ingress-nginx/templates/controller-service.yaml (Service
 *    `<fullname>-controller`, `controller.service.type`, `.annotations`, `.nodePorts.http|https`
 *    set for NodePort and LoadBalancer, appProtocol http/https), controller-ingressclass.yaml
 *    (`controller.ingressClassResource.name|default`);
 *  - traefik 41.3.0 (traefik/traefik-helm-chart tag v41.3.0): templates/service.yaml and
 *    _service.tpl (name `service.nameOverride` or the fullname, `service.spec` as is,
 *    `service.annotations`, one port per `ports.<name>` with `expose.default`: port `exposedPort`,
 *    targetPort the port's name, `nodePort`), ingressclass.yaml (`ingressClass.name` or the
 *    fullname, controller traefik.io/ingress-controller, `isDefaultClass`), _helpers.tpl
 *    `traefik.image-name` (`image.registry`/`image.repository`:`image.tag`, defaults docker.io,
 *    traefik, appVersion), _podtemplate.tpl's arguments for the values set
 *    (`--entryPoints.<name>.transport.respondingTimeouts.readTimeout`, `--providers.kubernetescrd`,
 *    `--providers.kubernetesingress.ingressendpoint.publishedservice`, `--global.checkNewVersion`),
 *    and crds/ (skipped by the program).
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
import { onPath } from "./tools";

const helm = onPath("helm");

const INGRESS_NGINX: Record<string, string> = {
    "Chart.yaml": `apiVersion: v2\nname: ingress-nginx\nversion: ${CHARTS.ingressNginx.version}\nappVersion: 1.15.0\n`,
    "values.yaml": [
        "fullnameOverride: ''",
        "controller:",
        "  ingressClassResource: {name: nginx, enabled: true, default: false}",
        "  service:",
        "    type: LoadBalancer",
        "    annotations: {}",
        "    appProtocol: true",
        "    ports: {http: 80, https: 443}",
        "    targetPorts: {http: http, https: https}",
        "    nodePorts: {http: '', https: ''}",
    ].join("\n") + "\n",
    "templates/_helpers.tpl": '{{- define "fullname" -}}{{ .Values.fullnameOverride | default (printf "%s-ingress-nginx" .Release.Name) }}{{- end -}}\n',
    "templates/controller-service.yaml": [
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        '  name: {{ include "fullname" . }}-controller',
        "  namespace: {{ .Release.Namespace }}",
        "  annotations: {{ toJson .Values.controller.service.annotations }}",
        "spec:",
        "  type: {{ .Values.controller.service.type }}",
        '  {{- $setNodePorts := or (eq .Values.controller.service.type "NodePort") (eq .Values.controller.service.type "LoadBalancer") }}',
        "  ports:",
        "    {{- range $name := list \"http\" \"https\" }}",
        "    - name: {{ $name }}",
        "      port: {{ index $.Values.controller.service.ports $name }}",
        "      protocol: TCP",
        "      targetPort: {{ index $.Values.controller.service.targetPorts $name }}",
        "      {{- if $.Values.controller.service.appProtocol }}",
        "      appProtocol: {{ $name }}",
        "      {{- end }}",
        "      {{- if and $setNodePorts (not (empty (index $.Values.controller.service.nodePorts $name))) }}",
        "      nodePort: {{ index $.Values.controller.service.nodePorts $name }}",
        "      {{- end }}",
        "    {{- end }}",
        "  selector: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}",
    ].join("\n") + "\n",
    "templates/controller-ingressclass.yaml": [
        "{{- if .Values.controller.ingressClassResource.enabled }}",
        "apiVersion: networking.k8s.io/v1",
        "kind: IngressClass",
        "metadata:",
        "  name: {{ .Values.controller.ingressClassResource.name }}",
        "  {{- if .Values.controller.ingressClassResource.default }}",
        '  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}',
        "  {{- end }}",
        "spec: {controller: k8s.io/ingress-nginx}",
        "{{- end }}",
    ].join("\n") + "\n",
    "templates/controller-deployment.yaml": [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: {name: '{{ include \"fullname\" . }}-controller'}",
        "spec:",
        "  selector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}",
        "  template:",
        "    metadata: {labels: {app.kubernetes.io/name: ingress-nginx}}",
        "    spec: {containers: [{name: controller, image: 'registry.k8s.io/ingress-nginx/controller:v{{ .Chart.AppVersion }}'}]}",
    ].join("\n") + "\n",
};

const TRAEFIK: Record<string, string> = {
    "Chart.yaml": `apiVersion: v2\nname: traefik\nversion: ${CHARTS.traefik.version}\nappVersion: v3.7.11\n`,
    "values.yaml": [
        "image: {registry: null, repository: null, tag: null}",
        "fullnameOverride: ''",
        "global: {checkNewVersion: true, sendAnonymousUsage: false}",
        "ingressClass: {enabled: true, isDefaultClass: true, name: ''}",
        "providers:",
        "  kubernetesCRD: {enabled: true}",
        "  kubernetesIngress: {enabled: true, publishedService: {enabled: true, pathOverride: ''}}",
        "ports:",
        "  traefik: {port: 8080, expose: {default: false}, exposedPort: 8080, protocol: TCP}",
        "  web: {port: 8000, expose: {default: true}, exposedPort: 80, protocol: TCP, nodePort: null, transport: {respondingTimeouts: {readTimeout: null}}}",
        "  websecure: {port: 8443, expose: {default: true}, exposedPort: 443, protocol: TCP, nodePort: null, transport: {respondingTimeouts: {readTimeout: null}}}",
        "service: {nameOverride: '', annotations: {}, spec: {type: LoadBalancer}}",
        "securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}",
        "podSecurityContext: {runAsGroup: 65532, runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}",
    ].join("\n") + "\n",
    "templates/_helpers.tpl": '{{- define "fullname" -}}{{ .Values.fullnameOverride | default (printf "%s-traefik" .Release.Name) }}{{- end -}}\n',
    "templates/service.yaml": [
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        '  name: {{ .Values.service.nameOverride | default (include "fullname" .) }}',
        "  namespace: {{ .Release.Namespace }}",
        "  annotations: {{ toJson .Values.service.annotations }}",
        "spec:",
        "  {{- toYaml .Values.service.spec | nindent 2 }}",
        "  selector: {app.kubernetes.io/name: traefik}",
        "  ports:",
        "  {{- range $name, $p := .Values.ports }}",
        "  {{- if $p.expose.default }}",
        "    - name: {{ $name }}",
        "      port: {{ $p.exposedPort }}",
        "      targetPort: {{ $name }}",
        "      protocol: {{ $p.protocol }}",
        "      {{- if $p.nodePort }}",
        "      nodePort: {{ $p.nodePort }}",
        "      {{- end }}",
        "  {{- end }}",
        "  {{- end }}",
    ].join("\n") + "\n",
    "templates/ingressclass.yaml": [
        "{{- if .Values.ingressClass.enabled }}",
        "apiVersion: networking.k8s.io/v1",
        "kind: IngressClass",
        "metadata:",
        "  annotations: {ingressclass.kubernetes.io/is-default-class: {{ .Values.ingressClass.isDefaultClass | quote }}}",
        '  name: {{ .Values.ingressClass.name | default (include "fullname" .) }}',
        "spec: {controller: traefik.io/ingress-controller}",
        "{{- end }}",
    ].join("\n") + "\n",
    "templates/deployment.yaml": [
        "apiVersion: apps/v1",
        "kind: Deployment",
        'metadata: {name: {{ include "fullname" . }}}',
        "spec:",
        "  selector: {matchLabels: {app.kubernetes.io/name: traefik}}",
        "  template:",
        "    metadata: {labels: {app.kubernetes.io/name: traefik}}",
        "    spec:",
        "      securityContext: {{ toJson .Values.podSecurityContext }}",
        "      containers:",
        "        - name: traefik",
        '          image: {{ .Values.image.registry | default "docker.io" }}/{{ .Values.image.repository | default "traefik" }}:{{ .Values.image.tag | default .Chart.AppVersion }}',
        "          securityContext: {{ toJson .Values.securityContext }}",
        "          ports:",
        "          {{- range $name, $p := .Values.ports }}",
        "            - {name: {{ $name }}, containerPort: {{ $p.port }}}",
        "          {{- end }}",
        "          args:",
        "          {{- if not .Values.global.checkNewVersion }}",
        '            - "--global.checkNewVersion=false"',
        "          {{- end }}",
        "          {{- range $name, $p := .Values.ports }}",
        '            - "--entryPoints.{{ $name }}.address=:{{ $p.port }}/tcp"',
        "            {{- with ($p.transport).respondingTimeouts }}",
        "            {{- if and (ne .readTimeout nil) (toString .readTimeout) }}",
        '            - "--entryPoints.{{ $name }}.transport.respondingTimeouts.readTimeout={{ .readTimeout }}"',
        "            {{- end }}",
        "            {{- end }}",
        "          {{- end }}",
        "          {{- if .Values.providers.kubernetesCRD.enabled }}",
        '            - "--providers.kubernetescrd"',
        "          {{- end }}",
        "          {{- if .Values.providers.kubernetesIngress.enabled }}",
        '            - "--providers.kubernetesingress"',
        "            {{- if .Values.providers.kubernetesIngress.publishedService.enabled }}",
        '            - "--providers.kubernetesingress.ingressendpoint.publishedservice={{ .Values.providers.kubernetesIngress.publishedService.pathOverride | default (printf "%s/%s" .Release.Namespace (include "fullname" .)) }}"',
        "            {{- end }}",
        "          {{- end }}",
    ].join("\n") + "\n",
    // values.schema.json: the real chart's constraints (v41.3.0 traefik/values.schema.json) on the
    // paths the program sets, written out here: no other key under image, ingressClass, providers,
    // providers.kubernetesCRD/kubernetesIngress or a port; node ports integers >= 0; read timeouts
    // a string, an integer or null. Helm checks the values against it before rendering.
    "values.schema.json": JSON.stringify({
        type: "object",
        properties: {
            image: { type: "object", additionalProperties: false, properties: { registry: { type: ["string", "null"] }, repository: { type: ["string", "null"] }, tag: { type: ["string", "null"] }, digest: { type: ["string", "null"] }, pullPolicy: { type: "string" } } },
            ingressClass: { type: "object", additionalProperties: false, properties: { enabled: { type: "boolean" }, isDefaultClass: { type: "boolean" }, name: { type: "string" } } },
            providers: {
                type: "object",
                additionalProperties: false,
                properties: {
                    kubernetesCRD: { type: "object", additionalProperties: false, properties: { enabled: { type: "boolean" } } },
                    kubernetesIngress: {
                        type: "object",
                        additionalProperties: false,
                        properties: { enabled: { type: "boolean" }, publishedService: { type: "object", properties: { enabled: { type: "boolean" }, pathOverride: { type: "string" } } } },
                    },
                },
            },
            ports: {
                type: "object",
                additionalProperties: {
                    type: "object",
                    additionalProperties: false,
                    properties: {
                        port: { type: "integer" },
                        expose: { type: "object", properties: { default: { type: "boolean" } } },
                        exposedPort: { type: "integer" },
                        protocol: { type: "string" },
                        nodePort: { type: ["integer", "null"], minimum: 0 },
                        transport: { type: "object", properties: { respondingTimeouts: { type: "object", properties: { readTimeout: { type: ["string", "integer", "null"] } } } } },
                    },
                },
            },
            service: { type: "object", properties: { nameOverride: { type: ["string", "null"] }, annotations: { type: "object" }, spec: { type: "object" } } },
        },
    }),
    "crds/middlewares.yaml":
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: middlewares.traefik.io}\nspec:\n  group: traefik.io\n  names: {kind: Middleware, plural: middlewares}\n  scope: Namespaced\n  versions: [{name: v1alpha1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n",
};

function packageChart(root: string, name: string, files: Record<string, string>, out: string): void {
    const dir = path.join(root, "src", name);
    for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
    }
    const packaged = spawnSync(helm!, ["package", dir, "--destination", out], { encoding: "utf8" });
    assert.equal(packaged.status, 0, packaged.stderr);
}

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
        packageChart(root, "ingress-nginx", INGRESS_NGINX, archives);
        packageChart(root, "traefik", TRAEFIK, archives);
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
