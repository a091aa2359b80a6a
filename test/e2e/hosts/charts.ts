/**
 * Charts the engine tests build themselves: no chart repository can be reached here, so the
 * stack's `charts.directory` holds small stand-ins under the pinned names and versions
 * (`<chart>-<version>.tgz`, as `helm pull` saves them). Only Flannel's is made: the other
 * chart-based add-ons (ingress-nginx, MetalLB, metrics-server) are switched off in the engine
 * stacks, which the README says. The stand-in keeps what the program relies on: the release
 * namespace, the `podCidr` and `flannel.args` values, and a DaemonSet on every node (its rollout
 * is what the Kubernetes provider waits for; kwok runs its pods).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CHARTS } from "../../../config";

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

/** Writes the stand-in charts into `dir` and returns it (for `charts.directory`). */
export function buildTestCharts(dir: string): string {
    const { chart, version } = CHARTS.flannel;
    const src = path.join(dir, "src", chart);
    fs.mkdirSync(path.join(src, "templates"), { recursive: true });
    fs.writeFileSync(path.join(src, "Chart.yaml"), `apiVersion: v2\nname: ${chart}\nversion: ${version}\nappVersion: ${version}\ndescription: engine-test stand-in for the ${chart} chart\n`);
    fs.writeFileSync(path.join(src, "values.yaml"), `podCidr: 10.244.0.0/16\nflannel:\n  args: ["--ip-masq", "--kube-subnet-mgr"]\n`);
    for (const [file, text] of Object.entries(FLANNEL_TEMPLATES)) {
        fs.writeFileSync(path.join(src, "templates", file), text);
    }
    const tar = spawnSync("tar", ["-C", path.join(dir, "src"), "-czf", path.join(dir, `${chart}-${version}.tgz`), chart], { encoding: "utf8" });
    if (tar.status !== 0) {
        throw new Error(`tar: ${tar.stderr}`);
    }
    return dir;
}
