/**
 * The program under the real Pulumi engine against simulated hosts: the automation API's inline
 * program is `stacks/program.ts` itself (the language runtime is served in-process, no language
 * host), the CLI and provider plugins are the engine build's (its env file), the backend a local
 * `file://` directory, secrets by passphrase, no update checks and no plugin downloads.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigMap, EngineEvent, LocalWorkspace, OpType, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { program } from "../../../stacks/program";
import { fileBackendUrl, withoutCheckpoints } from "../engine";
import { buildTestCharts } from "./charts";
import { buildCaches, engineEnv, SimHosts, SimNode } from "./simHosts";

export const PROJECT = "k8s-platform";
const PASSPHRASE = "k8sp-engine-tests";

/** The stack config (prefix-less, plain objects) of an engine test on simulated hosts. */
export function engineConfig(hosts: SimHosts, nodes: SimNode[], chartsDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const subnet = nodes[0].ip.split(".").slice(0, 3).join(".");
    return {
        infra: { provider: "existing" },
        network: { cidr: `${subnet}.0/24` },
        ssh: { user: "root", dialErrorLimit: 4 },
        nodes: nodes.map((n) => ({ name: n.name, ip: n.ip, role: n.role, hostKey: hosts.hostKeys[n.name] })),
        // The stand-in of pkgs.k8s.io (the real-root tier's signed repository), served in the hub.
        os: { firewall: "disabled", kubernetesRepoBase: `${hosts.hubUrl}/k8s` },
        charts: { directory: chartsDir },
        // Chart-based add-ons whose charts are not built here, and what needs them (README).
        ingress: { enabled: false },
        metallb: { enabled: false },
        metricsServer: { enabled: false },
        registry: { enabled: false },
        testApp: { enabled: false },
        autoscaling: { enabled: false },
        ...extra,
        // Kubernetes 1.35, set explicitly: the stand-in of pkgs.k8s.io (test/realroot/make-repos.sh)
        // serves 1.35 packages only, and the hosts' kubeadm stand-in follows kubeadm 1.35.
        kubernetes: { version: "1.35", ...((extra.kubernetes as object | undefined) ?? {}) },
    };
}

export interface StepSeen {
    readonly op: OpType;
    readonly urn: string;
    readonly type: string;
}
export const nameOf = (urn: string): string => urn.slice(urn.lastIndexOf("::") + 2);
/** The steps that change something (neither "same" nor a read). */
export const changedSteps = (steps: StepSeen[]): StepSeen[] => steps.filter((s) => s.op !== "same" && s.op !== "read");
/** The error text of a failed automation API run. */
export const errorText = (x: unknown): string => String(x instanceof Error ? x.message : x);
/** Now, in the seconds of the stubs' timed call logs. */
export const now = (): number => Date.now() / 1000;

/**
 * A simulated host by the engine tests' convention: cpN is a control plane at <subnet>.1N, wN a
 * worker at <subnet>.2N.
 */
export function simNode(subnet: string, name: string): SimNode {
    const m = /^(cp|w)([1-9])$/.exec(name);
    if (!m) {
        throw new Error(`engine test nodes are named cp1..cp9 or w1..w9, not ${name}`);
    }
    return { name, ip: `${subnet}.${m[1] === "cp" ? 1 : 2}${m[2]}`, role: m[1] === "cp" ? "control-plane" : "worker" };
}

export class EngineStack {
    private constructor(
        readonly stack: Stack,
        readonly dir: string,
        private readonly env: Record<string, string>,
    ) {}

