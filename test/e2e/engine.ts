/**
 * The real Pulumi engine for e2e tests, through the Node automation API: the CLI and provider
 * plugins that test/e2e/build-tools.sh builds (listed in ~/.cache/k8s-platform-e2e/engine.env),
 * an inline program (the automation API serves the language runtime in-process, so no
 * pulumi-language-nodejs is needed), a local `file://` backend in a temporary directory,
 * passphrase secrets, no update check and no plugin download.
 *
 *   const skip = engineSkipReason();            // false, or what is missing
 *   const stack = await EngineStack.create("name", program, { config: { key: "v" } });
 *   await stack.up(); await stack.expectNoChanges(); const state = await stack.exportText();
 *   await stack.destroy(); stack.remove();
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { ConfigMap, LocalWorkspace, PulumiCommand, PulumiFn, Stack, UpResult } from "@pulumi/pulumi/automation";

/**
 * Runs `op` (a preview) with PULUMI_SKIP_CHECKPOINTS=true in the stack's workspace environment,
 * which the automation API merges into every CLI run at call time (LocalWorkspace.runPulumiCmd:
 * `envs = { ...envs, ...this.envVars }`), then takes it out again, so `up` and `destroy` keep
 * their checkpoints. What it does, in the CLI at v3.276.0 (pkg/v3/backend):
 *
 * - diy/backend.go (the file backend) installs a SnapshotManager "even for preview and dry-run",
 *   with `persister = backend.DiscardPersister{}` for a preview ("nothing is written to disk");
 *   httpstate/backend.go (Pulumi Cloud) does the same for preview ("nothing is persisted to the
 *   service").
 * - snapshot.go NewSnapshotManager: `if env.SkipCheckpoints.Value() { serviceLoop =
 *   manager.unsafeServiceLoop }`. The default loop calls saveSnapshot() on every mutation, which
 *   serializes the whole deployment (stack.SerializeDeploymentWithMetadata, encrypting every
 *   secret) before the discarding persister drops it: quadratic in the resources, the cost issue
 *   19 measured (47% of the CLI's CPU at 100 workers). The unsafe loop applies the mutation and
 *   saves once, at Close ("It trades reliability for speed as every mutation does not cause a
 *   Snapshot to be serialized to the user's state backend").
 *
 * Safe for a preview: its snapshot goes to the DiscardPersister either way, so skipping loses
 * nothing. Not for `up` or `destroy` on the file backend: there every checkpoint is the state
 * file (diy/state.go saveCheckpoint writes it whole, after a .bak copy), and with checkpoints
 * skipped a crash or kill mid-update leaves the state of before the update — resources created
 * since are unknown to Pulumi (leaked, created twice on the next up) and no pending operation is
 * recorded for `pulumi refresh` to resolve.
 */
export async function withoutCheckpoints<T>(stack: Stack, op: () => Promise<T>): Promise<T> {
    const env = stack.workspace.envVars;
    const before = env.PULUMI_SKIP_CHECKPOINTS;
    env.PULUMI_SKIP_CHECKPOINTS = "true";
    try {
        return await op();
    } finally {
        if (before === undefined) {
            delete env.PULUMI_SKIP_CHECKPOINTS;
        } else {
            env.PULUMI_SKIP_CHECKPOINTS = before;
        }
    }
}

/** Where build-tools.sh writes engine.env (and engine-ready, holding its path). */
export const E2E_CACHE = process.env.K8S_PLATFORM_E2E_CACHE ?? path.join(os.homedir(), ".cache", "k8s-platform-e2e");

/** The variables engine.env exports, PATH expanded against this process's PATH. */
export function engineEnv(): Record<string, string> | undefined {
    const file = path.join(E2E_CACHE, "engine.env");
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const vars: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const m = /^export ([A-Z_][A-Z0-9_]*)="?(.*?)"?$/.exec(line);
        if (m) {
            vars[m[1]] = m[2].replace("$PATH", process.env.PATH ?? "");
        }
    }
    return vars;
}

/** The plugins the program's SDKs ask for, by package (PULUMI_HOME/plugins/resource-<pkg>-v<version>). */
/**
 * A local (`file://`) backend in `dir`, without gocloud's metadata sidecars. The program reads its
 * own stack's outputs during an `up` (stacks/versionRecord.ts: a StackReference to itself) while
 * the engine rewrites the checkpoint. The checkpoint itself is replaced atomically (fileblob writes
 * a temporary file and renames it; pkg/v3 backend/diy/state.go saveCheckpoint), but its sidecar
 * `<checkpoint>.attrs` is truncated and rewritten in place (gocloud.dev fileblob attrs.go setAttrs:
 * os.Create, then a JSON encode) and decoded on every read (getAttrs): a read that meets that
 * window fails with "failed to load checkpoint: EOF". `metadata=skip` (fileblob.go: "won't write
 * metadata such as blob.Attributes") writes no sidecar; a missing one reads as defaults. The
 * README tells file-backend users the same.
 */
export function fileBackendUrl(dir: string): string {
    return `file://${dir}?metadata=skip`;
}

export const PLUGINS = ["kubernetes", "command", "tls", "random"] as const;

