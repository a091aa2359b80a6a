// Air-gapped images (issue 16 §4): `images.registry` / `images.mirrors` reach kubeadm's
// imageRepository, containerd's sandbox image and hosts.toml mirrors (prepare-node's parameters),
// every chart's image values, the program's own workloads and `npm run images`; and what setting or
// removing a mirror on a running stack re-runs.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ConfigError, fullReference, IMAGES, imageFor, KUBEADM_IMAGES, KUBERNETES_VERSION, mirrorPrefixProblem, parseConfig } from "../config";
import { renderInitConfig } from "../components/render/kubeadm";
import { ingressImageValues } from "../components/render/ingress";
import { metallbImageValues } from "../components/metallb";
import { annotateMirrors, formatImages, kubeadmImages, kubeadmRepositoriesOf, listImages, mirrorsOf } from "../tools/images";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, nextUp } from "../tools/synthDiff";
import { commands, envOf, named, RawConfig, rawConfigOf, scriptOf, synthStack } from "./helpers";

const MIRROR = "harbor.example.com/mirror";

function parse(edit: (raw: RawConfig) => void, base = "lab") {
    const raw = structuredClone(rawConfigOf(base));
    edit(raw);
    return parseConfig(raw, { stack: "test", hasSshPrivateKey: true });
}
function problemsOf(edit: (raw: RawConfig) => void, base = "lab"): string[] {
    try {
        parse(edit, base);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems;
    }
    return assert.fail("expected the config to be refused");
}

describe("images config", () => {
    it("none by default; one registry mirrors every source; a source's own mirror wins", () => {
        assert.deepEqual(parse(() => {}).images, { mirrors: {} });
        assert.deepEqual(parse((raw) => (raw.images = { registry: "10.0.0.5:5000" })).images.mirrors, {
            "registry.k8s.io": "10.0.0.5:5000",
            "docker.io": "10.0.0.5:5000",
            "quay.io": "10.0.0.5:5000",
            "ghcr.io": "10.0.0.5:5000",
        });
        const both = parse((raw) => (raw.images = { registry: MIRROR, mirrors: { "docker.io": "hub.example.com/dockerhub" } }));
        assert.equal(both.images.mirrors["docker.io"], "hub.example.com/dockerhub");
        assert.equal(both.images.mirrors["quay.io"], MIRROR);
        const one = parse((raw) => (raw.images = { mirrors: { "quay.io": "localhost:5000/quay" } }));
        assert.deepEqual(one.images.mirrors, { "quay.io": "localhost:5000/quay" });
    });

    it("refuses bad prefixes, unknown sources and wrong types, naming the key, the value and what is allowed", () => {
        const cases: [unknown, RegExp][] = [
            [{ registry: "https://harbor.example.com" }, /^k8s-platform:images\.registry: "https:\/\/harbor\.example\.com" has a URL scheme; .*without "https:\/\/".*allowed: "host\[:port\]\[\/path\]"/],
            [{ registry: "mirror/k8s" }, /^k8s-platform:images\.registry: "mirror\/k8s": "mirror" has neither a "\." nor a port, so the container runtime would read it as a docker\.io user/],
            [{ registry: "harbor.example.com/K8s" }, /^k8s-platform:images\.registry: .*the path component "K8s" is not a repository name/],
            [{ registry: "harbor.example.com/k8s/" }, /the path component "" is not a repository name/],
            [{ registry: 5000 }, /^k8s-platform:images\.registry: expected a registry prefix string such as "harbor\.example\.com\/k8s", got the number 5000/],
            [{ mirrors: { "registry.k8s.io": "bad host!" } }, /^k8s-platform:images\.mirrors\.registry\.k8s\.io: "bad host!" does not start with a registry host/],
            [{ mirrors: ["a"] }, /^k8s-platform:images\.mirrors: expected a map of source registry → mirror prefix/],
            [{ mirros: {} }, /^k8s-platform:images: unknown key "mirros"; allowed keys: registry, mirrors, caCert, username, hosts$/],
            ["harbor.example.com", /^k8s-platform:images: expected a map of keys \(registry, mirrors, caCert, username, hosts\), got "harbor\.example\.com"/],
        ];
        for (const [images, expected] of cases) {
            const problems = problemsOf((raw) => (raw.images = images));
            assert.ok(problems.some((p) => expected.test(p)), `${JSON.stringify(images)}:\n${problems.join("\n")}`);
        }
        const unknown = problemsOf((raw) => (raw.images = { mirrors: { "registry.k8s.i": MIRROR, "example.com": MIRROR } }));
        assert.deepEqual(unknown, [
            'k8s-platform:images.mirrors.registry.k8s.i: "registry.k8s.i" is not a source registry the stack pulls from (did you mean "registry.k8s.io"?); allowed keys: registry.k8s.io, docker.io, quay.io, ghcr.io',
            'k8s-platform:images.mirrors.example.com: "example.com" is not a source registry the stack pulls from; allowed keys: registry.k8s.io, docker.io, quay.io, ghcr.io',
        ]);
    });

    it("refuses the in-cluster registry or a public source as a mirror, and mirrors on AKS", () => {
        assert.deepEqual(
            problemsOf((raw) => (raw.images = { mirrors: { "docker.io": "registry.localtest.com/hub" } })),
            ['k8s-platform:images.mirrors.docker.io: "registry.localtest.com/hub" is the in-cluster registry (registry.localtest.com), which runs on the cluster whose images it would have to serve first; give a registry outside the cluster'],
        );
        assert.deepEqual(problemsOf((raw) => (raw.images = { mirrors: { "ghcr.io": "quay.io/ghcr" } })), [
            'k8s-platform:images.mirrors.ghcr.io: "quay.io/ghcr" is a public source registry, not a mirror of ghcr.io; give the site\'s own registry (or leave ghcr.io unmirrored)',
        ]);
        assert.ok(problemsOf((raw) => (raw.images = { registry: MIRROR }), "aks").some((p) => p.startsWith("k8s-platform:images: mirrors are for kubeadm stacks")));
    });

    it("mirrorPrefixProblem accepts what image references start with", () => {
        for (const ok of ["harbor.example.com", "harbor.example.com/k8s", "10.0.0.5:5000", "localhost:5000/a/b", "reg.example.com:8443/team_a/mirror-1"]) {
            assert.equal(mirrorPrefixProblem(ok), undefined, ok);
        }
    });
});

