/**
 * kube-vip (kubernetes.controlPlaneEndpoint mode "kube-vip") run for real, the way its static pod
 * runs it, on three simulated control-plane hosts — without kubelet or containerd (no image can be
 * pulled here): the kube-vip binary is built from its Go module (test/e2e/tools/kube-vip, the
 * version config/versions.ts pins) and started with what the program's rendered Pod says — its
 * args, its env (spec.nodeName filled in as the kubelet does), its capabilities (the bounding set
 * the container runtime would leave: `drop: [ALL]` plus `add`), the kubeconfig hostPath mounted at
 * the container's mountPath, and /etc/hosts with the Pod's hostAliases, in the host's network
 * namespace (hostNetwork). Nothing of the Pod is retyped here: it is parsed from the renderer's
 * output as a control plane writes it (admin.conf mounted).
 *
 * The hosts: network namespaces of our own (never the root namespace's network) on one bridge in a
 * hub namespace; each runs a real kube-apiserver on 0.0.0.0:6443 (as kubeadm's static pod does on
 * the host network), all three on one etcd in the hub, and a small HTTP listener answering its own
 * name. The kubeconfig is a kubeadm admin.conf's shape: the server is the control-plane endpoint
 * (the VIP), the CA the cluster's, a system:masters user (super-admin.conf's group).
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { kubeVipManifestFor, renderKubeVipManifest } from "../../components/render/kubeVip";
import { IMAGES } from "../../config/versions";
import { stopChildren } from "./apiserver";
import { onPath, skipUnless } from "./tools";

const skip =
    (process.getuid?.() !== 0 && "needs root (network namespaces)") ||
    skipUnless("kube-vip") || skipUnless("kube-apiserver") || skipUnless("etcd") || skipUnless("openssl") || skipUnless("curl") ||
    skipUnless("setpriv") || skipUnless("unshare");

const SUBNET = "10.77.0";
const VIP = `${SUBNET}.100`;
const HUB_IP = `${SUBNET}.1`;
const CLIENT_IP = `${SUBNET}.50`;
const HOSTS = [
    { name: "cp1", ip: `${SUBNET}.11` },
    { name: "cp2", ip: `${SUBNET}.12` },
    { name: "cp3", ip: `${SUBNET}.13` },
] as const;
const IFACE = "eth0";
const TOKEN = "e2e-kube-vip-admin-token";
const tag = `kv${process.pid}`;
const ns = (name: string) => `${tag}-${name}`;

interface PodRun {
    readonly args: string[];
    /** env with values; valueFrom fieldRef spec.nodeName filled per host. */
    readonly env: (nodeName: string) => Record<string, string>;
    /** setpriv's --bounding-set for the container's capabilities. */
    readonly boundingSet: string;
    /** mountPath → the hostPath (on the node) of each volume mounted. */
    readonly mounts: { mountPath: string; hostPath: string }[];
    /** /etc/hosts lines from hostAliases. */
    readonly hostAliases: string[];
    readonly lease: { namespace: string; name: string };
}

/** How the kubelet and the container runtime would run the Pod's one container, from its manifest. */
function podRun(manifest: string): PodRun {
    const pod = parse(manifest);
    assert.equal(pod.spec.hostNetwork, true, "kube-vip must run in the host's network namespace");
    assert.equal(pod.spec.containers.length, 1);
    const c = pod.spec.containers[0];
    assert.equal(c.command, undefined, "the image's entrypoint (/kube-vip) is run with args");
    const env = (nodeName: string) =>
        Object.fromEntries(
            c.env.map((e: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }) => {
                if (e.value !== undefined) return [e.name, e.value];
                if (e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName") return [e.name, nodeName];
                throw new Error(`env ${e.name}: no rule here for ${JSON.stringify(e.valueFrom)}`);
            }),
        );
    const caps = c.securityContext?.capabilities ?? {};
    assert.deepEqual(caps.drop, ["ALL"], "the bounding set below assumes every default capability dropped");
    const boundingSet = ["-all", ...(caps.add ?? []).map((cap: string) => `+${cap.toLowerCase()}`)].join(",");
    const volumes = new Map<string, string>(pod.spec.volumes.map((v: { name: string; hostPath: { path: string } }) => [v.name, v.hostPath.path]));
    const mounts = c.volumeMounts.map((m: { name: string; mountPath: string }) => ({ mountPath: m.mountPath, hostPath: volumes.get(m.name)! }));
    const hostAliases = (pod.spec.hostAliases ?? []).map((a: { ip: string; hostnames: string[] }) => `${a.ip}\t${a.hostnames.join(" ")}`);
    const probe = env("probe");
    return { args: c.args, env, boundingSet, mounts, hostAliases, lease: { namespace: probe.cp_namespace, name: probe.vip_leasename } };
}

