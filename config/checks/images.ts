import { X509Certificate } from "crypto";
import { closest, configKey as k, Problems } from "../errors";
import { IMAGE_SOURCES, ImageSource, ImagesSettings, mirrorHost, MirrorHostSettings } from "../images";
import { IMAGES_HOST_PASSWORDS_CONFIG, IMAGES_PASSWORD_CONFIG, Raw, show } from "../schema";

/** What the program may know about the mirrors' password without keeping it (load.ts). */
export interface ImagesPasswordFacts {
    /** Stored encrypted (`pulumi config set --secret`). */
    readonly secret: boolean;
    readonly empty: boolean;
}

/** What the program may know about the per-host passwords without keeping them (load.ts). */
export interface HostPasswordsFacts {
    /** Stored encrypted (`pulumi config set --secret --path …`). */
    readonly secret: boolean;
    /** What the value is when it is not a map of host → password (its kind only, never its text). */
    readonly notAMap?: string;
    /** Per host: whether its password is a string, is empty, holds a line break. */
    readonly hosts: Readonly<Record<string, { readonly string: boolean; readonly empty: boolean; readonly lineBreak: boolean }>>;
}

/** The facts of `imagesHostPasswords`'s raw text (Pulumi hands a map over as JSON text). */
export function hostPasswordsFacts(text: string, secret: boolean): HostPasswordsFacts {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        return { secret, notAMap: "a single string", hosts: {} };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return { secret, notAMap: Array.isArray(value) ? "a list" : `a ${value === null ? "null" : typeof value}`, hosts: {} };
    }
    const hosts: Record<string, { string: boolean; empty: boolean; lineBreak: boolean }> = {};
    for (const [host, password] of Object.entries(value as Record<string, unknown>)) {
        hosts[host] = { string: typeof password === "string", empty: password === "", lineBreak: typeof password === "string" && /[\r\n]/.test(password) };
    }
    return { secret, hosts };
}

const SET_PASSWORD = `\`pulumi config set --secret ${IMAGES_PASSWORD_CONFIG}\` (it prompts; or pipe the password on standard input)`;

/**
 * A password written into the `images` map (`pulumi config set --secret --path images.password`)
 * is taken out before the schema sees it, so no message can echo it: the password is a key of
 * its own. Returns the config without it.
 */
export function withoutImagesPassword(raw: Record<string, unknown>, problems: Problems): Record<string, unknown> {
    const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
    const images = raw.images;
    if (!isMap(images)) {
        return raw;
    }
    let rest: Record<string, unknown> = images;
    if ("password" in images) {
        problems.push(
            `${k("images.password")}: the mirrors' password is not kept in the images map (plain config, or a secret that makes every images value one); ` +
                `remove it (\`pulumi config rm --path images.password\`) and set it as its own secret: ${SET_PASSWORD}`,
        );
        const { password: _dropped, ...others } = images;
        rest = others;
    }
    // The same for a host's password written beside its user name.
    if (isMap(rest.hosts) && Object.values(rest.hosts).some((h) => isMap(h) && "password" in h)) {
        const hosts: Record<string, unknown> = {};
        for (const [host, settings] of Object.entries(rest.hosts)) {
            if (isMap(settings) && "password" in settings) {
                problems.push(
                    `${k(`images.hosts.${host}.password`)}: a mirror host's password is not kept in the images map; remove it ` +
                        `(\`pulumi config rm --path 'images.hosts["${host}"].password'\`) and set it as its own secret: ${setHostPassword(host)}`,
                );
                const { password: _dropped, ...others } = settings;
                hosts[host] = others;
            } else {
                hosts[host] = settings;
            }
        }
        rest = { ...rest, hosts };
    }
    return rest === images ? raw : { ...raw, images: rest };
}

