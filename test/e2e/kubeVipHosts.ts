/**
 * The simulated control-plane hosts the kube-vip tests run on (test/e2e/kube-vip.test.ts runs the
 * kube-vip binary as the static pod would, test/e2e/kube-vip-kubelet.test.ts runs the static pod
 * itself through a kubelet and containerd): network namespaces of our own (never the root
 * namespace's network) on one bridge in a hub namespace; each runs a real kube-apiserver on
 * 0.0.0.0:6443 (as kubeadm's static pod does on the host network), all on one etcd in the hub, and
 * a small HTTP listener answering its own name; a client namespace on the same bridge. The
 * kubeconfig is a kubeadm admin.conf's shape: the server is the control-plane endpoint (the VIP),
 * the CA the cluster's, a system:masters user (super-admin.conf's group).
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stopChildren } from "./apiserver";
import { onPath } from "./tools";

export const SUBNET = "10.77.0";
export const VIP = `${SUBNET}.100`;
export const HUB_IP = `${SUBNET}.1`;
export const CLIENT_IP = `${SUBNET}.50`;
/** The simulated control planes: a network namespace each, on the hub's bridge. */
export const HOSTS = [
    { name: "cp1", ip: `${SUBNET}.11` },
    { name: "cp2", ip: `${SUBNET}.12` },
    { name: "cp3", ip: `${SUBNET}.13` },
];
export const IFACE = "eth0";
export const TOKEN = "e2e-kube-vip-admin-token";
/** A namespace's name: one prefix per test process (each e2e file runs in its own), so two runs never collide. */
export const ns = (name: string) => `kv${process.pid}-${name}`;

/** How the program's Pod runs its one container (test/e2e/kube-vip.test.ts podRun reads it from the manifest). */
export interface PodRun {
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

export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, timeout: 60_000 });
    if (!opts.allowFail && r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")}: ${r.status} ${r.stderr}`);
    }
    return r.status === 0 ? r.stdout : "";
}

export const ip = (...args: string[]) => sh("ip", args);
export const inNs = (name: string, cmd: string, args: string[], allowFail = true) => sh("ip", ["netns", "exec", ns(name), cmd, ...args], { allowFail });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every second until it returns a value, at most `seconds`; undefined if it never did. */
export async function waitFor<T>(seconds: number, probe: () => T | undefined): Promise<T | undefined> {
    for (let i = 0; i < seconds; i++) {
        const v = probe();
        if (v !== undefined) return v;
        await sleep(1000);
    }
    return probe();
}

/**
 * The simulated control planes (`hosts`, default all three) with a kube-apiserver each on one etcd,
 * the hub and the client; kube-vip run directly by startKubeVip. stop() removes every process,
 * namespace and file it made.
 */
export class Cluster {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-kube-vip-"));
    private readonly children: ChildProcess[] = [];
    readonly kubeVip = new Map<string, ChildProcess>();
    private readonly namespaces: string[] = [];

    constructor(readonly hosts: readonly { name: string; ip: string }[] = HOSTS) {}

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
        for (const name of ["hub", ...this.hosts.map((h) => h.name), "client"]) {
            ip("netns", "add", ns(name));
            this.namespaces.push(ns(name));
            ip("-n", ns(name), "link", "set", "lo", "up");
        }
        ip("-n", ns("hub"), "link", "add", "br0", "type", "bridge");
        ip("-n", ns("hub"), "addr", "add", `${HUB_IP}/24`, "dev", "br0");
        ip("-n", ns("hub"), "link", "set", "br0", "up");
        for (const [name, addr] of [...this.hosts.map((h) => [h.name, h.ip]), ["client", CLIENT_IP]]) {
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
        const sans = ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:localhost", "IP:127.0.0.1", `IP:${VIP}`, ...this.hosts.map((h) => `IP:${h.ip}`)].join(",");
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
        for (const h of this.hosts) {
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
        for (const h of this.hosts) {
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
        return this.hosts.filter((h) => inNs(h.name, "ip", ["-4", "-o", "addr", "show", "dev", IFACE]).includes(` ${VIP}/`)).map((h) => h.name);
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