function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, timeout: 60_000 });
    if (!opts.allowFail && r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")}: ${r.status} ${r.stderr}`);
    }
    return r.status === 0 ? r.stdout : "";
}

const ip = (...args: string[]) => sh("ip", args);
const inNs = (name: string, cmd: string, args: string[], allowFail = true) => sh("ip", ["netns", "exec", ns(name), cmd, ...args], { allowFail });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every second until it returns a value, at most `seconds`; undefined if it never did. */
async function waitFor<T>(seconds: number, probe: () => T | undefined): Promise<T | undefined> {
    for (let i = 0; i < seconds; i++) {
        const v = probe();
        if (v !== undefined) return v;
        await sleep(1000);
    }
    return probe();
}

class Cluster {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-kube-vip-"));
    private readonly children: ChildProcess[] = [];
    readonly kubeVip = new Map<string, ChildProcess>();
    private readonly namespaces: string[] = [];

    private spawnIn(nsName: string, log: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
        const out = fs.openSync(path.join(this.dir, log), "a");
        const child = spawn("ip", ["netns", "exec", ns(nsName), cmd, ...args], { stdio: ["ignore", out, out], env });
        fs.closeSync(out);
        this.children.push(child);
        return child;
    }

    /** defaultRoute: each host gets a default route over eth0 (to the hub), as kube-vip looks for
     * one when vip_interface is not set (cmd/kube-vip.go, vip.GetDefaultGatewayInterface). */
    network(defaultRoute: boolean): void {
        for (const name of ["hub", ...HOSTS.map((h) => h.name), "client"]) {
            ip("netns", "add", ns(name));
            this.namespaces.push(ns(name));
            ip("-n", ns(name), "link", "set", "lo", "up");
        }
        ip("-n", ns("hub"), "link", "add", "br0", "type", "bridge");
        ip("-n", ns("hub"), "addr", "add", `${HUB_IP}/24`, "dev", "br0");
        ip("-n", ns("hub"), "link", "set", "br0", "up");
        for (const [name, addr] of [...HOSTS.map((h) => [h.name, h.ip]), ["client", CLIENT_IP]]) {
            // The veth's hub end is named after the host (names are per namespace).
            ip("-n", ns("hub"), "link", "add", name, "type", "veth", "peer", "name", IFACE, "netns", ns(name));
            ip("-n", ns("hub"), "link", "set", name, "master", "br0", "up");
            ip("-n", ns(name), "addr", "add", `${addr}/24`, "dev", IFACE);
            ip("-n", ns(name), "link", "set", IFACE, "up");
            if (defaultRoute && name !== "client") ip("-n", ns(name), "route", "add", "default", "via", HUB_IP, "dev", IFACE);
        }
    }

