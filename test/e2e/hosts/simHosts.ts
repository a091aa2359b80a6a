/**
 * Simulated hosts for the engine tests (test/e2e/hosts/hosts.sh does the work): each node a
 * network namespace with Debian's real sshd in an overlay of the real-root tier's Debian root,
 * the kubeadm/kubectl stubs handing over to a real control plane on the bootstrap node.
 * Everything started here is stopped by `stop()` (namespaces, mounts, processes), also after a
 * failure: call it from `after`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onPath } from "../tools";

const HERE = __dirname;
const REPO = path.resolve(HERE, "..", "..", "..");
export const E2E_CACHE = process.env.K8S_PLATFORM_E2E_CACHE ?? path.join(os.homedir(), ".cache", "k8s-platform-e2e");

export interface SimNode {
    readonly name: string;
    readonly ip: string;
    readonly role: "control-plane" | "worker";
}

function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", env: opts.env ?? process.env, timeout: opts.timeout ?? 1_800_000, maxBuffer: 64 << 20 });
    if (r.error) {
        throw r.error;
    }
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`.slice(-6000));
    }
    return r.stdout.trim();
}

/** The engine's env file (PATH and PULUMI_* lines) when the engine build announced it, else undefined. */
export function engineEnv(): Record<string, string> | undefined {
    const ready = path.join(E2E_CACHE, "engine-ready");
    if (!fs.existsSync(ready)) {
        return undefined;
    }
    const file = fs.readFileSync(ready, "utf8").trim();
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const env: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
        if (m) {
            const value = m[2].replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
            env[m[1]] = value.replace(/\$PATH|\$\{PATH\}/g, process.env.PATH ?? "");
        }
    }
    return env;
}

/** Why the simulated hosts cannot run here (undefined: they can); `extraTools` are a test's own needs. */
export function missingForSimHosts(extraTools: readonly string[] = []): string | undefined {
    if (process.getuid?.() !== 0) {
        return "the simulated hosts need root (network namespaces, overlay mounts, chroot)";
    }
    for (const tool of ["ip", "unshare", "ssh", "ssh-keygen", "python3", "go", "debootstrap", ...extraTools]) {
        if (!onPath(tool)) {
            return `${tool} is not installed (the simulated hosts and their builds need it)`;
        }
    }
    for (const tool of ["kube-apiserver", "etcd"]) {
        if (!onPath(tool)) {
            return `${tool} is not on PATH: run \`npm run test:e2e\` (test/e2e/build-tools.sh builds it)`;
        }
    }
    return undefined;
}

/** Why the engine tests cannot run here (naming what is missing), or undefined. */
export function missingForEngineTests(): string | undefined {
    const hostsMissing = missingForSimHosts();
    if (hostsMissing) {
        return hostsMissing;
    }
    const env = engineEnv();
    if (!env) {
        return `the Pulumi CLI and provider plugins are not built: ${path.join(E2E_CACHE, "engine-ready")} is missing (the engine build writes it)`;
    }
    const pathWithEngine = env.PATH ?? process.env.PATH ?? "";
    if (!pathWithEngine.split(":").some((d) => fs.existsSync(path.join(d, "pulumi")))) {
        return "the engine env names no directory with the `pulumi` CLI";
    }
    return undefined;
}

/** Builds (or finds cached) the real-root root, its repositories and this tier's tools. */
export function buildCaches(): { root: string; repos: string; hosts: string } {
    const root = sh("bash", [path.join(REPO, "test/realroot/build-root.sh")]);
    const repos = sh("bash", [path.join(REPO, "test/realroot/make-repos.sh"), root]);
    const hosts = sh("bash", [path.join(HERE, "build.sh"), root]);
    return { root, repos, hosts };
}

export class SimHosts {
    readonly sshPrivateKey: string;
    /** The private key file `ssh()` logs in with (the generated key, until `useIdentity`). */
    private identity: string;
    readonly hubUrl: string;
    readonly hostKeys: Record<string, string> = {};