describe("imageFor", () => {
    const mirrors = { "registry.k8s.io": "harbor.example.com/k8s", "docker.io": "10.0.0.5:5000" } as const;
    it("moves a source's images onto its mirror, keeping the path and the tag; others stay exactly as given", () => {
        assert.equal(imageFor("registry.k8s.io/pause:3.10.1", mirrors), "harbor.example.com/k8s/pause:3.10.1");
        assert.equal(imageFor("registry:3.0.0", mirrors), "10.0.0.5:5000/library/registry:3.0.0", "docker.io's short names are resolved as the runtime does");
        assert.equal(imageFor("bitnami/nginx:1", mirrors), "10.0.0.5:5000/bitnami/nginx:1");
        assert.equal(imageFor("index.docker.io/library/busybox", mirrors), "10.0.0.5:5000/library/busybox");
        assert.equal(imageFor("quay.io/metallb/speaker", mirrors), "quay.io/metallb/speaker");
        assert.equal(imageFor("registry:3.0.0", {}), "registry:3.0.0");
        assert.equal(fullReference("registry:3.0.0"), "docker.io/library/registry:3.0.0");
        // An explicit docker.io with a one-part path is an official image too (distribution's normalisation).
        assert.equal(fullReference("docker.io/traefik:v3.7.11"), "docker.io/library/traefik:v3.7.11");
        assert.equal(imageFor("docker.io/traefik:v3.7.11", mirrors), "10.0.0.5:5000/library/traefik:v3.7.11");
    });
});

