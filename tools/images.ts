/**
 * `npm run images -- <stack> [--no-charts]`: every container image the stack will pull, for
 * mirroring into a site's own registry, offline:
 *  - kubeadm's images for the stack's Kubernetes version (config/versions.ts KUBEADM_IMAGES, the
 *    list the real kubeadm prints), from registry.k8s.io; with only a minor pinned, the control
 *    plane's tag is the newest patch when a node installs kubeadm, shown as v1.35.x;
 *  - the program's own workloads (registry, test app), from its manifests;
 *  - each chart's images, from the chart rendered as `npm run synth` renders it (tools/helmRender.ts);
 *    a chart that cannot be rendered here is named with the reason, its images not listed — except
 *    those the program pins in the chart's values (config/versions.ts CHART_IMAGES), always listed.
 * One image per line, then `# ` and where it comes from. AKS stacks list no kubeadm images (AKS
 * pulls its own system images). No digests: they cannot be looked up from here.
 */
import { parse } from "yaml";
import { CHART_IMAGES, chartImageReference, CHARTS, KUBEADM_IMAGES, KUBERNETES_VERSION } from "../config";
import { chartNotePath, chartObjectsDir, findHelm, renderCharts } from "./helmRender";
import { listStacks, readStackFile, synthesize, Synthesis, unwrapSecrets } from "./mockRuntime";
import { program } from "../stacks/program";

export interface ImageLine {
    readonly image: string;
    readonly source: string;
}

/** A reference as the container runtime resolves it: "registry:3" → "docker.io/library/registry:3". */
export function fullReference(image: string): string {
    const first = image.split("/")[0];
    const hasRegistry = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
    if (hasRegistry) {
        return image;
    }
    return `docker.io/${image.includes("/") ? image : `library/${image}`}`;
}

/** The Kubernetes version a kubeadm stack installs (prepare-node's K8S_VERSION), or undefined (AKS). */
export function kubeadmVersionOf(synthesis: Synthesis): string | undefined {
    for (const r of synthesis.resources.filter((x) => x.type === "command:remote:Command")) {
        const m = /^export K8S_VERSION='([0-9.]+)'$/m.exec(String(r.inputs.create ?? ""));
        if (m) {
            return m[1];
        }
    }
    return undefined;
}

export function kubeadmImages(version: string): ImageLine[] {
    const minor = version.split(".").slice(0, 2).join(".");
    const pinned = KUBEADM_IMAGES[minor];
    if (!pinned) {
        throw new Error(`no kubeadm image list for Kubernetes ${minor} in config/versions.ts KUBEADM_IMAGES`);
    }
    const exact = version.split(".").length === 3;
    const tag = exact ? `v${version}` : `v${minor}.x`;
    const source = exact ? "kubeadm: control plane" : `kubeadm: control plane (only the minor is pinned: the newest ${minor} patch when a node installs kubeadm)`;
    return [
        ...["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"].map((c) => ({ image: `registry.k8s.io/${c}:${tag}`, source })),
        { image: `registry.k8s.io/coredns/coredns:${pinned.coredns}`, source: "kubeadm: CoreDNS" },
        { image: `registry.k8s.io/pause:${pinned.pause}`, source: "kubeadm: pod sandbox (containerd's sandbox image too)" },
        { image: `registry.k8s.io/etcd:${pinned.etcd}`, source: "kubeadm: etcd" },
    ];
}

type PodSpec = { containers?: { image?: string }[]; initContainers?: { image?: string }[] };

/** Images of every pod template (or pod) in an object. */
function imagesOfObject(obj: { kind?: string; spec?: { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } & PodSpec }): string[] {
    const pod = obj.kind === "Pod" ? obj.spec : (obj.spec?.template?.spec ?? obj.spec?.jobTemplate?.spec?.template?.spec);
    return [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])].map((c) => c.image).filter((i): i is string => !!i);
}

/** The images the program pins in a Chart resource's values (config/versions.ts CHART_IMAGES), by
 * the chart it names: the pinned name, or a `charts.directory` archive `<chart>-<version>.tgz`. */
export function pinnedChartImages(chartInput: string): string[] {
    const pinned: Record<string, { registry: string; repository: string; tag: string }> = CHART_IMAGES;
    return Object.entries(CHARTS)
        .filter(([key, pin]) => pinned[key] && (chartInput === pin.chart || chartInput.endsWith(`/${pin.chart}-${pin.version}.tgz`)))
        .map(([key]) => chartImageReference(pinned[key]));
}

