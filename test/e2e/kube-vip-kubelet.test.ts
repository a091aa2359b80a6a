/**
 * kube-vip's static pod as the program writes it, run by a real kubelet through a real containerd
 * and runc (kubeletNode.ts) on a simulated control plane (kubeVipHosts.ts: a network namespace with
 * a real kube-apiserver on 0.0.0.0:6443, one etcd, a client on the same bridge). The manifest is
 * the renderer's output with admin.conf mounted (what a joined control plane writes), placed
 * unchanged at /etc/kubernetes/manifests/kube-vip.yaml, the kubelet's staticPodPath.
 *
 * No image can be pulled here, and none is: the images are built at test time by our own
 * oci-image (test/e2e/tools/oci-image) — kube-vip's from the kube-vip binary build-tools.sh builds
 * from its Go module, laid out as its Dockerfile's final stage (`COPY ... /kube-vip`, the CA
 * bundle, `ENTRYPOINT ["/kube-vip"]`), tagged exactly as the manifest names it (IMAGES.kubeVip);
 * the sandbox image from our own pause program (test/e2e/tools/pause), tagged as the program
 * configures containerd's sandbox image for 1.35 (KUBEADM_IMAGES, registry.k8s.io/pause) — and
 * imported with `ctr -n k8s.io images import`. The manifest's imagePullPolicy is IfNotPresent;
 * the kubelet then only asks the runtime for the image and pulls when it is missing
 * (pkg/kubelet/images/image_manager.go: `case v1.PullIfNotPresent, v1.PullNever: imageRef, err =
 * m.imageService.GetImageRef(...)`), and an image the kubelet did not pull itself is used without
 * credential checks by default (imagePullCredentialsVerificationPolicy NeverVerifyPreloadedImages,
 * pkg/kubelet/apis/config/v1beta1/defaults.go). The test asserts that containerd was never asked
 * to pull.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { KUBE_VIP_MANIFEST_PATH, kubeVipManifestFor, renderKubeVipManifest } from "../../components/render/kubeVip";
import { IMAGES, KUBEADM_IMAGES } from "../../config/versions";
import { KubeletNode } from "./kubeletNode";
import { Cluster, HOSTS, IFACE, TOKEN, VIP, inNs, ns, sh, waitFor } from "./kubeVipHosts";
import { onPath, skipUnless } from "./tools";

const skip =
    (process.getuid?.() !== 0 && "needs root (network, mount and pid namespaces, cgroups)") ||
    ["kubelet", "containerd", "containerd-shim-runc-v2", "ctr", "oci-image", "pause", "kube-vip", "kube-apiserver", "etcd"].map(skipUnless).find(Boolean) ||
    (!onPath("runc") && "runc is not on PATH: install Debian's runc package (.ci/run does)") ||
    ["openssl", "curl", "unshare", "nsenter"].map((t) => !onPath(t) && `${t} is not on PATH`).find(Boolean) ||
    false;

/** The kubelet is tools/kubelet's v1.35.4: its minor's sandbox image, as the program configures it. */
const MINOR = "1.35";
const SANDBOX_IMAGE = `registry.k8s.io/pause:${KUBEADM_IMAGES[MINOR].pause}`;
const MANIFEST_DIR = path.posix.dirname(KUBE_VIP_MANIFEST_PATH);
/** Every wait below is bounded; the whole file stays well under this. */
const CASE_TIMEOUT = 300_000;

interface ContainerStatus {
    restartCount: number;
    containerID?: string;
    state?: { running?: unknown };
    lastState?: { terminated?: { exitCode: number; containerID?: string } };
}

/** Builds the two images into `dir` with oci-image; returns the archives. */
function buildImages(dir: string): string[] {
    const kubeVip = path.join(dir, "kube-vip.tar");
    sh(onPath("oci-image")!, ["-o", kubeVip, "-name", IMAGES.kubeVip, "-entrypoint", "/kube-vip", "-file", `/kube-vip=${onPath("kube-vip")}`,
        "-file", "/etc/ssl/certs/ca-certificates.crt=/etc/ssl/certs/ca-certificates.crt"]);
    const pause = path.join(dir, "pause.tar");
    sh(onPath("oci-image")!, ["-o", pause, "-name", SANDBOX_IMAGE, "-entrypoint", "/pause", "-file", `/pause=${onPath("pause")}`]);
    return [pause, kubeVip];
}

/** The processes (pid in this namespace) whose cgroup lies under `cgroupRoot` and whose command is `comm`. */
function processesIn(cgroupRoot: string, comm: string): number[] {
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            if (fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== comm) continue;
            if (fs.readFileSync(`/proc/${entry}/cgroup`, "utf8").includes(`:${cgroupRoot}/`)) pids.push(Number(entry));
        } catch {
            // exited meanwhile
        }
    }
    return pids;
}

