/**
 * Renders the stack's Helm charts offline, the way pulumi-kubernetes' `helm.v4.Chart` does at
 * `pulumi up`, so `npm run synth` and `synth:diff` show the objects a chart upgrade or a values
 * change adds, changes and removes (the first `pulumi preview` of a stack cannot: its kubeconfig
 * is unknown then, and a Chart with unknown inputs previews as an empty component).
 *
 * How Chart v4 renders (pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go, the provider of
 * @pulumi/kubernetes 4.34): `helm template` semantics through helm.sh/helm/v3's action package —
 *   cmd.ClientOnly = true; cmd.DryRun = true
 *   cmd.IncludeCRDs = !chartArgs.SkipCrds
 *   cmd.DisableHooks = true
 *   cmd.ReleaseName = chartArgs.Name      (default: the resource name)
 *   cmd.Namespace = chartArgs.Namespace
 * and, with a cluster at hand, KubeVersion and APIVersions from its discovery
 * (setKubeVersionAndAPIVersions). Afterwards provideryamlv2.Normalize gives namespaced objects
 * without a namespace the chart's namespace. Here: `helm template <name> <chart> --namespace
 * <ns> --no-hooks [--include-crds] --kube-version <the stack's version>`, with the Helm CLI of
 * the same major (tools/helm, built from its Go module), and Helm's built-in API versions (no
 * cluster to ask: a chart that probes for an API the cluster has may render differently).
 *
 * A chart from a repository needs the network; from `charts.directory` it does not. When the
 * chart cannot be had, the output says so and the chart shows as its inputs (version, values).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments, stringify } from "yaml";
import { maskSecrets, Synthesis } from "./mockRuntime";

const ROOT = path.resolve(__dirname, "..");

/** Kinds without a namespace: Normalize leaves them alone (it asks the cluster; these are the built-in ones). */
const CLUSTER_SCOPED = new Set([
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "IngressClass",
    "PriorityClass", "StorageClass", "CSIDriver", "CSINode", "RuntimeClass", "APIService", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "VolumeAttachment",
]);

/** Where a chart's rendered objects go, relative to out/<stack>/. */
export const chartObjectsDir = (chartResource: string): string => `charts/${chartResource}.rendered`;
/** The note written instead when the chart could not be rendered. */
export const chartNotePath = (chartResource: string): string => `charts/${chartResource}.not-rendered.txt`;

/**
 * The Helm CLI: $K8SP_HELM, or the one tools/helm/build.sh builds (once, cached, flock-guarded;
 * a cold build takes minutes). Undefined, with the reason, when it cannot be had.
 */