    static async create(stackName: string): Promise<EngineStack> {
        const fromEngine = engineEnv() ?? {};
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-engine-"));
        fs.mkdirSync(path.join(dir, "backend"));
        const env: Record<string, string> = {
            ...fromEngine,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_BACKEND_URL: fileBackendUrl(path.join(dir, "backend")),
        };
        const cli = (fromEngine.PATH ?? "").split(":").map((d) => path.join(d, "pulumi")).find((f) => fs.existsSync(f));
        if (!cli) {
            throw new Error("the engine env names no directory with the `pulumi` CLI");
        }
        const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(cli)), skipVersionCheck: true });
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName, projectName: PROJECT, program: async () => program() },
            {
                workDir: dir,
                pulumiCommand,
                pulumiHome: fromEngine.PULUMI_HOME,
                envVars: env,
                projectSettings: { name: PROJECT, runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } },
                secretsProvider: "passphrase",
            },
        );
        return new EngineStack(stack, dir, env);
    }

    /** Replaces the stack's whole project config (and the SSH key and `secrets`, e.g.
     * `imagesPassword`, as secrets: `pulumi config set --secret`). */
    async configure(config: Record<string, unknown>, sshPrivateKey: string, secrets: Record<string, string> = {}): Promise<void> {
        const all: ConfigMap = { [`${PROJECT}:sshPrivateKey`]: { value: sshPrivateKey, secret: true } };
        for (const [key, value] of Object.entries(secrets)) {
            all[`${PROJECT}:${key}`] = { value, secret: true };
        }
        for (const [key, value] of Object.entries(config)) {
            all[`${PROJECT}:${key}`] = { value: typeof value === "string" ? value : JSON.stringify(value) };
        }
        const current = await this.stack.getAllConfig();
        for (const key of Object.keys(current)) {
            if (!(key in all)) {
                await this.stack.removeConfig(key);
            }
        }
        await this.stack.setAllConfig(all);
    }

    /** `pulumi up`: the automation API always runs it with `--skip-preview` (automation/stack.ts up());
     * `replace`: resource names (the last URN segment) to replace, as `pulumi up --replace <urn>`. */
    async up(opts: { replace?: string[] } = {}): Promise<{ steps: StepSeen[]; output: string }> {
        const steps: StepSeen[] = [];
        let output = "";
        const replace = opts.replace ? await this.urnsNamed(opts.replace) : undefined;
        await this.stack.up({ onEvent: collect(steps), onOutput: (o) => (output += o), ...(replace ? { replace } : {}) });
        return { steps, output };
    }

    /** The URNs of the resources with these names in the stack's state (`pulumi stack --show-urns`). */
    async urnsNamed(names: string[]): Promise<string[]> {
        const state = await this.stack.exportStack();
        const urns = ((state.deployment as { resources?: { urn: string }[] }).resources ?? []).map((r) => r.urn);
        return names.map((n) => {
            const urn = urns.find((u) => nameOf(u) === n);
            if (!urn) {
                throw new Error(`no resource named ${n} in the stack`);
            }
            return urn;
        });
    }

    /**
     * A preview, its checkpoints skipped (a preview's snapshot is discarded anyway; why, and why
     * not for up: withoutCheckpoints in ../engine.ts). Set in this stack's workspace only, not in
     * process.env, which every other stack of the process would see.
     */
    async preview(opts: { expectNoChanges?: boolean } = {}): Promise<{ steps: StepSeen[]; output: string }> {
        const steps: StepSeen[] = [];
        let output = "";
        await withoutCheckpoints(this.stack, () =>
            this.stack.preview({ expectNoChanges: opts.expectNoChanges, onEvent: collect(steps), onOutput: (o) => (output += o) }),
        );
        return { steps, output };
    }

    /** `pulumi stack rename` on the same backend; this object then names the renamed stack. */
    async rename(newName: string): Promise<void> {
        await this.stack.rename({ stackName: newName });
    }

    async destroy(): Promise<string> {
        let output = "";
        await this.stack.destroy({ onOutput: (o) => (output += o) });
        return output;
    }

    /**
     * `pulumi stack export` as the state file holds it (secrets encrypted), from the CLI: the
     * automation API's exportStack() runs `stack export --show-secrets`, every secret in plain text.
     */
    exportText(): string {
        return this.cliExport([]);
    }

    /** `pulumi stack export --show-secrets`: every secret's plain value, to look for elsewhere. */
    exportWithSecrets(): string {
        return this.cliExport(["--show-secrets"]);
    }

    private cliExport(extra: string[]): string {
        const cli = (this.env.PATH ?? "").split(":").map((d) => path.join(d, "pulumi")).find((f) => fs.existsSync(f)) ?? "pulumi";
        const r = spawnSync(cli, ["stack", "export", "--non-interactive", "--stack", this.stack.name, ...extra], {
            cwd: this.dir,
            encoding: "utf8",
            env: { ...process.env, ...this.env },
            maxBuffer: 256 << 20,
            timeout: 120_000,
        });
        if (r.status !== 0) {
            throw new Error(`pulumi stack export ${extra.join(" ")}: ${r.stderr}`);
        }
        return r.stdout;
    }

    async outputs(): Promise<Record<string, unknown>> {
        const out = await this.stack.outputs();
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value]));
    }

    /** Removes the stack's working directory and backend (the hosts are stopped separately). */
    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * Runs `run` with this process's unhandled rejections collected instead of reported, until none
 * has arrived for half a second (at most 10 s): a refused inline program's registrations reject
 * after the program has failed, which node:test would otherwise count against the next test.
 */
export async function collectingRejections<T>(run: () => Promise<T>): Promise<{ result: T; rejections: unknown[] }> {
    const rejections: unknown[] = [];
    const collectRejection = (reason: unknown) => rejections.push(reason);
    const others = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", collectRejection);
    try {
        const result = await run();
        for (let i = 0, seen = -1; i < 20 && seen !== rejections.length; i++) {
            seen = rejections.length;
            await new Promise((done) => setTimeout(done, 500));
        }
        return { result, rejections };
    } finally {
        process.off("unhandledRejection", collectRejection);
        others.forEach((listener) => process.on("unhandledRejection", listener as (...args: unknown[]) => void));
    }
}