describe("oci-image (our own image archive writer)", { skip: skipUnless("oci-image") }, () => {
    it("refuses an image name without a tag (the image must be named exactly as the manifest references it) and writes nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-oci-image-"));
        try {
            const r = spawnSync(onPath("oci-image")!, ["-o", `${dir}/x.tar`, "-name", "ghcr.io/kube-vip/kube-vip", "-entrypoint", "/x", "-file", `/x=${onPath("oci-image")}`], { encoding: "utf8" });
            assert.equal(r.status, 1);
            assert.match(r.stderr, /-name "ghcr\.io\/kube-vip\/kube-vip" has no tag/);
            assert.equal(fs.existsSync(`${dir}/x.tar`), false);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** Stops every node, then the cluster, whatever fails on the way; then reports what failed. */
async function stopAll(nodes: KubeletNode[], cluster: Cluster | undefined): Promise<void> {
    const results = await Promise.allSettled(nodes.map((n) => n.stop()));
    await cluster?.stop();
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => String(r.reason));
    assert.deepEqual(failed, [], "node clean-up failed");
}

describe("kube-vip's static pod through a real kubelet, containerd and runc (one control plane)", { skip }, () => {
    const host = HOSTS[0];
    // As a joined control plane writes it (admin.conf mounted), the interface named.
    const manifest = kubeVipManifestFor(renderKubeVipManifest({ address: VIP, port: 6443, interface: IFACE, image: IMAGES.kubeVip }), "/etc/kubernetes/admin.conf");
    const pod = parse(manifest);
    let cluster: Cluster;
    let node: KubeletNode;

    before(async () => {
        cluster = new Cluster([host]);
        cluster.network(false);
        cluster.pki();
        await cluster.controlPlane();
        node = new KubeletNode(cluster, host);
        node.start({
            images: buildImages(cluster.dir),
            sandboxImage: SANDBOX_IMAGE,
            etc: {
                "kubernetes/admin.conf": fs.readFileSync(path.join(cluster.dir, "admin.conf"), "utf8"),
                [path.posix.relative("/etc", KUBE_VIP_MANIFEST_PATH)]: manifest,
            },
        });
    });
    after(async () => {
        await stopAll(node ? [node] : [], cluster);
    });

    const mirrorPod = () => cluster.api(host.name, `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}-${host.name}`);
    const status = (): ContainerStatus | undefined => mirrorPod()?.status?.containerStatuses?.[0];
    const leaseHolder = () => cluster.api(host.name, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/plndr-cp-lock")?.spec?.holderIdentity as string | undefined;
    const reachesApi = () => inNs("client", "curl", ["-sf", "--max-time", "5", "--cacert", `${cluster.dir}/ca.crt`, "-H", `Authorization: Bearer ${TOKEN}`, `https://${VIP}:6443/readyz`]);
    const holdsVip = () => cluster.holders().length === 1 && cluster.holders()[0] === host.name && leaseHolder() === host.name && cluster.clientReaches() === host.name;
    const logs = () => `--- kubelet\n${node.log("kubelet").slice(-3000)}\n--- containerd\n${node.log("containerd").slice(-2000)}\n--- node\n${node.log("node").slice(-1000)}`;
    /** The running kube-vip container's id (containerd's), from the mirror pod's status. */
    const runningId = (s = status()) => (s?.state?.running && s.containerID ? s.containerID.replace(/^containerd:\/\//, "") : undefined);
    let firstId = "";

    it("the kubelet runs the manifest through containerd and runc: kube-vip holds the Lease, the VIP is on eth0, nothing is pulled", { timeout: CASE_TIMEOUT }, async () => {
        firstId = (await waitFor(180, () => (runningId() && holdsVip() ? runningId() : undefined))) ?? "";
        assert.ok(firstId, `kube-vip not running with the VIP in 180 s: pod ${JSON.stringify(mirrorPod()?.status)}, holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.equal(reachesApi(), "ok", "the API server through the VIP, TLS checked against the cluster CA");

        // The containers containerd runs: the kube-vip image the manifest names, in a sandbox from the pinned pause image.
        const containers = node.ctr("containers", "ls");
        assert.match(containers, new RegExp(`^${firstId}\\s+${IMAGES.kubeVip.replace(/[.]/g, "\\.")}\\s`, "m"));
        assert.match(containers, new RegExp(`\\s${SANDBOX_IMAGE.replace(/[.]/g, "\\.")}\\s`));
        assert.doesNotMatch(node.log("containerd"), /PullImage/, "containerd was asked to pull an image");
        const events = cluster.api(host.name, "/api/v1/namespaces/kube-system/events")?.items ?? [];
        assert.ok(
            events.some((e: { reason: string; message: string }) => e.reason === "Pulled" && e.message.includes(`"${IMAGES.kubeVip}" already present on machine`)),
            `no "already present" event: ${JSON.stringify(events.map((e: { message: string }) => e.message))}`,
        );

        // What runc made of the Pod: capabilities (drop ALL, add NET_ADMIN and NET_RAW: bits 12 and
        // 13), the hostPath at its mountPath, the kubelet's /etc/hosts with the hostAliases.
        const [pid] = processesIn(node.cgroupRoot, "kube-vip");
        assert.ok(pid, "no kube-vip process in the kubelet's cgroups");
        const capBnd = /^CapBnd:\s+([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
        assert.equal(capBnd && BigInt(`0x${capBnd}`), (1n << 12n) | (1n << 13n), `bounding set ${capBnd}`);
        assert.equal(fs.readFileSync(`/proc/${pid}/root/etc/kubernetes/admin.conf`, "utf8"), fs.readFileSync(path.join(cluster.dir, "admin.conf"), "utf8"));
        assert.match(fs.readFileSync(`/proc/${pid}/root/etc/hosts`, "utf8"), /^127\.0\.0\.1\s+kubernetes$/m);
    });

    it("the container killed (SIGKILL through containerd): the kubelet restarts it, and the VIP stays on the node", { timeout: CASE_TIMEOUT }, async () => {
        assert.ok(firstId, "needs the previous case");
        node.ctr("tasks", "kill", "--signal", "SIGKILL", firstId);
        const restarted = await waitFor(120, () => {
            const s = status();
            return s && s.restartCount >= 1 && runningId(s) && runningId(s) !== firstId ? s : undefined;
        });
        assert.ok(restarted, `the kubelet did not restart kube-vip in 120 s: ${JSON.stringify(status())}\n${logs()}`);
        assert.equal(restarted.restartCount, 1);
        assert.equal(restarted.lastState?.terminated?.exitCode, 137, "the old container died of SIGKILL");
        assert.equal(restarted.lastState?.terminated?.containerID, `containerd://${firstId}`);
        assert.ok(await waitFor(60, () => (holdsVip() ? true : undefined)), `the VIP is not back on ${host.name}: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.equal(reachesApi(), "ok");
    });

    it("the manifest removed: the kubelet stops the pod and kube-vip drops the VIP; put back: it holds it again", { timeout: CASE_TIMEOUT }, async () => {
        node.inNode("rm", [KUBE_VIP_MANIFEST_PATH]);
        const gone = await waitFor(90, () => (processesIn(node.cgroupRoot, "kube-vip").length === 0 && cluster.holders().length === 0 && !mirrorPod()?.metadata ? true : undefined));
        assert.ok(gone, `kube-vip still running or the VIP still held 90 s after the manifest was removed: holders ${cluster.holders()}\n${logs()}`);
        assert.equal(cluster.clientReaches(), undefined);

        node.inNode("sh", ["-c", `mkdir -p ${MANIFEST_DIR} && cat > ${KUBE_VIP_MANIFEST_PATH}`], manifest);
        const back = await waitFor(120, () => (runningId() && holdsVip() ? runningId() : undefined));
        assert.ok(back, `kube-vip not back with the VIP in 120 s: ${JSON.stringify(mirrorPod()?.status)}\n${logs()}`);
        assert.notEqual(back, firstId);
        assert.equal(reachesApi(), "ok");
    });
});

// The three control planes, each with its own kubelet and containerd: the failover as it happens
// on real nodes, the static pods stopped and restarted by their kubelets.
describe("kube-vip's static pods through real kubelets, containerd and runc (three control planes)", { skip }, () => {
    const manifest = kubeVipManifestFor(renderKubeVipManifest({ address: VIP, port: 6443, interface: IFACE, image: IMAGES.kubeVip }), "/etc/kubernetes/admin.conf");
    const pod = parse(manifest);
    let cluster: Cluster;
    const nodes = new Map<string, KubeletNode>();

    before(async () => {
        cluster = new Cluster(HOSTS);
        cluster.network(false);
        cluster.pki();
        await cluster.controlPlane();
        const images = buildImages(cluster.dir);
        for (const host of HOSTS) {
            const node = new KubeletNode(cluster, host);
            nodes.set(host.name, node);
            node.start({
                images,
                sandboxImage: SANDBOX_IMAGE,
                etc: {
                    "kubernetes/admin.conf": fs.readFileSync(path.join(cluster.dir, "admin.conf"), "utf8"),
                    [path.posix.relative("/etc", KUBE_VIP_MANIFEST_PATH)]: manifest,
                },
            });
        }
    });
    after(async () => {
        await stopAll([...nodes.values()], cluster);
    });

    const running = (host: string) => {
        const s: ContainerStatus | undefined = cluster.api(host, `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}-${host}`)?.status?.containerStatuses?.[0];
        return Boolean(s?.state?.running);
    };
    /** The Lease's holder, from the first API server that answers (a powered-off host's cannot reach etcd). */
    const leaseHolder = () => {
        for (const h of HOSTS) {
            const lease = cluster.api(h.name, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/plndr-cp-lock");
            if (lease?.spec) return lease.spec.holderIdentity as string | undefined;
        }
        return undefined;
    };
    const reachesApi = () => inNs("client", "curl", ["-sf", "--max-time", "5", "--cacert", `${cluster.dir}/ca.crt`, "-H", `Authorization: Bearer ${TOKEN}`, `https://${VIP}:6443/readyz`]);
    const logs = () => [...nodes.entries()].map(([h, n]) => `--- ${h} kubelet\n${n.log("kubelet").slice(-1500)}`).join("\n");
    /** The single holder among `among`, reached by the client and named by the Lease, other than `not`; polled. */
    const singleHolder = (seconds: number, not: string[], among = HOSTS.map((h) => h.name)) =>
        waitFor(seconds, () => {
            const held = cluster.holders().filter((h) => among.includes(h));
            return held.length === 1 && !not.includes(held[0]) && cluster.clientReaches() === held[0] && leaseHolder() === held[0] ? held[0] : undefined;
        });
    let first = "";
    let second = "";

    it("every kubelet runs kube-vip; exactly one control plane holds the VIP, the client reaches it, the Lease names it", { timeout: CASE_TIMEOUT }, async () => {
        const all = await waitFor(240, () => (HOSTS.every((h) => running(h.name)) ? true : undefined));
        assert.ok(all, `not every kubelet runs kube-vip in 240 s: ${HOSTS.map((h) => `${h.name} ${running(h.name)}`)}\n${logs()}`);
        first = (await singleHolder(120, [])) ?? "";
        assert.ok(first, `no single holder in 120 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.equal(reachesApi(), "ok");
    });

    it("the holder's manifest removed (as `kubeadm reset` empties the directory): its kubelet stops kube-vip, another control plane takes the VIP at once", { timeout: CASE_TIMEOUT }, async (t) => {
        assert.ok(first, "needs the previous case");
        nodes.get(first)!.inNode("rm", [KUBE_VIP_MANIFEST_PATH]);
        // kube-vip stopped with SIGTERM releases the Lease on its way out: no wait for it to expire.
        second = (await singleHolder(60, [first])) ?? "";
        assert.ok(second, `no other control plane took the VIP in 60 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.ok(!cluster.holders().includes(first), `${first} still holds the VIP`);
        assert.equal(reachesApi(), "ok");
        t.diagnostic(`VIP on ${first}, then on ${second} after ${first}'s manifest was removed`);
    });

    it("the manifest put back: the kubelet starts kube-vip again, it follows the leader and the VIP stays", { timeout: CASE_TIMEOUT }, async () => {
        assert.ok(first && second, "needs the previous cases");
        nodes.get(first)!.inNode("sh", ["-c", `mkdir -p ${MANIFEST_DIR} && cat > ${KUBE_VIP_MANIFEST_PATH}`], manifest);
        assert.ok(await waitFor(120, () => (running(first) ? true : undefined)), `kube-vip not running again on ${first}\n${logs()}`);
        // Long enough for it to have tried for the Lease (retry period 2 s).
        await new Promise((r) => setTimeout(r, 10_000));
        assert.deepEqual(cluster.holders(), [second]);
        assert.equal(leaseHolder(), second);
        assert.equal(cluster.clientReaches(), second);
    });

    it("the holder powered off (its kubelet, containerd and containers killed, its link down): another control plane takes the VIP once the Lease expires", { timeout: CASE_TIMEOUT }, async (t) => {
        assert.ok(first && second, "needs the previous cases");
        await nodes.get(second)!.stop();
        sh("ip", ["-n", ns(second), "link", "set", IFACE, "down"]);
        const alive = HOSTS.map((h) => h.name).filter((h) => h !== second);
        const third = await singleHolder(90, [second], alive);
        assert.ok(third, `no surviving control plane took the VIP in 90 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.equal(reachesApi(), "ok");
        t.diagnostic(`${second} powered off: ${third} holds the VIP`);
    });
});