const setHostPassword = (host: string) =>
    `\`pulumi config set --secret --path '${IMAGES_HOST_PASSWORDS_CONFIG}["${host}"]'\` (it prompts; or pipe the password on standard input; --secret for every host: ` +
    `Pulumi marks the whole key secret when any of its values is, so a value set without it would stay readable in Pulumi.<stack>.yaml)`;

/**
 * `images`: the mirror of each source registry. `images.registry` mirrors every source; an entry
 * of `images.mirrors` overrides it for its source. A mirror key must be one of the sources the
 * stack pulls from (a typo would silently leave that source unmirrored). Not on AKS: its nodes
 * are Azure's, their containerd and system images are not the program's to point elsewhere.
 * Nor on the in-cluster registry (`registry.<domain>`): it runs on the cluster whose images it
 * would have to serve first. `caCert` and `username` (with the secret `imagesPassword`) apply to
 * every mirror host not listed in `images.hosts`; a listed host takes only its own settings.
 * A mirror written `http://…` is a plain-HTTP host (`plainHttp`); the scheme never reaches
 * `mirrors`, which image references are made from.
 */
export function resolveImages(
    raw: Raw,
    registryEnabled: boolean,
    problems: Problems,
    password?: ImagesPasswordFacts,
    hostPasswords?: HostPasswordsFacts,
): ImagesSettings {
    const mirrors: Partial<Record<ImageSource, string>> = {};
    // Each mirror host and the keys that name it, with and without "http://".
    const schemes = new Map<string, { http: string[]; https: string[] }>();
    for (const source of IMAGE_SOURCES) {
        const value = raw.images.mirrors[source] ?? raw.images.registry;
        if (!value) continue;
        const key = raw.images.mirrors[source] ? `images.mirrors.${source}` : "images.registry";
        mirrors[source] = value.replace(/^http:\/\//, "");
        const seen = schemes.get(mirrorHost(value)) ?? { http: [], https: [] };
        const keys = value.startsWith("http://") ? seen.http : seen.https;
        if (!keys.includes(key)) keys.push(key);
        schemes.set(mirrorHost(value), seen);
    }
    for (const key of Object.keys(raw.images.mirrors).filter((s) => !(IMAGE_SOURCES as readonly string[]).includes(s))) {
        const guess = closest(key, IMAGE_SOURCES);
        problems.push(
            `${k(`images.mirrors.${key}`)}: ${show(key)} is not a source registry the stack pulls from${guess ? ` (did you mean "${guess}"?)` : ""}; allowed keys: ${IMAGE_SOURCES.join(", ")}`,
        );
    }
    for (const [host, { http, https }] of schemes) {
        if (http.length > 0 && https.length > 0) {
            problems.push(
                `${k(http[0])}: ${host} is a plain-HTTP mirror here ("http://") but HTTPS in ${https.join(", ")}; a host speaks one of them: write "http://" in every value that names it, or in none`,
            );
        }
    }
    const plainHttp = [...schemes].filter(([, s]) => s.http.length > 0).map(([host]) => host);
    const configured = raw.images.registry !== undefined || Object.keys(raw.images.mirrors).length > 0;
    const anySetting = configured || raw.images.caCert !== undefined || raw.images.username !== undefined || Object.keys(raw.images.hosts).length > 0;
    if (anySetting && raw.infra.provider === "aks") {
        problems.push(`${k("images")}: mirrors are for kubeadm stacks; AKS nodes pull their system images through Azure (import the charts' images into ACR instead); remove images`);
    }
    const inCluster = `registry.${raw.domain}`;
    for (const [source, mirror] of Object.entries(mirrors)) {
        const host = mirror.split("/")[0].replace(/:\d+$/, "");
        const key = raw.images.mirrors[source] ? `images.mirrors.${source}` : "images.registry";
        const shown = raw.images.mirrors[source] ?? raw.images.registry;
        if ((IMAGE_SOURCES as readonly string[]).includes(host) || host === "index.docker.io" || host === "registry-1.docker.io") {
            problems.push(`${k(key)}: ${show(shown)} is a public source registry, not a mirror of ${source}; give the site's own registry (or leave ${source} unmirrored)`);
        }
        if (registryEnabled && host === inCluster) {
            problems.push(`${k(key)}: ${show(shown)} is the in-cluster registry (${inCluster}), which runs on the cluster whose images it would have to serve first; give a registry outside the cluster`);
        }
    }
    const caCert = raw.images.caCert;
    if (caCert !== undefined) {
        problems.push(...pemCertificateProblems(caCert).map((p) => `${k("images.caCert")}: ${p}`));
    }
    checkCredentials(raw, password, problems);
    const hosts = resolveHosts(raw, [...schemes.keys()], plainHttp, hostPasswords, problems);
    const noMirror = "no mirror is configured (images.registry or images.mirrors), so nothing would use it; set a mirror or remove the key";
    if (!configured && caCert !== undefined) problems.push(`${k("images.caCert")}: ${noMirror}`);
    if (!configured && raw.images.username !== undefined) problems.push(`${k("images.username")}: ${noMirror}`);
    // Stack-wide settings that no host would take: every mirror host has its own settings (or,
    // for the CA, is plain HTTP).
    const unlisted = [...schemes.keys()].filter((h) => !(h in raw.images.hosts));
    if (configured && unlisted.length === 0) {
        for (const key of ["caCert", "username"] as const) {
            if (raw.images[key] !== undefined) {
                problems.push(`${k(`images.${key}`)}: every mirror host has its own settings in images.hosts (${[...schemes.keys()].join(", ")}), so nothing uses it; remove it or move it into those hosts' settings`);
            }
        }
    } else if (configured && caCert !== undefined && unlisted.every((h) => plainHttp.includes(h))) {
        problems.push(`${k("images.caCert")}: the mirror hosts it would apply to (${unlisted.join(", ")}) are plain HTTP, which has no certificate to verify; remove it`);
    }
    return {
        mirrors,
        ...(plainHttp.length > 0 ? { plainHttp } : {}),
        ...(Object.keys(hosts).length > 0 ? { hosts } : {}),
        ...(caCert !== undefined ? { caCert: normalisePem(caCert) } : {}),
        ...(raw.images.username !== undefined ? { username: raw.images.username } : {}),
    };
}

/**
 * `images.hosts`: each key the host (`host[:port]`) of a configured mirror; its CA a usable PEM
 * bundle, not on a plain-HTTP host (containerd would then try HTTPS first, see prepare-node.sh),
 * nor with skipVerify (which turns off the check the CA is for); its user name a valid one with
 * a password in the secret `imagesHostPasswords`, and that map holding no other host.
 */
function resolveHosts(
    raw: Raw,
    mirrorHosts: string[],
    plainHttp: string[],
    passwords: HostPasswordsFacts | undefined,
    problems: Problems,
): Record<string, MirrorHostSettings> {
    const hosts: Record<string, MirrorHostSettings> = {};
    const used = mirrorHosts.length > 0 ? `the mirrors' hosts: ${mirrorHosts.join(", ")}` : "no mirror is configured (images.registry or images.mirrors)";
    for (const [host, settings] of Object.entries(raw.images.hosts)) {
        const key = (field?: string) => k(`images.hosts.${host}${field ? `.${field}` : ""}`);
        if (!mirrorHosts.includes(host)) {
            const guess = closest(host, mirrorHosts);
            problems.push(`${key()}: ${show(host)} is not the host of any mirror${guess ? ` (did you mean "${guess}"?)` : ""}; ${used}. Keys are "host[:port]" as in images.registry / images.mirrors, without a scheme or path`);
            continue;
        }
        const http = plainHttp.includes(host);
        if (settings.caCert !== undefined) {
            problems.push(...pemCertificateProblems(settings.caCert).map((p) => `${key("caCert")}: ${p}`));
            if (http) problems.push(`${key("caCert")}: ${host} is a plain-HTTP mirror ("http://"), which has no certificate to verify; remove caCert, or serve HTTPS and drop "http://"`);
        }
        if (settings.skipVerify === true && http) {
            problems.push(`${key("skipVerify")}: ${host} is a plain-HTTP mirror ("http://"), which has no certificate to verify; remove skipVerify`);
        }
        if (settings.skipVerify === true && settings.caCert !== undefined) {
            problems.push(`${key("skipVerify")}: true turns off the verification caCert is for; keep one of them (caCert to verify with the site's CA, skipVerify: true not to verify at all)`);
        }
        if (settings.username !== undefined) {
            usernameProblem(settings.username, key("username"), problems);
            if (!passwords?.hosts[host]) {
                problems.push(`${k(`${IMAGES_HOST_PASSWORDS_CONFIG}.${host}`)}: is required with images.hosts.${host}.username (that host's password); set it with ${setHostPassword(host)}`);
            }
        }
        hosts[host] = {
            ...(settings.caCert !== undefined ? { caCert: normalisePem(settings.caCert) } : {}),
            ...(settings.username !== undefined ? { username: settings.username } : {}),
            ...(settings.skipVerify === true ? { skipVerify: true as const } : {}),
        };
    }
    checkHostPasswords(raw, passwords, problems);
    return hosts;
}

/** The secret `imagesHostPasswords`: a secret map whose every host has a user name, each password usable. */
function checkHostPasswords(raw: Raw, passwords: HostPasswordsFacts | undefined, problems: Problems): void {
    if (!passwords) return;
    const name = IMAGES_HOST_PASSWORDS_CONFIG;
    if (!passwords.secret) {
        problems.push(
            `${k(name)}: is stored in plain text in Pulumi.<stack>.yaml; it must be a secret (encrypted in the file, masked in every output): ` +
                `\`pulumi config rm ${name}\`, then set each host's password with \`pulumi config set --secret --path '${name}["<host>"]'\` (and change the passwords if the file was shared)`,
        );
    }
    if (passwords.notAMap) {
        problems.push(`${k(name)}: expected a map of mirror host → password, got ${passwords.notAMap}; set each with \`pulumi config set --secret --path '${name}["<host>"]'\``);
        return;
    }
    for (const [host, facts] of Object.entries(passwords.hosts)) {
        const key = k(`${name}.${host}`);
        if (raw.images.hosts[host]?.username === undefined) {
            problems.push(`${key}: is set but images.hosts.${host}.username is not; set that user name too, or remove it (\`pulumi config rm --path '${name}["${host}"]'\`)`);
        } else if (!facts.string) {
            problems.push(`${key}: expected the password as a string (not shown); set it with ${setHostPassword(host)}`);
        } else if (facts.empty) {
            problems.push(`${key}: is empty; set that host's password with ${setHostPassword(host)}`);
        } else if (facts.lineBreak) {
            problems.push(`${key}: holds a line break (not shown), which no registry password has and the nodes' secret transport cannot carry; set it again with ${setHostPassword(host)}`);
        }
    }
}

/** A registry user name: HTTP Basic's user-id. */
function usernameProblem(username: string, key: string, problems: Problems): void {
    // HTTP Basic: "a user-id containing a colon character is invalid" (RFC 7617 §2).
    if (username === "" || username.includes(":") || /[\u0000-\u001f\u007f]/.test(username)) {
        problems.push(`${key}: ${show(username)} is not a registry user name (not empty, no ":" — HTTP Basic authentication cannot carry one — and no control characters)`);
    }
}

/** `images.username` and the secret `imagesPassword`: both or neither; the password a secret. */
function checkCredentials(raw: Raw, password: ImagesPasswordFacts | undefined, problems: Problems): void {
    const username = raw.images.username;
    if (username !== undefined) {
        usernameProblem(username, k("images.username"), problems);
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
