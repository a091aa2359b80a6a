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
 * pulls its own system images). No digests but the charts' own: they cannot be looked up from here.
 * With `images` mirrors configured every reference is the one the nodes pull: kubeadm's from the
 * rendered ClusterConfiguration's imageRepository, the rest as the manifests and chart values name
 * them (config/images.ts imageFor). Each line says where its original comes from, so a mirror is
 * filled with one copy per line (`crane copy <source> <line>`).
 */
import { parse, parseAllDocuments } from "yaml";
import { CHART_IMAGES, chartImageReference, CHARTS, fullReference, IMAGE_SOURCES, imageFor, ImageMirrors, ImageSource, KUBEADM_IMAGES, KUBERNETES_VERSION, PROJECT, splitReference } from "../config";
import { chartNotePath, chartObjectsDir, findHelm, renderCharts } from "./helmRender";
import { listStacks, readStackFile, synthesize, Synthesis, unwrapSecrets } from "./mockRuntime";
import { program } from "../stacks/program";

export interface ImageLine {
    readonly image: string;
    readonly source: string;
    /** The upstream reference a mirror copies it from (only for a reference under a mirror). */
    readonly copyFrom?: string;
    /** Its source registry has a mirror configured, yet it is pulled from the source: a value the
     * program does not rewrite (the site must allow that pull, or the program be fixed). */
    readonly notMirrored?: boolean;
}

/**
 * Marks each line against the configured mirrors: a reference under a mirror gets the upstream
 * reference it is copied from, found among the stack's references rendered without mirrors
 * (`originals`; with one `images.registry` for every source, `<registry>/library/x` could be
 * docker.io's or another source's: the original rendering says which); a reference still on a
 * mirrored source is flagged.
 */
export function annotateMirrors(listed: { images: ImageLine[]; notes: string[] }, mirrors: ImageMirrors, originals: readonly string[]): { images: ImageLine[]; notes: string[] } {
    const known = new Set(originals.map(fullReference));
    const images = listed.images.map((line) => {
        const candidates = IMAGE_SOURCES.filter((s) => mirrors[s] && line.image.startsWith(`${mirrors[s]}/`)).map((s) => `${s}/${line.image.slice(mirrors[s]!.length + 1)}`);
        const copyFrom = candidates.find((c) => known.has(c)) ?? (candidates.length === 1 ? candidates[0] : undefined);
        if (copyFrom) return { ...line, copyFrom };
        const registry = splitReference(line.image).registry as ImageSource;
        return mirrors[registry] ? { ...line, notMirrored: true } : line;
    });
    const missed = images.filter((l) => l.notMirrored).length;
    return { images, notes: [...listed.notes, ...(missed > 0 ? [`${missed} image(s) marked NOT MIRRORED are pulled from a source that has a mirror configured`] : [])] };
}

export { fullReference };

/** kubeadm's image repositories as the rendered ClusterConfiguration sets them (`imageRepository`,
 * `dns.imageRepository`), from `kubeadm init`'s KUBEADM_CONFIG; empty when it sets none. */
export interface KubeadmRepositories {
    readonly imageRepository?: string;
    readonly dnsImageRepository?: string;
}

export function kubeadmRepositoriesOf(synthesis: Synthesis): KubeadmRepositories {
    for (const r of synthesis.resources.filter((x) => x.type === "command:remote:Command")) {
        const m = /^export KUBEADM_CONFIG='((?:[^']|'\\'')*)'$/m.exec(String(unwrapSecrets(r.inputs.create) ?? ""));
        if (!m) continue;
        for (const doc of parseAllDocuments(m[1].split("'\\''").join("'"))) {
            const obj = doc.toJSON() as { kind?: string; imageRepository?: string; dns?: { imageRepository?: string } } | null;
            if (obj?.kind === "ClusterConfiguration") {
                return { imageRepository: obj.imageRepository, dnsImageRepository: obj.dns?.imageRepository };
            }
        }
    }
    return {};
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

/**
 * kubeadm's images for a version and repositories, named as kubeadm names them
 * (cmd/kubeadm/app/images/images.go at v1.35.4: `<imageRepository>/<name>:<tag>`; CoreDNS under
 * dns.imageRepository, else imageRepository, and `/coredns` appended only for registry.k8s.io itself).
 */