/** Every image of a stack: kubeadm's, the program's workloads', and the rendered charts' (pure). */
export function listImages(synthesis: Synthesis, chartFiles: Record<string, string>): { images: ImageLine[]; notes: string[] } {
    const lines: ImageLine[] = [];
    const notes: string[] = [];
    const version = kubeadmVersionOf(synthesis);
    if (version) {
        lines.push(...kubeadmImages(version));
    } else {
        notes.push("no kubeadm images: the cluster's nodes are not kubeadm's (AKS pulls its own system images)");
    }
    // Static pods the node scripts place (kube-vip, kubernetes.controlPlaneEndpoint mode "kube-vip"):
    // their manifest travels as the init step's KUBE_VIP_MANIFEST parameter.
    for (const r of synthesis.resources.filter((x) => x.type === "command:remote:Command")) {
        const manifest = /^export KUBE_VIP_MANIFEST='((?:[^']|'\\'')*)'$/m.exec(String(unwrapSecrets(r.inputs.create) ?? ""))?.[1].replace(/'\\''/g, "'");
        for (const image of manifest ? imagesOfObject(parse(manifest)) : []) {
            lines.push({ image: fullReference(image), source: "static pod: kube-system/kube-vip on every control plane" });
        }
    }
    for (const r of synthesis.resources.filter((x) => /^kubernetes:(apps|batch|core)\/v1:(Deployment|StatefulSet|DaemonSet|Job|CronJob|Pod)$/.test(x.type) && !x.read)) {
        const obj = unwrapSecrets(r.inputs) as Parameters<typeof imagesOfObject>[0] & { metadata?: { name?: string; namespace?: string } };
        obj.kind = r.type.split(":").pop();
        for (const image of imagesOfObject(obj)) {
            lines.push({ image: fullReference(image), source: `program: ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? r.name}` });
        }
    }
    for (const r of synthesis.resources.filter((x) => x.type.startsWith("kubernetes:helm.sh/") && x.type.endsWith(":Chart"))) {
        const what = `chart ${String(r.inputs.chart).split("/").pop()}${r.inputs.version ? ` ${r.inputs.version}` : ""}`;
        const pinned = pinnedChartImages(String(r.inputs.chart));
        lines.push(...pinned.map((image) => ({ image: fullReference(image), source: `${what}: image pinned in config/versions.ts` })));
        const note = chartFiles[chartNotePath(r.name)];
        if (note !== undefined) {
            notes.push(`${what} (${r.name}): ${note.split("\n")[0]}; ${pinned.length > 0 ? "only its pinned images are listed" : "its images are not listed"}`);
            continue;
        }
        for (const [file, text] of Object.entries(chartFiles).filter(([f]) => f.startsWith(`${chartObjectsDir(r.name)}/`))) {
            for (const image of imagesOfObject(parse(text))) {
                lines.push({ image: fullReference(image), source: `${what}: ${file.slice(chartObjectsDir(r.name).length + 1).replace(/\.yaml$/, "")}` });
            }
        }
    }
    // One line per image, its first source.
    const seen = new Map<string, ImageLine>();
    for (const line of lines) {
        if (!seen.has(line.image)) {
            seen.set(line.image, line);
        }
    }
    return { images: [...seen.values()], notes };
}

/** The listing as printed: images (padded), then notes as comments. */
export function formatImages(stack: string, listed: { images: ImageLine[]; notes: string[] }): string {
    const width = Math.max(0, ...listed.images.map((l) => l.image.length));
    return [
        `# images the stack ${stack} pulls (no digests: tags as pinned)`,
        ...listed.images.map((l) => `${l.image.padEnd(width)}  # ${l.source}`),
        ...listed.notes.map((n) => `# ${n}`),
    ].join("\n") + "\n";
}

async function main(): Promise<void> {
    const stack = process.argv[2];
    const charts = !process.argv.slice(3).includes("--no-charts");
    if (!stack || stack.startsWith("-")) {
        console.error(`usage: npm run images -- <stack> [--no-charts]   (stacks: ${listStacks().join(", ")})`);
        process.exit(2);
    }
    const { config, secretKeys } = readStackFile(stack);
    const synthesis = await synthesize(stack, config, secretKeys, program);
    const chartFiles = renderCharts(synthesis, findHelm({ build: charts }), KUBERNETES_VERSION);
    process.stdout.write(formatImages(stack, listImages(synthesis, chartFiles)));
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
    });
}