/**
 * What every engine test on simulated hosts stands on: the hosts of `nodes` on `subnet` (a /24 of
 * each test file's own), the test charts, the program's stack `stackName`, and the looks at them the
 * tests share. Its members are arrow functions, so a file takes apart what it uses
 * (`const { h, e, sessions } = world;`). `start` goes in the file's before(), `stop` in its after().
 */
export class EngineWorld {
    private hosts: SimHosts | undefined;
    private engine: EngineStack | undefined;
    private chartsDir = "";

    constructor(
        readonly subnet: string,
        readonly nodes: readonly SimNode[],
        readonly stackName: string,
    ) {}

    readonly start = async (): Promise<void> => {
        const caches = buildCaches();
        this.chartsDir = buildTestCharts(fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-charts-")));
        this.hosts = SimHosts.start(this.subnet, [...this.nodes], caches);
        this.engine = await EngineStack.create(this.stackName);
    };

    readonly stop = (): void => {
        this.hosts?.stop();
        this.engine?.remove();
        if (this.chartsDir) {
            fs.rmSync(this.chartsDir, { recursive: true, force: true });
        }
    };

    readonly h = (): SimHosts => {
        assert.ok(this.hosts, "the simulated hosts did not start");
        return this.hosts;
    };

    readonly e = (): EngineStack => {
        assert.ok(this.engine, "the engine stack was not created");
        return this.engine;
    };

    /** Sets the stack's config: engineConfig of `nodes` (default: all) plus `extra`, the SSH key
     * (default: the hosts') and other top-level secrets (default: none; e.g. `imagesPassword`). */
    readonly configure = (
        extra: Record<string, unknown> = {},
        nodes: readonly SimNode[] = this.nodes,
        sshPrivateKey?: string,
        secrets: Record<string, string> = {},
    ): Promise<void> => this.e().configure(engineConfig(this.h(), [...nodes], this.chartsDir, extra), sshPrivateKey ?? this.h().sshPrivateKey, secrets);

    /** SSH sessions each host has accepted so far. */
    readonly sessions = (): Record<string, number> => Object.fromEntries(this.nodes.map((n) => [n.name, this.h().sessions(n.name)]));

    /** Stubbed commands each host has run so far. */
    readonly callCounts = (): Record<string, number> => Object.fromEntries(this.nodes.map((n) => [n.name, this.h().calls(n.name).length]));

    /** What ran on each host since `t0` (the stubs' timed logs). */
    readonly callsSince = (t0: number): Record<string, string[]> =>
        Object.fromEntries(this.nodes.map((n) => [n.name, this.h().timedCalls(n.name).filter((c) => c.at >= t0).map((c) => c.call)]));

    /** Node name → Ready status, as the real API server says (kubectl on the first control plane). */
    readonly nodesReady = (): Record<string, string> => {
        const cp = this.nodes.find((n) => n.role === "control-plane");
        assert.ok(cp, "a control plane to ask");
        const out = this.h().ssh(cp.name, `kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'`);
        return Object.fromEntries(out.split("\n").filter(Boolean).map((l) => l.split("=") as [string, string]));
    };

    /** Waits (60 s at most) until every node of `names` is Ready. */
    readonly waitReady = async (names: string[]): Promise<void> => {
        for (let i = 0; i < 60; i++) {
            const ready = this.nodesReady();
            if (names.every((n) => ready[n] === "True")) {
                return;
            }
            await new Promise((r) => setTimeout(r, 1000));
        }
        assert.fail(`nodes not Ready after 60 s: ${JSON.stringify(this.nodesReady())}`);
    };

    /**
     * A change the program refuses: preview and `up` both fail naming every one of `messages`, and
     * nothing runs on any host. The automation API's up is `pulumi up --skip-preview`: the refusal
     * must stop it by itself. The inline program runs in this process, so the registrations that
     * used a refused value reject too (the refusal, wrapped): each must be one of the refusals.
     */
    readonly assertRefused = async (messages: RegExp[]): Promise<void> => {
        const [s0, c0] = [this.sessions(), this.callCounts()];
        for (const run of [() => this.e().preview(), () => this.e().up()]) {
            const { result: err, rejections } = await collectingRejections(() => run().then(() => undefined, (x: unknown) => x));
            assert.ok(err, "the run was refused");
            for (const m of messages) {
                assert.match(errorText(err), m);
            }
            for (const r of rejections) {
                assert.ok(messages.some((m) => m.test(errorText(r))), `a registration failed with something else: ${errorText(r).slice(0, 2000)}`);
            }
        }
        assert.deepEqual(this.sessions(), s0, "no SSH session was opened on any host");
        assert.deepEqual(this.callCounts(), c0, "no stubbed command ran on any host");
    };
}

function collect(steps: StepSeen[]): (e: EngineEvent) => void {
    return (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m) {
            steps.push({ op: m.op, urn: m.urn, type: m.type });
        }
    };
}
