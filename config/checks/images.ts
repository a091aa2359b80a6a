import { closest, configKey as k, Problems } from "../errors";
import { IMAGE_SOURCES, ImageMirrors, ImageSource } from "../images";
import { Raw, show } from "../schema";

/**
 * `images`: the mirror of each source registry. `images.registry` mirrors every source; an entry
 * of `images.mirrors` overrides it for its source. A mirror key must be one of the sources the
 * stack pulls from (a typo would silently leave that source unmirrored). Not on AKS: its nodes
 * are Azure's, their containerd and system images are not the program's to point elsewhere.
 * Nor on the in-cluster registry (`registry.<domain>`): it runs on the cluster whose images it
 * would have to serve first.
 */
export function resolveImages(raw: Raw, registryEnabled: boolean, problems: Problems): { mirrors: ImageMirrors } {
    const mirrors: Partial<Record<ImageSource, string>> = {};
    for (const source of IMAGE_SOURCES) {
        const mirror = raw.images.mirrors[source] ?? raw.images.registry;
        if (mirror) mirrors[source] = mirror;
    }
    for (const key of Object.keys(raw.images.mirrors).filter((s) => !(IMAGE_SOURCES as readonly string[]).includes(s))) {
        const guess = closest(key, IMAGE_SOURCES);
        problems.push(
            `${k(`images.mirrors.${key}`)}: ${show(key)} is not a source registry the stack pulls from${guess ? ` (did you mean "${guess}"?)` : ""}; allowed keys: ${IMAGE_SOURCES.join(", ")}`,
        );
    }
    const configured = raw.images.registry !== undefined || Object.keys(raw.images.mirrors).length > 0;
    if (configured && raw.infra.provider === "aks") {
        problems.push(`${k("images")}: mirrors are for kubeadm stacks; AKS nodes pull their system images through Azure (import the charts' images into ACR instead); remove images`);
    }
    const inCluster = `registry.${raw.domain}`;
    for (const [source, mirror] of Object.entries(mirrors)) {
        const host = mirror.split("/")[0].replace(/:\d+$/, "");
        const key = raw.images.mirrors[source] ? `images.mirrors.${source}` : "images.registry";
        if ((IMAGE_SOURCES as readonly string[]).includes(host) || host === "index.docker.io" || host === "registry-1.docker.io") {
            problems.push(`${k(key)}: ${show(mirror)} is a public source registry, not a mirror of ${source}; give the site's own registry (or leave ${source} unmirrored)`);
        }
        if (registryEnabled && host === inCluster) {
            problems.push(`${k(key)}: ${show(mirror)} is the in-cluster registry (${inCluster}), which runs on the cluster whose images it would have to serve first; give a registry outside the cluster`);
        }
    }
    return { mirrors };
}