    pki(): void {
        const d = this.dir;
        const ossl = (...args: string[]) => sh("openssl", args);
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${d}/ca.key`, "-out", `${d}/ca.crt`, "-days", "1", "-subj", "/CN=kubernetes");
        // kubeadm's apiserver certificate names: "kubernetes…", the node's IP, the endpoint (VIP).
        const sans = ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:localhost", "IP:127.0.0.1", `IP:${VIP}`, ...HOSTS.map((h) => `IP:${h.ip}`)].join(",");
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${d}/apiserver.key`, "-out", `${d}/apiserver.csr`, "-subj", "/CN=kube-apiserver");
        fs.writeFileSync(`${d}/san.ext`, `subjectAltName=${sans}\n`);
        ossl("x509", "-req", "-in", `${d}/apiserver.csr`, "-CA", `${d}/ca.crt`, "-CAkey", `${d}/ca.key`, "-CAcreateserial", "-out", `${d}/apiserver.crt`, "-days", "1", "-extfile", `${d}/san.ext`);
        ossl("genrsa", "-out", `${d}/sa.key`, "2048");
        fs.writeFileSync(`${d}/tokens.csv`, `${TOKEN},kubernetes-super-admin,kubernetes-super-admin,system:masters\n`);
        // admin.conf as kubeadm writes it with controlPlaneEndpoint set: the server is the endpoint.
        const ca = fs.readFileSync(`${d}/ca.crt`).toString("base64");
        fs.writeFileSync(
            `${d}/admin.conf`,
            [
                "apiVersion: v1", "kind: Config",
                "clusters:", `- name: kubernetes`, `  cluster:`, `    server: https://${VIP}:6443`, `    certificate-authority-data: ${ca}`,
                "users:", "- name: kubernetes-super-admin", "  user:", `    token: ${TOKEN}`,
                "contexts:", "- name: kubernetes-super-admin@kubernetes", "  context: {cluster: kubernetes, user: kubernetes-super-admin}",
                "current-context: kubernetes-super-admin@kubernetes", "",
            ].join("\n"),
            { mode: 0o600 },
        );
    }

    /** GET on a host's own API server (from inside its namespace); the parsed body or undefined. */
    api(host: string, urlPath: string): any {
        const out = inNs(host, "curl", ["-sf", "--max-time", "5", "--cacert", `${this.dir}/ca.crt`, "-H", `Authorization: Bearer ${TOKEN}`, `https://127.0.0.1:6443${urlPath}`]);
        try {
            return out ? JSON.parse(out) : undefined;
        } catch {
            return out;
        }
    }

    async controlPlane(): Promise<void> {
        const etcdUrl = `http://${HUB_IP}:2379`;
        const peerUrl = `http://${HUB_IP}:2380`;
        this.spawnIn("hub", "etcd.log", onPath("etcd")!, ["--data-dir", `${this.dir}/etcd`, "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
            "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `default=${peerUrl}`, "--listen-metrics-urls", ""]);
        for (const h of HOSTS) {
            this.spawnIn(h.name, `apiserver-${h.name}.log`, onPath("kube-apiserver")!, [
                "--etcd-servers", etcdUrl, "--bind-address", "0.0.0.0", "--advertise-address", h.ip, "--secure-port", "6443",
                "--tls-cert-file", `${this.dir}/apiserver.crt`, "--tls-private-key-file", `${this.dir}/apiserver.key`,
                "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", `${this.dir}/sa.key`,
                "--service-account-signing-key-file", `${this.dir}/sa.key`, "--token-auth-file", `${this.dir}/tokens.csv`,
                "--authorization-mode", "RBAC", "--service-cluster-ip-range", "10.96.0.0/12",
            ]);
            // Answers its own name on every address of the host, the VIP included when it holds it.
            this.spawnIn(h.name, `listener-${h.name}.log`, process.execPath, ["-e", `require("http").createServer((q, r) => r.end(${JSON.stringify(h.name)})).listen(8080, "0.0.0.0")`]);
        }
        for (const h of HOSTS) {
            const ready = await waitFor(180, () => (this.api(h.name, "/readyz") === "ok" ? true : undefined));
            assert.ok(ready, `kube-apiserver on ${h.name} not ready in 180 s:\n${fs.readFileSync(`${this.dir}/apiserver-${h.name}.log`, "utf8").slice(-2000)}`);
        }
    }

    /**
     * kube-vip on `host` as the static pod runs: the host's network namespace, a mount namespace of
     * its own with /etc as the container sees it (hosts from hostAliases, each volume at its
     * mountPath; ld.so.cache only for setpriv), the Pod's env and args, its capabilities only.
     */
    startKubeVip(host: string, run: PodRun, hostFiles: Record<string, string>): ChildProcess {
        const etc = `${this.dir}/${host}-etc`;
        fs.mkdirSync(etc, { recursive: true });
        fs.writeFileSync(`${etc}/hosts`, ["127.0.0.1\tlocalhost", ...run.hostAliases, ""].join("\n"));
        fs.copyFileSync("/etc/ld.so.cache", `${etc}/ld.so.cache`);
        for (const m of run.mounts) {
            assert.match(m.mountPath, /^\/etc\//, "mounts outside /etc are not laid out here");
            const source = hostFiles[m.hostPath];
            assert.ok(source, `no file for hostPath ${m.hostPath}`);
            fs.mkdirSync(path.dirname(path.join(etc, m.mountPath.slice(5))), { recursive: true });
            fs.copyFileSync(source, path.join(etc, m.mountPath.slice(5)));
        }
        const script = 'mount --bind "$1" /etc && shift && exec setpriv --bounding-set "$@"';
        const child = this.spawnIn(host, `kube-vip-${host}.log`, onPath("unshare")!,
            ["--mount", "--propagation", "private", "sh", "-c", script, "sh", etc, run.boundingSet, onPath("kube-vip")!, ...run.args],
            { PATH: process.env.PATH, HOME: "/root", ...run.env(host) });
        this.kubeVip.set(host, child);
        return child;
    }

    /** The hosts whose interface carries the VIP. */
    holders(): string[] {
        return HOSTS.filter((h) => inNs(h.name, "ip", ["-4", "-o", "addr", "show", "dev", IFACE]).includes(` ${VIP}/`)).map((h) => h.name);
    }

    /** What the client gets from the VIP: the answering host's name, or undefined. */
    clientReaches(): string | undefined {
        return inNs("client", "curl", ["-sf", "--max-time", "2", `http://${VIP}:8080/`]) || undefined;
    }

    async stop(): Promise<void> {
        await stopChildren(this.children);
        for (const name of this.namespaces.reverse()) sh("ip", ["netns", "delete", name], { allowFail: true });
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

// kubernetes.controlPlaneEndpoint.interface set (vip_interface), and left out (the default: kube-vip
// takes the default route's interface). The suites run one after the other, each with its own
// namespaces (the same names, removed by the previous suite's `after`).
for (const variant of [
    { title: "interface named", iface: IFACE as string | undefined },
    { title: "interface from the default route", iface: undefined },
]) describe(`kube-vip run as the program's static pod, on three simulated control planes (${variant.title})`, { skip }, () => {
    let cluster: Cluster;
    // As a joined control plane writes it (admin.conf mounted); the bootstrap node's super-admin.conf
    // variant differs only in the hostPath (test/kubeVip.test.ts).
    const manifest = kubeVipManifestFor(renderKubeVipManifest({ address: VIP, port: 6443, interface: variant.iface, image: IMAGES.kubeVip }), "/etc/kubernetes/admin.conf");
    const run = podRun(manifest);

    before(async () => {
        cluster = new Cluster();
        cluster.network(variant.iface === undefined);
        cluster.pki();
        await cluster.controlPlane();
    });
    after(async () => {
        if (process.env.K8SP_E2E_KEEP_KUBE_VIP) console.log(`kept logs in ${cluster?.dir}`);
        await cluster?.stop();
    });

    const leaseHolder = () => cluster.api("cp1", `/apis/coordination.k8s.io/v1/namespaces/${run.lease.namespace}/leases/${run.lease.name}`)?.spec?.holderIdentity as string | undefined;
    const logs = () => HOSTS.map((h) => `--- ${h.name}\n${fs.readFileSync(`${cluster.dir}/kube-vip-${h.name}.log`, "utf8").slice(-1500)}`).join("\n");

    const kubeconfigs = () => ({ "/etc/kubernetes/admin.conf": `${cluster.dir}/admin.conf` });
    const reachesApi = () => inNs("client", "curl", ["-sf", "--max-time", "5", "--cacert", `${cluster.dir}/ca.crt`, "-H", `Authorization: Bearer ${TOKEN}`, `https://${VIP}:6443/readyz`]);
    /** The single holder, reached by the client and named by the Lease, other than `not`; polled. */
    const singleHolder = (seconds: number, not: string[]) =>
        waitFor(seconds, () => {
            const held = cluster.holders();
            return held.length === 1 && !not.includes(held[0]) && cluster.clientReaches() === held[0] && leaseHolder() === held[0] ? held[0] : undefined;
        });
    /** Stops `host`'s kube-vip with `signal` and waits (bounded) for it to exit. */
    const stopKubeVip = async (host: string, signal: NodeJS.Signals) => {
        const child = cluster.kubeVip.get(host)!;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill(signal);
        await Promise.race([exited, sleep(30_000)]);
        assert.ok(child.exitCode !== null || child.signalCode !== null, `kube-vip on ${host} did not exit within 30 s of ${signal}`);
    };
    /** Restarts `host`'s kube-vip as the kubelet restarts the container, and waits until it has seen the leader. */
    const restartKubeVip = async (host: string, leader: string) => {
        const log = `${cluster.dir}/kube-vip-${host}.log`;
        const before = fs.readFileSync(log, "utf8").length;
        cluster.startKubeVip(host, run, kubeconfigs());
        const seen = await waitFor(60, () => (fs.readFileSync(log, "utf8").slice(before).includes(`New leader leader=${leader}`) ? true : undefined));
        assert.ok(seen, `restarted kube-vip on ${host} did not report leader ${leader} in 60 s\n${logs()}`);
    };
    let first = "";
    let second = "";

    it("one host holds the VIP, the client reaches it, the Lease names it; its kube-vip stopped, another takes over", async (t) => {
        for (const h of HOSTS) cluster.startKubeVip(h.name, run, kubeconfigs());

        first = (await singleHolder(120, [])) ?? "";
        assert.ok(first, `no single VIP holder reached by the client and named by the Lease in 120 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        // The API endpoint itself: TLS to the VIP verifies against the cluster CA (the VIP is a SAN).
        assert.equal(reachesApi(), "ok");

        // The kubelet stops a container with SIGTERM (static pod manifest removed, node shut down).
        await stopKubeVip(first, "SIGTERM");
        second = (await singleHolder(90, [first])) ?? "";
        assert.ok(second, `no other host took the VIP over in 90 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.ok(!cluster.holders().includes(first), `${first} still holds the VIP`);
        assert.equal(reachesApi(), "ok");
        t.diagnostic(`VIP held by ${first}, then by ${second} after ${first}'s kube-vip got SIGTERM`);
    });

    it("restarted on the host it left, kube-vip follows and the VIP stays where it is", async () => {
        assert.ok(first && second, "needs the previous case");
        await restartKubeVip(first, second);
        assert.deepEqual(cluster.holders(), [second]);
        assert.equal(leaseHolder(), second);
        assert.equal(cluster.clientReaches(), second);
    });

    it("the leader's kube-vip killed (SIGKILL): another host takes over, the dead one keeps the address until kube-vip restarts there", async (t) => {
        assert.ok(first && second, "needs the previous cases");
        await stopKubeVip(second, "SIGKILL");
        // No cleanup runs on SIGKILL: the address stays on the killed host's interface, and the new
        // holder's gratuitous ARP moves the client over (kube-vip's pkg/arp advertisement).
        const third = await waitFor(90, () => {
            const held = cluster.holders();
            const other = held.find((h) => h !== second);
            return other && cluster.clientReaches() === other && leaseHolder() === other ? other : undefined;
        });
        assert.ok(third, `no other host took the VIP over in 90 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.deepEqual(cluster.holders().sort(), [second, third].sort(), "the killed host keeps its address until kube-vip restarts there");
        // The kubelet restarts the container: kube-vip removes a VIP it finds before it elects
        // (pkg/cluster/clusterLeaderElection.go StartCluster, "(attempt to) Remove the virtual IP").
        await restartKubeVip(second, third);
        const alone = await waitFor(30, () => (cluster.holders().length === 1 ? cluster.holders() : undefined));
        assert.deepEqual(alone, [third]);
        assert.equal(cluster.clientReaches(), third);
        assert.equal(reachesApi(), "ok");
        t.diagnostic(`after SIGKILL of ${second}: ${third} holds the VIP, ${second} dropped it on restart`);
    });
});
