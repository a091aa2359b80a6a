/**
 * Locating the real tools that test/e2e/build-tools.sh builds from Go modules. `npm run test:e2e`
 * builds them and puts them on PATH; a plain `node --test` run without them skips with a message.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/** The absolute path of `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            // not in this directory
        }
    }
    return undefined;
}

/**
 * The kubeadm build-tools.sh builds for each supported Kubernetes minor, by the name it has on
 * PATH: "kubeadm" is 1.35's (wrapper module tools/k8s, shared with kube-apiserver), each newer
 * minor's is "kubeadm-<minor>" (wrapper module tools/k8s-<minor>), so the binaries never mix up.
 */
export const KUBEADM_TOOLS: Readonly<Record<string, string>> = {
    "1.35": "kubeadm",
    "1.36": "kubeadm-1.36",
    "1.37": "kubeadm-1.37",
};

/** Why a test about `name` is skipped, or false when the tool is there. */
export function skipUnless(name: string): string | false {
    return onPath(name) ? false : `${name} is not on PATH: run \`npm run test:e2e\` (builds it with test/e2e/build-tools.sh)`;
}

export interface Run {
    readonly status: number | null;
    readonly stdout: string;
    /** stdout and stderr. */
    readonly output: string;
}

/** Runs a tool with arguments (never secrets: these are test values) and collects its output. */
export function run(tool: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
    const result = spawnSync(tool, args, { encoding: "utf8", cwd: opts.cwd, env: opts.env ?? process.env, timeout: 120_000 });
    if (result.error) {
        throw result.error;
    }
    return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
}

/** ../shared/schemas beside the repository (data for tests, never copied into it). */
// K8SP_SHARED_SCHEMAS: for a checkout that does not sit beside shared/ (a git worktree elsewhere).
export const SHARED_SCHEMAS = process.env.K8SP_SHARED_SCHEMAS ?? path.resolve(__dirname, "..", "..", "..", "shared", "schemas");

/** A free TCP port on 127.0.0.1 (closed again at once; the server binds it right after). */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}