export function findHelm(opts: { build?: boolean } = {}): { helm?: string; reason?: string } {
    if (process.env.K8SP_HELM) {
        return { helm: process.env.K8SP_HELM };
    }
    if (spawnSync("go", ["version"], { encoding: "utf8" }).status !== 0) {
        return { reason: "Go is not installed, so Helm cannot be built from its module (tools/helm)" };
    }
    if (opts.build === false) {
        return { reason: "Helm rendering is off (--no-charts)" };
    }
    const built = spawnSync("bash", [path.join(ROOT, "tools", "helm", "build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const helm = built.stdout.trim().split("\n").pop();
    return built.status === 0 && helm ? { helm } : { reason: `building Helm failed (tools/helm/build.sh exit ${built.status})` };
}

export interface ChartSource {
    /** The Chart resource's name (files are named after it). */
    readonly resource: string;
    readonly inputs: Record<string, unknown>;
}

/** The `helm template` arguments for one Chart resource's inputs (pure). */
export function templateArgs(source: ChartSource, kubeVersion: string, valuesFile: string): string[] {
    const i = source.inputs as { name?: string; chart: string; version?: string; repositoryOpts?: { repo?: string }; namespace?: string; skipCrds?: boolean };
    return [
        "template",
        i.name ?? source.resource,
        i.chart,
        ...(i.repositoryOpts?.repo ? ["--repo", i.repositoryOpts.repo] : []),
        ...(i.version ? ["--version", i.version] : []),
        ...(i.namespace ? ["--namespace", i.namespace] : []),
        "--no-hooks",
        ...(i.skipCrds ? [] : ["--include-crds"]),
        "--kube-version",
        kubeVersion.startsWith("v") ? kubeVersion : `v${kubeVersion}`,
        "--values",
        valuesFile,
    ];
}

/** One file per object of a rendered manifest, namespaced as Chart v4 namespaces it (pure). */
export function objectFiles(resource: string, manifest: string, namespace: string | undefined): Record<string, string> {
    const files: Record<string, string> = {};
    for (const doc of parseAllDocuments(manifest)) {
        const obj = doc.toJSON() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
        if (!obj?.kind) {
            continue;
        }
        obj.metadata = obj.metadata ?? {};
        if (!obj.metadata.namespace && namespace && !CLUSTER_SCOPED.has(obj.kind)) {
            obj.metadata.namespace = namespace;
        }
        const ns = obj.metadata.namespace ?? "_cluster";
        files[`${chartObjectsDir(resource)}/${obj.kind}.${ns}.${obj.metadata.name ?? "unnamed"}.yaml`] = stringify(obj);
    }
    return files;
}

/** Renders one chart: its objects' files, or a note saying why not. */
export function renderChart(helm: string, source: ChartSource, kubeVersion: string): Record<string, string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-helm-"));
    try {
        const values = path.join(dir, "values.json");
        // Masked secrets render as "[secret]", as in the rest of synth's output.
        fs.writeFileSync(values, JSON.stringify(maskSecrets(source.inputs.values ?? {})));
        // Helm's own state (repository cache, config) in a throwaway place, never the user's.
        const env = { ...process.env, HELM_CACHE_HOME: path.join(dir, "cache"), HELM_CONFIG_HOME: path.join(dir, "config"), HELM_DATA_HOME: path.join(dir, "data") };
        const run = spawnSync(helm, templateArgs(source, kubeVersion, values), { encoding: "utf8", env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
        if (run.status === 0) {
            return objectFiles(source.resource, run.stdout, source.inputs.namespace as string | undefined);
        }
        const why = (run.error?.message ?? run.stderr).split(dir).join("<tmp>").trim().split("\n")[0];
        const repo = (source.inputs.repositoryOpts as { repo?: string } | undefined)?.repo;
        const what = repo ? `the chart could not be fetched from ${repo} (no network?)` : `the chart ${source.inputs.chart} could not be rendered`;
        return { [chartNotePath(source.resource)]: `not rendered: ${what}\nhelm: ${why}\nShown as its inputs only: charts/${source.resource}.yaml\n` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The Kubernetes version charts are rendered for: the stack's (from prepare-node's K8S_VERSION), else `fallback`. */
export function kubeVersionOf(synthesis: Synthesis, fallback: string): string {
    for (const r of synthesis.resources) {
        const m = /^export K8S_VERSION='([0-9.]+)'$/m.exec(String(r.inputs.create ?? ""));
        if (m) {
            return m[1].split(".").length === 2 ? `${m[1]}.0` : m[1];
        }
    }
    return fallback.split(".").length === 2 ? `${fallback}.0` : fallback;
}

/** Every chart of a synthesis, rendered (or a note per chart), path → content. */
export function renderCharts(synthesis: Synthesis, helm: { helm?: string; reason?: string }, fallbackVersion: string): Record<string, string> {
    const files: Record<string, string> = {};
    const kubeVersion = kubeVersionOf(synthesis, fallbackVersion);
    for (const r of synthesis.resources.filter((x) => x.type.startsWith("kubernetes:helm.sh/") && x.type.endsWith(":Chart"))) {
        Object.assign(
            files,
            helm.helm
                ? renderChart(helm.helm, { resource: r.name, inputs: r.inputs }, kubeVersion)
                : { [chartNotePath(r.name)]: `not rendered: ${helm.reason}\nShown as its inputs only: charts/${r.name}.yaml\n` },
        );
    }
    return files;
}
