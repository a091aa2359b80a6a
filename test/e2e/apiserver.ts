/**
 * A real kube-apiserver backed by a real etcd (both built by build-tools.sh from their Go modules),
 * listening on 127.0.0.1 only, in a temporary directory. No controllers, no nodes: enough for
 * server-side apply with dryRun, strict field validation, admission and CRDs.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./tools";

export interface Response {
    readonly status: number;
    readonly body: string;
}

export class ApiServer {
    private readonly children: ChildProcess[] = [];
    private readonly token = "e2e-admin-token";
    private port = 0;

    private constructor(private readonly dir: string) {}

    static async start(): Promise<ApiServer> {
        const server = new ApiServer(fs.mkdtempSync(path.join(os.tmpdir(), "e2e-apiserver-")));
        await server.boot();
        return server;
    }

    private spawnLogged(tool: string, args: string[], log: string): ChildProcess {
        const out = fs.openSync(path.join(this.dir, log), "w");
        const child = spawn(tool, args, { stdio: ["ignore", out, out] });
        fs.closeSync(out);
        this.children.push(child);
        return child;
    }

    private async boot(): Promise<void> {
        const [client, peer] = [await freePort(), await freePort()];
        this.port = await freePort();
        const etcdUrl = `http://127.0.0.1:${client}`;
        const peerUrl = `http://127.0.0.1:${peer}`;
        this.spawnLogged(
            "etcd",
            ["--data-dir", path.join(this.dir, "etcd"), "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
                "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `default=${peerUrl}`,
                "--listen-metrics-urls", ""],
            "etcd.log",
        );
        const saKey = path.join(this.dir, "sa.key");
        const gen = spawnSync("openssl", ["genrsa", "-out", saKey, "2048"], { encoding: "utf8" });
        if (gen.status !== 0) {
            throw new Error(`openssl genrsa: ${gen.stderr}`);
        }
        // A static token for a system:masters user: test credentials on loopback only.
        fs.writeFileSync(path.join(this.dir, "tokens.csv"), `${this.token},e2e-admin,e2e-admin,system:masters\n`);
        this.spawnLogged(
            "kube-apiserver",
            ["--etcd-servers", etcdUrl, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
                "--secure-port", String(this.port), "--cert-dir", path.join(this.dir, "certs"),
                "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", saKey,
                "--service-account-signing-key-file", saKey, "--token-auth-file", path.join(this.dir, "tokens.csv"),
                "--authorization-mode", "RBAC", "--service-cluster-ip-range", "10.96.0.0/12"],
            "apiserver.log",
        );
        const deadline = Date.now() + 90_000;
        while (Date.now() < deadline) {
            const ready = await this.request("GET", "/readyz").catch(() => undefined);
            if (ready?.status === 200) {
                return;
            }
            await new Promise((r) => setTimeout(r, 1000));
        }
        const log = fs.readFileSync(path.join(this.dir, "apiserver.log"), "utf8").slice(-3000);
        await this.stop();
        throw new Error(`kube-apiserver not ready in 90s:\n${log}`);
    }

    request(method: string, urlPath: string, body?: unknown, contentType = "application/json"): Promise<Response> {
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: "127.0.0.1",
                    port: this.port,
                    path: urlPath,
                    method,
                    // Its serving certificate is self-signed in cert-dir; only loopback is involved.
                    rejectUnauthorized: false,
                    headers: { Authorization: `Bearer ${this.token}`, "Content-Type": contentType },
                    timeout: 30_000,
                },
                (res) => {
                    let data = "";
                    res.on("data", (chunk) => (data += chunk));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
                },
            );
            req.on("error", reject);
            req.end(body === undefined ? undefined : JSON.stringify(body));
        });
    }

    /** Stops the API server, then etcd (SIGTERM, SIGKILL after 10 s), and removes the directory. */
    async stop(): Promise<void> {
        await stopChildren(this.children);
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** Stops processes last-started first: SIGTERM, SIGKILL after 10 s; waits for each to exit. */
export async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
    for (const child of [...children].reverse()) {
        if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(timer);
        }
    }
}
