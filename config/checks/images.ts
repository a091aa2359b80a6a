import { X509Certificate } from "crypto";
import { closest, configKey as k, Problems } from "../errors";
import { IMAGE_SOURCES, ImageSource, ImagesSettings } from "../images";
import { IMAGES_PASSWORD_CONFIG, Raw, show } from "../schema";

/** What the program may know about the mirrors' password without keeping it (load.ts). */
export interface ImagesPasswordFacts {
    /** Stored encrypted (`pulumi config set --secret`). */
    readonly secret: boolean;
    readonly empty: boolean;
}

const SET_PASSWORD = `\`pulumi config set --secret ${IMAGES_PASSWORD_CONFIG}\` (it prompts; or pipe the password on standard input)`;

/**
 * A password written into the `images` map (`pulumi config set --secret --path images.password`)
 * is taken out before the schema sees it, so no message can echo it: the password is a key of
 * its own. Returns the config without it.
 */
export function withoutImagesPassword(raw: Record<string, unknown>, problems: Problems): Record<string, unknown> {
    const images = raw.images;
    if (images === null || typeof images !== "object" || Array.isArray(images) || !("password" in images)) {
        return raw;
    }
    problems.push(
        `${k("images.password")}: the mirrors' password is not kept in the images map (plain config, or a secret that makes every images value one); ` +
            `remove it (\`pulumi config rm --path images.password\`) and set it as its own secret: ${SET_PASSWORD}`,
    );
    const { password: _dropped, ...rest } = images as Record<string, unknown>;
    return { ...raw, images: rest };
}

/**
 * `images`: the mirror of each source registry. `images.registry` mirrors every source; an entry
 * of `images.mirrors` overrides it for its source. A mirror key must be one of the sources the
 * stack pulls from (a typo would silently leave that source unmirrored). Not on AKS: its nodes
 * are Azure's, their containerd and system images are not the program's to point elsewhere.
 * Nor on the in-cluster registry (`registry.<domain>`): it runs on the cluster whose images it
 * would have to serve first. `caCert` and `username` (with the secret `imagesPassword`) apply to
 * every mirror host.
 */
export function resolveImages(raw: Raw, registryEnabled: boolean, problems: Problems, password?: ImagesPasswordFacts): ImagesSettings {
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
    if ((configured || raw.images.caCert !== undefined || raw.images.username !== undefined) && raw.infra.provider === "aks") {
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
    const caCert = raw.images.caCert;
    if (caCert !== undefined) {
        problems.push(...pemCertificateProblems(caCert).map((p) => `${k("images.caCert")}: ${p}`));
    }
    checkCredentials(raw, password, problems);
    const noMirror = "no mirror is configured (images.registry or images.mirrors), so nothing would use it; set a mirror or remove the key";
    if (!configured && caCert !== undefined) problems.push(`${k("images.caCert")}: ${noMirror}`);
    if (!configured && raw.images.username !== undefined) problems.push(`${k("images.username")}: ${noMirror}`);
    return {
        mirrors,
        ...(caCert !== undefined ? { caCert: normalisePem(caCert) } : {}),
        ...(raw.images.username !== undefined ? { username: raw.images.username } : {}),
    };
}

/** `images.username` and the secret `imagesPassword`: both or neither; the password a secret. */
function checkCredentials(raw: Raw, password: ImagesPasswordFacts | undefined, problems: Problems): void {
    const username = raw.images.username;
    if (username !== undefined) {
        // HTTP Basic: "a user-id containing a colon character is invalid" (RFC 7617 §2).
        if (username === "" || username.includes(":") || /[\u0000-\u001f\u007f]/.test(username)) {
            problems.push(`${k("images.username")}: ${show(username)} is not a registry user name (not empty, no ":" — HTTP Basic authentication cannot carry one — and no control characters)`);
        }
        if (!password) {
            problems.push(`${k(IMAGES_PASSWORD_CONFIG)}: is required with images.username (the mirrors' password); set it with ${SET_PASSWORD}`);
        }
    } else if (password) {
        problems.push(`${k(IMAGES_PASSWORD_CONFIG)}: is set but images.username is not; set images.username too, or remove it (\`pulumi config rm ${IMAGES_PASSWORD_CONFIG}\`)`);
    }
    if (password && !password.secret) {
        problems.push(
            `${k(IMAGES_PASSWORD_CONFIG)}: is stored in plain text in Pulumi.<stack>.yaml; it must be a secret (encrypted in the file, masked in every output): ` +
                `set it with ${SET_PASSWORD}, which replaces the plain value (and change the password if the file was shared)`,
        );
    }
    if (password?.empty) {
        problems.push(`${k(IMAGES_PASSWORD_CONFIG)}: is empty; set the mirrors' password with ${SET_PASSWORD}`);
    }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * Why a CA bundle is not usable as containerd's `ca` file, or [] when it is: one or more PEM
 * CERTIFICATE blocks, each a certificate (node's X509Certificate parses it: the same DER Go's
 * x509.AppendCertsFromPEM reads) that has not expired; no private key (the value is plain config).
 */
export function pemCertificateProblems(text: string): string[] {
    const allowed = 'expected one or more PEM certificates ("-----BEGIN CERTIFICATE-----" … "-----END CERTIFICATE-----"), e.g. the output of `openssl x509 -in ca.crt`';
    const blocks = [...text.matchAll(PEM_BLOCK)];
    const problems: string[] = [];
    if (blocks.some((b) => b[1].includes("PRIVATE KEY"))) {
        problems.push(`holds a ${blocks.find((b) => b[1].includes("PRIVATE KEY"))![1]} block: only the CA's certificate belongs here (plain config); remove the key, and replace it if the file was shared`);
    }
    const certificates = blocks.filter((b) => b[1] === "CERTIFICATE");
    if (certificates.length === 0) {
        return [...problems, `has no PEM certificate; ${allowed}`];
    }
    certificates.forEach((block, i) => {
        const which = certificates.length > 1 ? `certificate ${i + 1} of ${certificates.length}` : "the certificate";
        try {
            const cert = new X509Certificate(block[0]);
            if (Date.parse(cert.validTo) < Date.now()) {
                problems.push(`${which} (${cert.subject.replace(/\n/g, ", ")}) expired on ${cert.validTo}; give the CA's current certificate`);
            }
        } catch (err) {
            problems.push(`${which} does not parse as an X.509 certificate (${(err as Error).message}); ${allowed}`);
        }
    });
    return problems;
}

/** The certificate blocks alone, one per line group, without a final newline (prepare-node
 * writes the file with one, as it does for every parameter): what the nodes' CA file holds. */
function normalisePem(text: string): string {
    return [...text.matchAll(PEM_BLOCK)]
        .filter((b) => b[1] === "CERTIFICATE")
        .map((b) => b[0].replace(/\r\n/g, "\n"))
        .join("\n");
}