export function kubeadmImages(version: string, repositories: KubeadmRepositories = {}): ImageLine[] {
    const minor = version.split(".").slice(0, 2).join(".");
    const pinned = KUBEADM_IMAGES[minor];
    if (!pinned) {
        throw new Error(`no kubeadm image list for Kubernetes ${minor} in config/versions.ts KUBEADM_IMAGES`);
    }
    const exact = version.split(".").length === 3;
    const tag = exact ? `v${version}` : `v${minor}.x`;
    const source = exact ? "kubeadm: control plane" : `kubeadm: control plane (only the minor is pinned: the newest ${minor} patch when a node installs kubeadm)`;
    const repo = repositories.imageRepository ?? "registry.k8s.io";
    const dnsRepo = repositories.dnsImageRepository ?? repo;
    const mirrored = repo === "registry.k8s.io" ? "" : ` (mirror of registry.k8s.io)`;
    return [
        ...["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"].map((c) => ({ image: `${repo}/${c}:${tag}`, source: source + mirrored })),
        { image: `${dnsRepo === "registry.k8s.io" ? "registry.k8s.io/coredns" : dnsRepo}/coredns:${pinned.coredns}`, source: `kubeadm: CoreDNS${mirrored}` },
        { image: `${repo}/pause:${pinned.pause}`, source: `kubeadm: pod sandbox (containerd's sandbox image too)${mirrored}` },
        { image: `${repo}/etcd:${pinned.etcd}`, source: `kubeadm: etcd${mirrored}` },
    ];
}

type PodSpec = { containers?: { image?: string }[]; initContainers?: { image?: string }[] };

/** Images of every pod template (or pod) in an object. */
function imagesOfObject(obj: { kind?: string; spec?: { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } & PodSpec }): string[] {
    const pod = obj.kind === "Pod" ? obj.spec : (obj.spec?.template?.spec ?? obj.spec?.jobTemplate?.spec?.template?.spec);
    return [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])].map((c) => c.image).filter((i): i is string => !!i);
}

/** The images the program pins in a Chart resource's values (config/versions.ts CHART_IMAGES), by
 * the chart it names: the pinned name, or a `charts.directory` archive `<chart>-<version>.tgz`;
 * onto the stack's mirrors as the values name them (components/render/ingress.ts traefikImage). */
export function pinnedChartImages(chartInput: string, mirrors: ImageMirrors = {}): string[] {
    const pinned: Record<string, { registry: string; repository: string; tag: string }> = CHART_IMAGES;
    return Object.entries(CHARTS)
        .filter(([key, pin]) => pinned[key] && (chartInput === pin.chart || chartInput.endsWith(`/${pin.chart}-${pin.version}.tgz`)))
        .map(([key]) => imageFor(fullReference(chartImageReference(pinned[key])), mirrors));
}

/** Every image of a stack: kubeadm's, the program's workloads', and the rendered charts' (pure). */
export function listImages(synthesis: Synthesis, chartFiles: Record<string, string>): { images: ImageLine[]; notes: string[] } {
    const lines: ImageLine[] = [];
    const notes: string[] = [];
    const version = kubeadmVersionOf(synthesis);
    if (version) {
        lines.push(...kubeadmImages(version, kubeadmRepositoriesOf(synthesis)));
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
        const pinned = pinnedChartImages(String(r.inputs.chart), mirrorsOf(synthesis));
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

/** The mirrors a synthesized stack was configured with, from its nodes' IMAGE_MIRRORS, as image
 * references start: a plain-HTTP mirror's "http://" (containerd's alone) is dropped. */
export function mirrorsOf(synthesis: Synthesis): ImageMirrors {
    for (const r of synthesis.resources.filter((x) => x.type === "command:remote:Command")) {
        const m = /^export IMAGE_MIRRORS='([^']*)'$/m.exec(String(unwrapSecrets(r.inputs.create) ?? ""));
        if (m) {
            const words = m[1].split(" ").filter((w) => w.includes("="));
            return Object.fromEntries(words.map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1).replace(/^http:\/\//, "")]));
        }
    }
    return {};
}

/** The listing as printed: images (padded), then notes as comments. */
export function formatImages(stack: string, listed: { images: ImageLine[]; notes: string[] }): string {
    const width = Math.max(0, ...listed.images.map((l) => l.image.length));
    return [
        `# images the stack ${stack} pulls (tags as pinned; digests only where a chart pins them)`,
        ...listed.images.map((l) => `${l.image.padEnd(width)}  # ${l.source}${l.copyFrom ? `; copy from ${l.copyFrom}` : ""}${l.notMirrored ? "; NOT MIRRORED" : ""}`),
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
    const helm = findHelm({ build: charts });
    const listed = listImages(synthesis, renderCharts(synthesis, helm, KUBERNETES_VERSION));
    const imagesKey = `${PROJECT}:images`;
    if (config[imagesKey] === undefined) {
        process.stdout.write(formatImages(stack, listed));
        return;
    }
    // The same stack without mirrors names the upstream reference of each mirrored one.
    const upstream = Object.fromEntries(Object.entries(config).filter(([k]) => k !== imagesKey));
    const plain = await synthesize(stack, upstream, secretKeys, program);
    const originals = listImages(plain, renderCharts(plain, helm, KUBERNETES_VERSION)).images.map((l) => l.image);
    process.stdout.write(formatImages(stack, annotateMirrors(listed, mirrorsOf(synthesis), originals)));
}

if (require.main === module) {
    main().catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
    });
}