    private constructor(
        readonly stateDir: string,
        readonly nodes: SimNode[],
    ) {
        const env = Object.fromEntries(
            fs
                .readFileSync(path.join(stateDir, "env"), "utf8")
                .trim()
                .split("\n")
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
        this.sshPrivateKey = fs.readFileSync(env.SSH_KEY, "utf8");
        this.identity = env.SSH_KEY;
        this.hubUrl = env.HUB_URL;
        for (const n of nodes) {
            this.hostKeys[n.name] = fs.readFileSync(path.join(stateDir, n.name, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
        }
    }

    /** Starts `nodes` on `subnet` (e.g. "10.213.7": a /24 of its own per test file). */
    static start(subnet: string, nodes: SimNode[], caches: { root: string; repos: string; hosts: string }): SimHosts {
        const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-hosts-"));
        // etcdctl/etcdutl (when built) go on each node's PATH: the maintenance step then uses them.
        const binDirs = [
            ...["kube-apiserver", "etcd"].map((t) => path.dirname(onPath(t) as string)),
            ...["etcdctl", "etcdutl"].flatMap((t) => (onPath(t) ? [path.dirname(onPath(t) as string)] : [])),
        ];
        const env = { ...process.env, E2E_CACHE: caches.root, E2E_REPOS: caches.repos, HOSTS_CACHE: caches.hosts, E2E_BIN_DIRS: [...new Set(binDirs)].join(":") };
        try {
            // Nodes start one after another (101 took about 95 s on two loaded cores): the bound grows with them.
            sh("bash", [path.join(HERE, "hosts.sh"), "up", stateDir, subnet, ...nodes.map((n) => `${n.name}=${n.ip}`)], { env, timeout: 300_000 + 3_000 * nodes.length });
        } catch (e) {
            try {
                SimHosts.down(stateDir, nodes.length);
            } catch (left) {
                throw new Error(`${(e as Error).message}\n${(left as Error).message}`);
            }
            throw e;
        }
        return new SimHosts(stateDir, nodes);
    }

    /**
     * `hosts.sh down`, bounded by the node count (it kills every node at once and waits at most
     * 30 s + 0.5 s a node for them; the rest is quick). Done when `hosts.sh left` finds nothing:
     * then the state directory goes; otherwise it stays and the error names what is left and how to
     * remove it. `timeoutMs` overrides the bound (a test cuts a teardown short with it).
     */
    private static down(stateDir: string, nodeCount: number, timeoutMs?: number): void {
        const script = path.join(HERE, "hosts.sh");
        const bound = timeoutMs ?? 120_000 + 1_000 * nodeCount;
        const r = spawnSync("bash", [script, "down", stateDir], { encoding: "utf8", stdio: ["ignore", "inherit", "pipe"], timeout: bound });
        const left = spawnSync("bash", [script, "left", stateDir], { encoding: "utf8", timeout: 60_000 + 200 * nodeCount });
        const remaining = (left.stdout ?? "").split("\n").filter((l) => l !== "");
        if (left.status === 0 && remaining.length === 0) {
            fs.rmSync(stateDir, { recursive: true, force: true });
            return;
        }
        const why = r.error ? `cut short after ${bound} ms (${r.error.message})` : `exited ${r.status ?? r.signal}: ${(r.stderr ?? "").trim().slice(-2000)}`;
        const what = left.status === 0 ? remaining.join(", ") : `unknown (hosts.sh left failed: ${(left.stderr ?? "").trim()})`;
        throw new Error(`simulated hosts' teardown incomplete: hosts.sh down ${why}; left behind: ${what}; ` +
            `the state stays in ${stateDir}: \`bash ${script} down ${stateDir}\` removes the rest`);
    }

    /**
     * Stops every node (and its control plane), removes the namespaces, veths and overlays. Throws,
     * naming what it could not remove (and keeping the state for another try), when something is left.
     */
    stop(opts: { timeoutMs?: number } = {}): void {
        if (process.env.K8SP_E2E_KEEP_HOSTS) {
            // For debugging a failure: `bash test/e2e/hosts/hosts.sh down <dir>` removes them later.
            console.error(`K8SP_E2E_KEEP_HOSTS: the simulated hosts stay up, state in ${this.stateDir}`);
            return;
        }
        SimHosts.down(this.stateDir, this.nodes.length, opts.timeoutMs);
    }

    node(name: string): SimNode {
        const n = this.nodes.find((x) => x.name === name);
        if (!n) {
            throw new Error(`no simulated node ${name}`);
        }
        return n;
    }

    /** A file of the node as it wrote it (its overlay's upper directory), or undefined. */
    file(name: string, p: string): string | undefined {
        const f = path.join(this.stateDir, "nodes", name, "upper", p);
        // A file the node deleted is a whiteout (a 0/0 character device) in the upper directory.
        const st = fs.statSync(f, { throwIfNoEntry: false });
        return st?.isFile() ? fs.readFileSync(f, "utf8") : undefined;
    }

    /** The stubbed commands the node ran (test/realroot/stubs and the real-cluster kubeadm). */
    calls(name: string): string[] {
        return (this.file(name, "/var/lib/k8sp-stub/calls") ?? "").split("\n").filter((l) => l !== "");
    }

    /** The same, with the time each ran (the real-cluster mode's log, seconds since the epoch). */
    timedCalls(name: string): { at: number; call: string }[] {
        return (this.file(name, "/var/lib/k8sp-stub/calls.timed") ?? "")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => ({ at: Number(l.slice(0, l.indexOf(" "))), call: l.slice(l.indexOf(" ") + 1) }));
    }

    /** SSH sessions sshd accepted on the node so far (every remote command opens one). */
    sessions(name: string): number {
        const log = fs.readFileSync(path.join(this.stateDir, name, "sshd.log"), "utf8");
        return log.split("\n").filter((l) => l.startsWith("Accepted publickey for root")).length;
    }

    /**
     * The same, per key: the SHA256 fingerprint of the key of each session sshd accepted
     * ("Accepted publickey for root from … ssh2: ED25519 SHA256:…", OpenSSH auth2-pubkey.c).
     */
    sessionKeys(name: string): string[] {
        const log = fs.readFileSync(path.join(this.stateDir, name, "sshd.log"), "utf8");
        return log.split("\n").filter((l) => l.startsWith("Accepted publickey for root")).map((l) => /SHA256:\S+/.exec(l)?.[0] ?? "?");
    }

    /** Makes `ssh()` log in with another private key file (after a key rotation revoked the first). */
    useIdentity(privateKeyFile: string): void {
        this.identity = privateKeyFile;
    }

    /** Runs a command on the node over SSH (host key pinned); counted in `sessions`. */
    ssh(name: string, command: string): string {
        const n = this.node(name);
        return sh("ssh", ["-q", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(this.stateDir, "known_hosts")}`,
            "-i", this.identity, `root@${n.ip}`, command], { timeout: 120_000 });
    }
}