describe("images reach kubeadm, containerd, the charts and the workloads", () => {
    it("kubeadm's ClusterConfiguration: imageRepository and CoreDNS's under <mirror>/coredns (nothing without a mirror)", () => {
        const input = {
            clusterName: "lab",
            node: { name: "cp1", ip: "10.0.0.10" },
            kubernetesVersion: "1.35.2",
            podSubnet: "10.244.0.0/16",
            serviceSubnet: "10.96.0.0/12",
            dnsDomain: "cluster.local",
            controlPlaneEndpoint: "10.0.0.10:6443",
            certSANs: [],
        };
        const cluster = (text: string) => parseAllDocuments(text).map((d) => d.toJSON()).find((d) => d.kind === "ClusterConfiguration");
        const plain = cluster(renderInitConfig(input));
        assert.ok(!("imageRepository" in plain) && !("dns" in plain));
        const mirrored = cluster(renderInitConfig({ ...input, imageMirrors: { "registry.k8s.io": MIRROR, "docker.io": "other.example.com" } }));
        assert.equal(mirrored.imageRepository, MIRROR);
        assert.deepEqual(mirrored.dns, { imageRepository: `${MIRROR}/coredns` });
    });

    it("a lab stack with images.registry: every node's preparation, init, the API server step, the charts and the workloads", async () => {
        const s = await synthStack("lab", (raw) => (raw.images = { registry: MIRROR }));
        const prepares = commands(s).filter((c) => scriptOf(c) === "prepare-node");
        assert.equal(prepares.length, 4);
        for (const p of prepares) {
            assert.equal(envOf(p, "IMAGE_MIRRORS"), `registry.k8s.io=${MIRROR} docker.io=${MIRROR} quay.io=${MIRROR} ghcr.io=${MIRROR}`);
        }
        assert.deepEqual(kubeadmRepositoriesOf(s), { imageRepository: MIRROR, dnsImageRepository: `${MIRROR}/coredns` });
        assert.match(envOf(named(s, "cluster-apiserver-certs"), "KUBEADM_CONFIG")!, new RegExp(`^imageRepository: ${MIRROR}$`, "m"));
        const values = (name: string) => named(s, name).inputs.values as Record<string, any>;
        assert.deepEqual(values("flannel-chart").flannel.image, { repository: `${MIRROR}/flannel-io/flannel` });
        assert.deepEqual(values("flannel-chart").flannel.image_cni, { repository: `${MIRROR}/flannel-io/flannel-cni-plugin` });
        assert.deepEqual(values("platform-ingress-chart").global, { image: { registry: MIRROR } });
        assert.deepEqual(values("platform-metrics-server-chart").image, { repository: `${MIRROR}/metrics-server/metrics-server` });
        assert.equal(values("platform-metallb-chart").controller.image.repository, `${MIRROR}/metallb/controller`);
        assert.equal(values("platform-metallb-chart").speaker.image.repository, `${MIRROR}/metallb/speaker`);
        assert.equal(values("platform-metallb-chart").speaker.frr.image.repository, `${MIRROR}/frrouting/frr`);
        const podImages = (name: string) => {
            const spec = (named(s, name).inputs as any).spec.template.spec;
            return [...spec.containers, ...(spec.initContainers ?? [])].map((c: { image: string }) => c.image);
        };
        assert.deepEqual(podImages("platform-registry-deployment"), [`${MIRROR}/library/${IMAGES.registry}`]);
        assert.ok(podImages("platform-test-app-deployment").every((i: string) => i === `${MIRROR}/library/${IMAGES.tomcat}`));
        assert.deepEqual(mirrorsOf(s)["ghcr.io"], MIRROR);
    });

    it("without mirrors the charts get exactly the values they had (no image keys)", async () => {
        const s = await synthStack("lab");
        const values = (name: string) => named(s, name).inputs.values as Record<string, any>;
        assert.ok(!("image" in values("flannel-chart").flannel));
        assert.ok(!("global" in values("platform-ingress-chart")));
        assert.ok(!("image" in values("platform-metrics-server-chart")));
        assert.equal(named(s, "platform-metallb-chart").inputs.values, undefined);
        assert.ok(commands(s).every((c) => envOf(c, "IMAGE_MIRRORS") === undefined));
        assert.deepEqual(ingressImageValues({}), {});
        assert.deepEqual(metallbImageValues({ "docker.io": MIRROR }), {}, "only quay.io's mirror moves MetalLB's images");
    });
});

