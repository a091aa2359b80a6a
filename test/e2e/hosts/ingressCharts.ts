/**
 * Stand-ins of the two ingress controllers' charts, written under the pinned names and versions
 * (no chart repository can be reached here), shared by test/e2e/ingress-charts.test.ts (the
 * program's values rendered by the real Helm CLI) and the engine tests (`buildTestCharts` in
 * ./charts.ts packs them into `charts.directory`; test/e2e/engine-ingress-switch.test.ts runs
 * them under the real engine against a real API server). Their templates read exactly the value
 * paths the program sets, with the real charts' defaults for them:
 *  - ingress-nginx 4.15.0: charts/ingress-nginx/templates/controller-service.yaml (Service
 *    `<fullname>-controller`, `controller.service.type`, `.annotations`, `.nodePorts.http|https`
 *    set for NodePort and LoadBalancer, appProtocol http/https, targetPort the pod's named port,
 *    selector name + component: controller), controller-ingressclass.yaml
 *    (`controller.ingressClassResource.name|default`), controller-deployment.yaml (the pod's
 *    ports named after `controller.containerPort`, default {http: 80, https: 443}; its labels
 *    the Service's selector);
 *  - traefik 41.3.0 (traefik/traefik-helm-chart tag v41.3.0): templates/service.yaml and
 *    _service.tpl (name `service.nameOverride` or the fullname, `service.spec` as is,
 *    `service.annotations`, one port per `ports.<name>` with `expose.default`: port `exposedPort`,
 *    targetPort the port's name, `nodePort`), ingressclass.yaml (`ingressClass.name` or the
 *    fullname, controller traefik.io/ingress-controller, `isDefaultClass`), _helpers.tpl
 *    `traefik.image-name` (`image.registry`/`image.repository`:`image.tag`, defaults docker.io,
 *    traefik, appVersion), _podtemplate.tpl's container ports (one per `ports.<name>`, named so)
 *    and arguments for the values set (`--entryPoints.<name>.transport.respondingTimeouts.readTimeout`,
 *    `--providers.kubernetescrd`, `--providers.kubernetesingress.ingressendpoint.publishedservice`,
 *    `--global.checkNewVersion`), values.schema.json on the paths the program sets, and crds/
 *    (skipped by the program).
 * Object names are the real charts' for the program's values (fullnameOverride ingress-nginx /
 * traefik): Deployment `ingress-nginx-controller` / `traefik`, IngressClass `nginx` / `traefik`,
 * Service `ingress-nginx-controller` for both. Each map is file path → content, Chart.yaml included.
 */
import { CHARTS } from "../../../config";

export const INGRESS_NGINX_CHART: Readonly<Record<string, string>> = {
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
        "  containerPort: {http: 80, https: 443}",
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
        "  selector: {matchLabels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}}",
        "  template:",
        "    metadata: {labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}}",
        "    spec:",
        "      containers:",
        "        - name: controller",
        "          image: 'registry.k8s.io/ingress-nginx/controller:v{{ .Chart.AppVersion }}'",
        "          ports:",
        "          {{- range $name, $port := .Values.controller.containerPort }}",
        "            - {name: {{ $name }}, containerPort: {{ $port }}, protocol: TCP}",
        "          {{- end }}",
    ].join("\n") + "\n",
};

export const TRAEFIK_CHART: Readonly<Record<string, string>> = {
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
