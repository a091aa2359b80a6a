/**
 * A real OpenSSH server (Debian's openssh-server) on 127.0.0.1 and a free high port, with its own
 * config, host key and client key in a temporary directory; the current user logs in with the
 * generated key. Started by a test, killed by `stop()`.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { freePort } from "./tools";

export const SSHD = "/usr/sbin/sshd";

/** Why sshd tests must skip, or false. */
export function sshdSkipReason(): string | false {
    if (!fs.existsSync(SSHD)) {
        return `${SSHD} is missing: install Debian's openssh-server`;
    }
    if (spawnSync("ssh-keygen", ["-?"]).error) {
        return "ssh-keygen is missing: install Debian's openssh-client";
    }
    return false;
}

export interface Sshd {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    /** The client's private key (OpenSSH format). */
    readonly privateKey: string;
    /** The server's host public key, authorized_keys format ("ssh-ed25519 AAAA…"). */
    readonly hostKey: string;
    /** A scratch directory the remote commands may write to. */
    readonly scratch: string;
    stop(): Promise<void>;
}

function keygen(file: string, type: string): void {
    const r = spawnSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "e2e", "-f", file], { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`ssh-keygen: ${r.stderr}`);
    }
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
        if (child.exitCode !== null) {
            throw new Error(`sshd exited with ${child.exitCode}: ${log()}`);
        }
        const open = await new Promise<boolean>((resolve) => {
            const socket = net.connect(port, "127.0.0.1");
            socket.once("connect", () => {
                socket.destroy();
                resolve(true);
            });
            socket.once("error", () => resolve(false));
        });
        if (open) {
            return;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sshd did not listen on 127.0.0.1:${port}: ${log()}`);
}

/**
 * Starts sshd. `acceptEnv` lists the variables the server takes from SSH setenv requests (stock
 * sshd takes none but LANG/LC_*, which is what pulumi-command's environment inputs run into).
 */
export async function startSshd(opts: { acceptEnv?: string[] } = {}): Promise<Sshd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-sshd-"));
    fs.chmodSync(dir, 0o755);
    keygen(path.join(dir, "host_ed25519"), "ed25519");
    keygen(path.join(dir, "client"), "ed25519");
    fs.copyFileSync(path.join(dir, "client.pub"), path.join(dir, "authorized_keys"));
    const scratch = path.join(dir, "scratch");
    fs.mkdirSync(scratch);
    const port = await freePort();
    const user = os.userInfo().username;
    const config = [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${path.join(dir, "host_ed25519")}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        // The temporary directory's modes are not what StrictModes wants for a home directory.
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        ...(opts.acceptEnv?.length ? [`AcceptEnv ${opts.acceptEnv.join(" ")}`] : []),
        "LogLevel VERBOSE",
    ];
    fs.writeFileSync(path.join(dir, "sshd_config"), `${config.join("\n")}\n`);
    // Privilege separation needs this directory when sshd runs as root (the Debian service unit makes it).
    if (process.getuid?.() === 0) {
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    }
    let log = "";
    const child = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (chunk: Buffer) => {
        log += chunk.toString();
    });
    await waitForPort(port, child, () => log);
    const hostKey = fs.readFileSync(path.join(dir, "host_ed25519.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    return {
        host: "127.0.0.1",
        port,
        user,
        privateKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
        hostKey,
        scratch,
        stop: async () => {
            if (child.exitCode === null) {
                const exited = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                await exited;
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