/** Why engine tests needing these plugins (default: all) must skip, naming what is missing, or false. */
export function engineSkipReason(plugins: readonly (typeof PLUGINS)[number][] = PLUGINS): string | false {
    const env = engineEnv();
    if (!env) {
        return `${path.join(E2E_CACHE, "engine.env")} is missing: build the engine with \`E2E_TOOLS=engine bash test/e2e/build-tools.sh\``;
    }
    const cli = pulumiBinary(env);
    if (!cli) {
        return `pulumi is not on engine.env's PATH (${env.PATH})`;
    }
    const home = env.PULUMI_HOME;
    const installed = home && fs.existsSync(path.join(home, "plugins")) ? fs.readdirSync(path.join(home, "plugins")) : [];
    const missing = plugins.filter((pkg) => !installed.some((dir) => dir.startsWith(`resource-${pkg}-v`) && !dir.endsWith(".lock")));
    return missing.length > 0 ? `plugins not installed in ${home}: ${missing.map((p) => `pulumi-resource-${p}`).join(", ")}` : false;
}

function pulumiBinary(env: Record<string, string>): string | undefined {
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
        const candidate = path.join(dir, "pulumi");
        if (fs.existsSync(candidate)) {
            return candidate;
        }
    }
    return undefined;
}

export interface EngineStackOptions {
    /** Stack configuration, e.g. { "k8s-platform:infra": { value: "…" } } (default: none). */
    readonly config?: ConfigMap;
    /** Project name (default "e2e"). */
    readonly projectName?: string;
}

/** One stack on its own local backend; `remove()` deletes the backend and work directory. */
export class EngineStack {
    private constructor(
        readonly stack: Stack,
        /** Temporary directory holding the backend (state/) and the workspace (work/). */
        readonly dir: string,
        private readonly cli: string,
        private readonly env: Record<string, string>,
    ) {}

    static async create(stackName: string, program: PulumiFn, opts: EngineStackOptions = {}): Promise<EngineStack> {
        const env = engineEnv();
        const cli = env && pulumiBinary(env);
        if (!env || !cli) {
            throw new Error(String(engineSkipReason()));
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-engine-"));
        const state = path.join(dir, "state");
        const work = path.join(dir, "work");
        fs.mkdirSync(state);
        fs.mkdirSync(work);
        const projectName = opts.projectName ?? "e2e";
        const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(cli)), skipVersionCheck: true });
        const envVars = { ...env, PULUMI_CONFIG_PASSPHRASE: "e2e-engine-passphrase" };
        const stack = await LocalWorkspace.createStack(
            { stackName, projectName, program },
            {
                workDir: work,
                pulumiCommand,
                pulumiHome: env.PULUMI_HOME,
                secretsProvider: "passphrase",
                projectSettings: { name: projectName, runtime: "nodejs", backend: { url: fileBackendUrl(state) } },
                envVars,
            },
        );
        if (opts.config) {
            await stack.setAllConfig(opts.config);
        }
        return new EngineStack(stack, dir, cli, envVars);
    }

    /** `pulumi up`; throws with the engine's output when it fails. */
    async up(): Promise<UpResult> {
        return this.stack.up({ color: "never" });
    }

    /** `pulumi preview --expect-no-changes` (checkpoints skipped): throws when anything would change. */
    async expectNoChanges(): Promise<void> {
        await withoutCheckpoints(this.stack, () => this.stack.preview({ expectNoChanges: true, color: "never" }));
    }

    /** Counts of planned operations by kind, e.g. { same: 3, update: 1 } (checkpoints skipped). */
    async previewSummary(): Promise<Record<string, number>> {
        const result = await withoutCheckpoints(this.stack, () => this.stack.preview({ color: "never" }));
        return result.changeSummary as Record<string, number>;
    }

    /**
     * `pulumi stack export` as the CLI writes it, secrets encrypted. Not the automation API's
     * exportStack(): that runs `stack export --show-secrets` and holds every secret in plain text.
     */
    async exportText(): Promise<string> {
        const r = spawnSync(this.cli, ["stack", "export", "--stack", this.stack.name, "--non-interactive"], {
            cwd: path.join(this.dir, "work"),
            env: { ...process.env, ...this.env },
            encoding: "utf8",
            timeout: 120_000,
        });
        if (r.status !== 0) {
            throw new Error(`pulumi stack export: ${r.stderr}`);
        }
        return r.stdout;
    }

    /** Runs the CLI on this stack (e.g. `state delete <urn>`), non-interactive; its status and output. */
    runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
        const r = spawnSync(this.cli, [...args, "--stack", this.stack.name, "--non-interactive"], {
            cwd: path.join(this.dir, "work"),
            env: { ...process.env, ...this.env },
            encoding: "utf8",
            timeout: 120_000,
        });
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    }

    /** The state's resources (type, urn, id, inputs, outputs) from `pulumi stack export`. */
    async resources(): Promise<ExportedResource[]> {
        const deployment = (JSON.parse(await this.exportText()) as { deployment: { resources?: ExportedResource[] } }).deployment;
        return deployment.resources ?? [];
    }

    async destroy(): Promise<void> {
        await this.stack.destroy({ color: "never" });
    }

    /** Deletes the backend and the work directory (after destroy, or to abandon the stack). */
    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

export interface ExportedResource {
    readonly urn: string;
    readonly type: string;
    readonly id?: string;
    readonly inputs?: Record<string, unknown>;
    readonly outputs?: Record<string, unknown>;
}

/** Pulumi's marker of an encrypted secret in exported state. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Whether a state value is an encrypted secret. */
export function isSecret(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270";
}
