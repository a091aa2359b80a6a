/**
 * Charts the engine tests build themselves: no chart repository can be reached here, so the
 * stack's `charts.directory` holds small stand-ins under the pinned names and versions
 * (`<chart>-<version>.tgz`, as `helm pull` saves them): Flannel's, and the two ingress
 * controllers' (./ingressCharts.ts, shared with test/e2e/ingress-charts.test.ts). MetalLB and
 * metrics-server have none: they are switched off in the engine stacks, which the README says;
 * the ingress controller too, except in engine-ingress-switch.test.ts. The Flannel stand-in keeps
 * what the program relies on: the release namespace, the `podCidr` and `flannel.args` values, and
 * a DaemonSet on every node (its rollout is what the Kubernetes provider waits for; kwok runs its
 * pods).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CHARTS } from "../../../config";
import { INGRESS_NGINX_CHART, TRAEFIK_CHART } from "./ingressCharts";

const FLANNEL_TEMPLATES: Record<string, string> = {
    "serviceaccount.yaml": `apiVersion: v1
kind: ServiceAccount
metadata:
  name: flannel
  namespace: {{ .Release.Namespace }}
`,
    "configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-flannel-cfg
  namespace: {{ .Release.Namespace }}
data:
  net-conf.json: |
    {"Network": "{{ .Values.podCidr }}", "Backend": {"Type": "vxlan"}}
`,
    "daemonset.yaml": `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: {{ .Release.Namespace }}
  labels: {app: flannel}
spec:
  selector:
    matchLabels: {app: flannel}
  template:
    metadata:
      labels: {app: flannel}
    spec:
      serviceAccountName: flannel
      hostNetwork: true
      priorityClassName: system-node-critical
      tolerations: [{operator: Exists, effect: NoSchedule}]
      containers:
        - name: kube-flannel
          image: ghcr.io/flannel-io/flannel:{{ .Chart.AppVersion }}
          command: ["/opt/bin/flanneld"]
          args:
{{- range .Values.flannel.args }}
            - {{ . | quote }}
{{- end }}
`,
};

const FLANNEL_CHART: Readonly<Record<string, string>> = {
    "Chart.yaml": `apiVersion: v2\nname: ${CHARTS.flannel.chart}\nversion: ${CHARTS.flannel.version}\nappVersion: ${CHARTS.flannel.version}\ndescription: engine-test stand-in for the ${CHARTS.flannel.chart} chart\n`,
    "values.yaml": `podCidr: 10.244.0.0/16\nflannel:\n  args: ["--ip-masq", "--kube-subnet-mgr"]\n`,
    ...Object.fromEntries(Object.entries(FLANNEL_TEMPLATES).map(([file, text]) => [`templates/${file}`, text])),
};

/** Writes `files` (path → content) as chart `name` under `dir`/src and packs it as `dir`/<name>-<version>.tgz. */
function packChart(dir: string, name: string, version: string, files: Readonly<Record<string, string>>): void {
    const src = path.join(dir, "src", name);
    for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
        fs.writeFileSync(path.join(src, file), text);
    }
    const tar = spawnSync("tar", ["-C", path.join(dir, "src"), "-czf", path.join(dir, `${name}-${version}.tgz`), name], { encoding: "utf8" });
    if (tar.status !== 0) {
        throw new Error(`tar: ${tar.stderr}`);
    }
}

/** Writes the stand-in charts (Flannel, ingress-nginx, Traefik) into `dir` and returns it (for `charts.directory`). */
export function buildTestCharts(dir: string): string {
    for (const [pin, files] of [[CHARTS.flannel, FLANNEL_CHART], [CHARTS.ingressNginx, INGRESS_NGINX_CHART], [CHARTS.traefik, TRAEFIK_CHART]] as const) {
        packChart(dir, pin.chart, pin.version, files);
    }
    return dir;
}