describe("npm run images with mirrors", () => {
    it("lists kubeadm's images under the mirror as kubeadm names them, each with the upstream reference to copy", async () => {
        const s = await synthStack("lab", (raw) => (raw.images = { registry: MIRROR }));
        const plain = await synthStack("lab");
        const originals = listImages(plain, {}).images.map((l) => l.image);
        const listed = annotateMirrors(listImages(s, {}), mirrorsOf(s), originals);
        const images = listed.images.map((l) => l.image);
        // The stack's default minor, as kubeadm of that minor names its images (config/versions.ts).
        const minor = KUBERNETES_VERSION;
        const pinned = KUBEADM_IMAGES[minor];
        assert.deepEqual(images.slice(0, 7), [
            `${MIRROR}/kube-apiserver:v${minor}.x`,
            `${MIRROR}/kube-controller-manager:v${minor}.x`,
            `${MIRROR}/kube-scheduler:v${minor}.x`,
            `${MIRROR}/kube-proxy:v${minor}.x`,
            `${MIRROR}/coredns/coredns:${pinned.coredns}`,
            `${MIRROR}/pause:${pinned.pause}`,
            `${MIRROR}/etcd:${pinned.etcd}`,
        ]);
        assert.ok(listed.images.every((l) => l.image.startsWith(`${MIRROR}/`) && l.copyFrom && !l.notMirrored), JSON.stringify(listed.images, null, 1));
        const text = formatImages("lab", listed);
        const escape = (v: string) => v.replace(/\./g, "\\.");
        assert.match(text, new RegExp(`^${MIRROR}/library/registry:3\\.0\\.0 +# program: .*; copy from docker\\.io/library/registry:3\\.0\\.0$`, "m"));
        assert.match(text, new RegExp(`^${MIRROR}/coredns/coredns:${escape(pinned.coredns)} +# kubeadm: CoreDNS \\(mirror of registry\\.k8s\\.io\\); copy from registry\\.k8s\\.io/coredns/coredns:${escape(pinned.coredns)}$`, "m"));
    });

    it("a plain-HTTP mirror: the listing names image references (no scheme), each with what to copy", async () => {
        const lab = "lab.example.com:5000/hub";
        const s = await synthStack("lab", (raw) => (raw.images = { registry: MIRROR, mirrors: { "docker.io": `http://${lab}` } }));
        assert.deepEqual(mirrorsOf(s)["docker.io"], lab);
        const listed = annotateMirrors(listImages(s, {}), mirrorsOf(s), listImages(await synthStack("lab"), {}).images.map((l) => l.image));
        const text = formatImages("lab", listed);
        assert.ok(!text.includes("http://"), text);
        assert.match(text, new RegExp(`^${lab}/library/registry:3\\.0\\.0 +# program: .*; copy from docker\\.io/library/registry:3\\.0\\.0$`, "m"));
        assert.ok(listed.images.every((l) => !l.notMirrored), JSON.stringify(listed.images.filter((l) => l.notMirrored)));
    });

    it("kubeadm without dns.imageRepository names CoreDNS <repository>/coredns (kubeadm's renaming applies to registry.k8s.io only)", () => {
        assert.equal(kubeadmImages("1.35.2", { imageRepository: "r.example.com" })[4].image, "r.example.com/coredns:v1.13.1");
        assert.equal(kubeadmImages("1.35.2")[4].image, "registry.k8s.io/coredns/coredns:v1.13.1");
    });

    it("flags an image still pulled from a mirrored source", () => {
        const listed = annotateMirrors({ images: [{ image: "docker.io/library/busybox:1", source: "x" }, { image: "quay.io/a/b:1", source: "y" }], notes: [] }, { "docker.io": MIRROR }, []);
        assert.equal(listed.images[0].notMirrored, true);
        assert.equal(listed.images[1].notMirrored, undefined, "quay.io has no mirror here");
        assert.match(formatImages("x", listed), /docker\.io\/library\/busybox:1 +# x; NOT MIRRORED/);
        assert.match(listed.notes[0], /^1 image\(s\) marked NOT MIRRORED/);
    });
});

describe("setting and removing a mirror on a running stack", () => {
    it("re-runs every node's preparation (and its reachability check), init's and the API server step; rolls the charts and workloads; replaces nothing", async () => {
        const before = renderSynthesis(await synthStack("lab"));
        const after = renderSynthesis(await synthStack("lab", (raw) => (raw.images = { registry: MIRROR })));
        for (const [from, to] of [[before, after], [after, before]]) {
            const d = compareRenderings("lab", from, to);
            const n = nextUp(d);
            assert.deepEqual(n.reRun.map((r) => `${r.script}@${r.target}`), [
                "apiserver-certs@m-k8s",
                "kubeadm-init@m-k8s",
                "prepare-node@m-k8s",
                "prepare-node@w1-k8s",
                "prepare-node@w2-k8s",
                "prepare-node@w3-k8s",
                "reachable@m-k8s",
                "reachable@w1-k8s",
                "reachable@w2-k8s",
                "reachable@w3-k8s",
            ]);
            assert.deepEqual([n.firstRun, n.deleteRun, d.added, d.removed], [[], [], [], []]);
            assert.deepEqual(d.changed.filter((c) => c.resource.type !== "command:remote:Command").map((c) => c.resource.name).sort(), [
                "flannel-chart",
                "platform-ingress-chart",
                "platform-metallb-chart",
                "platform-metrics-server-chart",
                "platform-registry-deployment",
                "platform-test-app-deployment",
            ]);
        }
    });

    it("a second mirror change touches only what that source feeds", async () => {
        const before = renderSynthesis(await synthStack("lab", (raw) => (raw.images = { registry: MIRROR })));
        const after = renderSynthesis(await synthStack("lab", (raw) => (raw.images = { registry: MIRROR, mirrors: { "quay.io": "quay.example.com" } })));
        const d = compareRenderings("lab", before, after);
        assert.deepEqual(
            d.changed.filter((c) => c.resource.type !== "command:remote:Command").map((c) => c.resource.name),
            ["platform-metallb-chart"],
        );
        assert.ok(nextUp(d).reRun.every((r) => ["prepare-node", "reachable"].includes(r.script)), "kubeadm's config is unchanged");
    });
});

