/**
 * `npm run bench -- --engine`: the program under the real Pulumi engine (the CLI and provider
 * plugins test/e2e/build-tools.sh builds), issue 19's items 8 and 9. Three parts, each sample in a
 * fresh process (so the program's peak memory is its own):
 *
 *   preview  `pulumi preview` of the lab stack's shape at 3/12/100 workers on an empty stack, with
 *            and without PULUMI_SKIP_CHECKPOINTS, beside a trivial program of as many resources
 *            (random.RandomId). No host is contacted: a preview connects nowhere.
 *   up       `up` on the simulated hosts (test/e2e/hosts: a network namespace, Debian's sshd and a
 *            real control plane per node) at 1 control plane + 3 and + 12 workers: the first `up`,
 *            then a second one that changes nothing; with and without PULUMI_SKIP_CHECKPOINTS on
 *            fresh hosts each, to show the file backend's per-step checkpoint cost.
 *
 * Peak memory: the program's is this process's own maximum resident set (the automation API
 * serves the inline program in-process); the CLI's is its VmHWM in /proc/<pid>/status, read every
 * 0.2 s by a wrapper around the CLI (VmHWM only grows, so the last reading is at most 0.2 s old).
 * Skips with a message when the engine, root or the simulated hosts' tools are missing.
 *
 * For each `up` it also reports the simulated hosts' start and teardown times, and the largest
 * age of a node Lease seen during the first `up` (polled every 5 s): kwok renews every node's
 * Lease, and a gap past the node lifecycle controller's grace would mark the Nodes and their pods
 * NotReady (test/e2e/hosts/node/kubeadm), with the NodeNotReady events on pods counted after it.
 *
 *   npm run bench -- --engine [--preview 3,12,100] [--up 3,12] [--checkpoints every|skipped] [--no-trivial]
 */
import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as random from "@pulumi/random";
import { ConfigMap, EngineEvent, LocalWorkspace, PulumiCommand, PulumiFn } from "@pulumi/pulumi/automation";
import { program } from "../stacks/program";
import { buildTestCharts } from "../test/e2e/hosts/charts";
import { engineConfig } from "../test/e2e/hosts/engineStack";
import { onPath } from "../test/e2e/tools";
import { buildCaches, engineEnv, missingForEngineTests, SimHosts, SimNode } from "../test/e2e/hosts/simHosts";
import { PLACEHOLDER_SSH_KEY } from "./mockRuntime";
import { rawConfigOf } from "./stackSynth";
import { withWorkers } from "./stats";

const PROJECT = "k8s-platform";
/** The bench's own /24 for the simulated hosts (the engine tests use 10.213.7x). */
const SUBNET = "10.213.90";

/** One measured run, as a child process reports it. */
export interface EngineSample {
    readonly part: "preview" | "up";
    readonly program: "lab" | "trivial" | "hosts";
    readonly workers: number;
    readonly skipCheckpoints: boolean;
    /** Resources the engine stepped through (resource events of the run). */
    readonly resources: number;
    readonly seconds: number;
    /** The second, no-change `up` (part "up" only). */
    readonly secondSeconds?: number;
    readonly cliPeakMb: number;
    readonly programPeakMb: number;
    /** Part "up" only: the simulated hosts' start and teardown (s), and what the Lease watch saw. */
    readonly hosts?: HostsReport;
}

interface HostsReport {
    readonly nodes: number;
    readonly startSeconds: number;
    readonly stopSeconds: number;
    /** The largest age of a node Lease (now − renewTime) seen during the first `up`, in s. */
    readonly maxLeaseAgeSeconds: number;
    readonly leasePolls: number;
    /** Pods the node lifecycle controller marked NotReady (its NodeNotReady events on pods), after both `up`s. */
    readonly podsMarkedNotReady: number;
}

interface Job {
    readonly part: "preview" | "up";
    readonly program: "lab" | "trivial" | "hosts";
    readonly workers: number;
    readonly skipCheckpoints: boolean;
    /** For the trivial program: how many resources to declare in all. */
    readonly resources?: number;
}

/**
 * Puts the e2e tier's kube-apiserver and etcd (which the simulated control plane runs) on PATH:
 * test/e2e/build-tools.sh prints their export lines (warm cache: instant; cold: it builds them,
 * its progress on stderr). Its "$cache/env" file is not read: every run rewrites it with only the
 * tools that run asked for.
 */
function e2eToolsOnPath(): void {
    if (!onPath("go")) {
        return; // the skip reason names what is missing
    }
    const r = spawnSync("bash", [path.join(__dirname, "..", "test", "e2e", "build-tools.sh")], {
        encoding: "utf8",
        env: { ...process.env, E2E_TOOLS: "kube-apiserver etcd etcdctl etcdutl engine" },
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 3_600_000,
    });
    for (const line of r.status === 0 ? r.stdout.split("\n") : []) {
        const m = /^export PATH="(.*)"$/.exec(line.trim());
        if (m) {
            process.env.PATH = m[1].replace(/\$PATH|\$\{PATH\}/g, process.env.PATH ?? "");
        }
    }
}

/** Why the engine part cannot run here, or undefined. The preview part needs no root. */
export function engineBenchSkipReason(part: "preview" | "up"): string | undefined {
    if (part === "up") {
        return missingForEngineTests();
    }
    const env = engineEnv();
    if (!env) {
        return "the Pulumi CLI and provider plugins are not built (run `npm run test:e2e` once: test/e2e/build-tools.sh)";
    }
    return cliOf(env) ? undefined : "the engine env names no directory with the `pulumi` CLI";
}

function cliOf(env: Record<string, string>): string | undefined {
    return (env.PATH ?? "")
        .split(":")
        .map((d) => path.join(d, "pulumi"))
        .find((f) => fs.existsSync(f));
}

/**
 * A directory whose bin/pulumi runs the real CLI and, while it runs, polls its VmHWM; each
 * invocation appends "<subcommand> <VmHWM kB>" to $K8SP_BENCH_RSS_LOG. Bash builtins only in the
 * loop (read, kill -0), so the polling costs next to nothing.
 */
function cliWrapper(realCli: string): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-bench-cli-"));
    fs.mkdirSync(path.join(root, "bin"));
    const script = `#!/usr/bin/env bash
${JSON.stringify(realCli)} "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
hwm=0
while kill -0 "$pid" 2>/dev/null; do
  while read -r key value _; do [ "$key" != VmHWM: ] || hwm=$value; done </proc/"$pid"/status 2>/dev/null || true
  sleep 0.2
done
wait "$pid"
rc=$?
[ -z "\${K8SP_BENCH_RSS_LOG:-}" ] || echo "$1 $hwm" >>"$K8SP_BENCH_RSS_LOG"
exit "$rc"
`;
    fs.writeFileSync(path.join(root, "bin", "pulumi"), script, { mode: 0o755 });
    return root;
}

/** The peak the wrapper logged for the last run of `subcommand`, in MB. */
function cliPeakMb(log: string, subcommand: string): number {
    const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    const last = lines.filter((l) => l.startsWith(`${subcommand} `)).pop();
    return last ? Number(last.split(" ")[1]) / 1024 : NaN;
}

/** A stack on a fresh file backend, run by the wrapped CLI. */
async function benchStack(name: string, fn: PulumiFn, config: ConfigMap, skipCheckpoints: boolean, dir: string) {
    const env = engineEnv() ?? {};
    fs.mkdirSync(path.join(dir, "backend"), { recursive: true });
    const envVars: Record<string, string> = {
        ...env,
        PULUMI_CONFIG_PASSPHRASE: "k8sp-bench",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // As the engine tests do (test/e2e/engine.ts fileBackendUrl: no metadata sidecars to race).
        PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}?metadata=skip`,
        K8SP_BENCH_RSS_LOG: path.join(dir, "rss.log"),
        ...(skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}),
    };
    const pulumiCommand = await PulumiCommand.get({ root: String(process.env.K8SP_BENCH_CLI_ROOT), skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: name, projectName: PROJECT, program: fn },
        {
            workDir: dir,
            pulumiCommand,
            pulumiHome: env.PULUMI_HOME,
            envVars,
            projectSettings: { name: PROJECT, runtime: "nodejs", backend: { url: envVars.PULUMI_BACKEND_URL } },
            secretsProvider: "passphrase",
        },
    );
    await stack.setAllConfig(config);
    return stack;
}

function asConfig(raw: Record<string, unknown>, sshPrivateKey: string): ConfigMap {
    const config: ConfigMap = { [`${PROJECT}:sshPrivateKey`]: { value: sshPrivateKey, secret: true } };
    for (const [key, value] of Object.entries(raw)) {
        config[`${PROJECT}:${key}`] = { value: typeof value === "string" ? value : JSON.stringify(value) };
    }
    return config;
}

/** `count` resources in all (providers not counted): the stack and count - 1 RandomIds, no secret among them. */
function trivialProgram(count: number): PulumiFn {
    return async () => {
        for (let i = 1; i < count; i++) {
            new random.RandomId(`id-${i}`, { byteLength: 8 });
        }
    };
}

/** Counts the resources a run steps through, providers left out (the trivial program has fewer). */
const counter = () => {
    const urns = new Set<string>();
    const onEvent = (e: EngineEvent) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && !m.type.startsWith("pulumi:providers:")) {
            urns.add(m.urn);
        }
    };
    return { urns, onEvent };
};

async function previewOne(job: Job, dir: string): Promise<EngineSample> {
    let fn: PulumiFn;
    let config: ConfigMap = {};
    if (job.program === "lab") {
        const raw = rawConfigOf("lab");
        withWorkers(job.workers)(raw);
        // No chart repository is reachable here: the engine tests' stand-in charts (Flannel's).
        raw.charts = { directory: buildTestCharts(path.join(dir, "charts")) };
        config = asConfig(raw, PLACEHOLDER_SSH_KEY);
        fn = async () => program();
    } else {
        fn = trivialProgram(job.resources ?? 1);
    }
    const stack = await benchStack("bench", fn, config, job.skipCheckpoints, dir);
    const seen = counter();
    const start = process.hrtime.bigint();
    await stack.preview({ onEvent: seen.onEvent });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return {
        ...job,
        resources: seen.urns.size,
        seconds,
        cliPeakMb: cliPeakMb(path.join(dir, "rss.log"), "preview"),
        programPeakMb: process.resourceUsage().maxRSS / 1024,
    };
}

/**
 * Polls, every 5 s and without blocking the engine (async), the age of every node Lease through the
 * cluster's admin.conf, from the root namespace (no SSH session): the largest age seen is the
 * longest heartbeat gap of the simulated kubelet (kwok) during the run, at 5 s resolution.
 */
function leaseWatch(hosts: SimHosts, kubectl: string) {
    const kubeconfig = path.join(hosts.stateDir, "nodes", hosts.nodes[0].name, "upper", "etc", "kubernetes", "admin.conf");
    let maxAge = 0;
    let polls = 0;
    let busy = false;
    const poll = () => {
        if (busy || !fs.existsSync(kubeconfig)) {
            return;
        }
        busy = true;
        const args = ["--kubeconfig", kubeconfig, "--request-timeout=20s", "-n", "kube-node-lease", "get", "leases", "-o", "jsonpath={range .items[*]}{.spec.renewTime}{\"\\n\"}{end}"];
        execFile(kubectl, args, { encoding: "utf8", timeout: 30_000 }, (err, stdout) => {
            busy = false;
            if (err) {
                return; // the API server not up yet, or too busy to answer: the next poll
            }
            const now = Date.now();
            for (const t of stdout.split("\n").filter((l) => l !== "")) {
                maxAge = Math.max(maxAge, (now - Date.parse(t)) / 1000);
            }
            polls++;
        });
    };
    const timer = setInterval(poll, 5_000);
    return {
        stop: () => {
            clearInterval(timer);
            return { maxAge, polls };
        },
        /** Pods with a NodeNotReady event (MarkPodsNotReady records one per pod it marks). */
        podsMarkedNotReady: (): number => {
            const r = spawnSync(kubectl, ["--kubeconfig", kubeconfig, "--request-timeout=60s", "get", "events", "-A", "--field-selector", "reason=NodeNotReady,involvedObject.kind=Pod",
                "-o", "jsonpath={range .items[*]}{.involvedObject.namespace}/{.involvedObject.name}{\"\\n\"}{end}"], { encoding: "utf8", timeout: 120_000 });
            return r.status === 0 ? new Set(r.stdout.split("\n").filter((l) => l !== "")).size : NaN;
        },
    };
}

async function upOne(job: Job, dir: string): Promise<EngineSample> {
    const nodes: SimNode[] = [{ name: "cp1", ip: `${SUBNET}.11`, role: "control-plane" }];
    for (let i = 1; i <= job.workers; i++) {
        nodes.push({ name: `w${i}`, ip: `${SUBNET}.${20 + i}`, role: "worker" });
    }
    const caches = buildCaches();
    let start = process.hrtime.bigint();
    const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
    const hosts = SimHosts.start(SUBNET, nodes, caches);
    const startSeconds = since(start);
    let sample: Omit<EngineSample, "hosts"> & { hosts: Omit<HostsReport, "stopSeconds"> };
    try {
        const raw = engineConfig(hosts, nodes, buildTestCharts(path.join(dir, "charts")));
        const stack = await benchStack("bench", async () => program(), asConfig(raw, hosts.sshPrivateKey), job.skipCheckpoints, dir);
        const seen = counter();
        const leases = leaseWatch(hosts, path.join(caches.hosts, "bin", "kubectl"));
        start = process.hrtime.bigint();
        let watched = { maxAge: NaN, polls: 0 };
        try {
            await stack.up({ onEvent: seen.onEvent });
        } finally {
            watched = leases.stop();
            console.error(`[bench] largest node Lease age seen during the first up: ${watched.maxAge.toFixed(1)} s (${watched.polls} polls)`);
        }
        const seconds = since(start);
        const cliMb = cliPeakMb(path.join(dir, "rss.log"), "up");
        start = process.hrtime.bigint();
        const second = await stack.up();
        const secondSeconds = since(start);
        // "read": the stack's StackReference to itself (stacks/versionRecord.ts) is read at every up.
        const changed = Object.entries(second.summary.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && op !== "read" && n > 0);
        if (changed.length > 0) {
            throw new Error(`the second up changed resources: ${JSON.stringify(second.summary.resourceChanges)} (first up: ${seconds.toFixed(1)} s, second: ${secondSeconds.toFixed(1)} s)`);
        }
        sample = {
            ...job, resources: seen.urns.size, seconds, secondSeconds, cliPeakMb: cliMb, programPeakMb: process.resourceUsage().maxRSS / 1024,
            hosts: { nodes: nodes.length, startSeconds, maxLeaseAgeSeconds: watched.maxAge, leasePolls: watched.polls, podsMarkedNotReady: leases.podsMarkedNotReady() },
        };
    } finally {
        start = process.hrtime.bigint();
        hosts.stop(); // throws, naming what it left, when the teardown leaves something
    }
    return { ...sample, hosts: { ...sample.hosts, stopSeconds: since(start) } };
}

/** The child's side: one job, its sample as JSON on stdout (the engine's own output goes nowhere). */
export async function runEngineJob(spec: string): Promise<void> {
    const job = JSON.parse(spec) as Job;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-bench-"));
    try {
        const sample = job.part === "preview" ? await previewOne(job, dir) : await upOne(job, dir);
        process.stdout.write(JSON.stringify(sample));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function runJob(job: Job, cliRoot: string): EngineSample {
    const label = `${job.part} ${job.program} ${job.workers} workers${job.skipCheckpoints ? ", PULUMI_SKIP_CHECKPOINTS" : ""}`;
    console.error(`[bench] ${label} …`);
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "bench.ts"), "--engine-one", JSON.stringify(job)], {
        encoding: "utf8",
        maxBuffer: 1 << 26,
        env: { ...process.env, K8SP_BENCH_CLI_ROOT: cliRoot },
        timeout: 7_200_000,
    });
    if (r.status !== 0) {
        throw new Error(`${label} failed (exit ${r.status}):\n${(r.stderr ?? "").slice(-4000)}`);
    }
    const sample = JSON.parse(r.stdout) as EngineSample;
    console.error(`[bench] ${label}: ${sample.seconds.toFixed(1)} s, ${sample.resources} resources`);
    return sample;
}

const cell = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? "—" : n.toFixed(digits));

function table(header: string[], rows: string[][]): string {
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function previewTable(samples: EngineSample[]): string {
    return table(
        ["workers", "program", "resources", "checkpoints", "preview (s)", "CLI peak (MB)", "program peak (MB)"],
        samples.map((s) => [String(s.workers), s.program === "lab" ? "lab shape" : "RandomIds", String(s.resources), s.skipCheckpoints ? "skipped" : "every step",
            cell(s.seconds), cell(s.cliPeakMb, 0), cell(s.programPeakMb, 0)]),
    );
}

function upTable(samples: EngineSample[]): string {
    return table(
        ["workers", "resources", "checkpoints", "first up (s)", "second up, no change (s)", "CLI peak (MB)", "program peak (MB)"],
        samples.map((s) => [String(s.workers), String(s.resources), s.skipCheckpoints ? "skipped" : "every step", cell(s.seconds), cell(s.secondSeconds),
            cell(s.cliPeakMb, 0), cell(s.programPeakMb, 0)]),
    );
}

const sizesArg = (args: string[], flag: string, fallback: number[]): number[] => {
    const i = args.indexOf(flag);
    return i === -1 ? fallback : args[i + 1] === "none" ? [] : args[i + 1].split(",").map(Number);
};

/** The parent's side: every job in turn, then the tables. */
export function engineBench(args: string[]): void {
    const previewSizes = sizesArg(args, "--preview", [3, 12, 100]);
    const upSizes = sizesArg(args, "--up", [3, 12]);
    const modeArg = args.includes("--checkpoints") ? args[args.indexOf("--checkpoints") + 1] : "both";
    const checkpointModes = { both: [false, true], every: [false], skipped: [true] }[modeArg];
    if (!checkpointModes) {
        throw new Error(`--checkpoints ${modeArg}: allowed are every, skipped (default: both)`);
    }
    const env = engineEnv();
    const previewSkip = engineBenchSkipReason("preview");
    if (previewSkip || !env) {
        console.log(`engine bench skipped: ${previewSkip}`);
        return;
    }
    const cliRoot = cliWrapper(cliOf(env) as string);
    const load = () => os.loadavg().map((l) => l.toFixed(1)).join(" ");
    console.log(`engine bench started ${new Date().toISOString()}, load average ${load()}`);
    try {
        const previews: EngineSample[] = [];
        for (const workers of previewSizes) {
            for (const skipCheckpoints of [false, true]) {
                const lab = runJob({ part: "preview", program: "lab", workers, skipCheckpoints }, cliRoot);
                previews.push(lab);
                if (!args.includes("--no-trivial")) {
                    previews.push(runJob({ part: "preview", program: "trivial", workers, skipCheckpoints, resources: lab.resources }, cliRoot));
                }
            }
        }
        if (previews.length > 0) {
            console.log(`\npreview of an empty stack under the real engine (file backend):\n\n${previewTable(previews)}`);
        }
        e2eToolsOnPath();
        const upSkip = upSizes.length > 0 ? engineBenchSkipReason("up") : undefined;
        if (upSkip) {
            console.log(`\nup on the simulated hosts skipped: ${upSkip}`);
        } else if (upSizes.length > 0) {
            const ups = upSizes.flatMap((workers) => checkpointModes.map((skipCheckpoints) => runJob({ part: "up", program: "hosts", workers, skipCheckpoints }, cliRoot)));
            console.log(`\nup on the simulated hosts, 1 control plane (file backend; fresh hosts for each row):\n\n${upTable(ups)}\n`);
            for (const s of ups) {
                const h = s.hosts;
                console.log(`${s.workers} workers, checkpoints ${s.skipCheckpoints ? "skipped" : "every step"}: ${h?.nodes} hosts started in ${cell(h?.startSeconds)} s, torn down in ` +
                    `${cell(h?.stopSeconds)} s; largest node Lease age during the first up ${cell(h?.maxLeaseAgeSeconds)} s (${h?.leasePolls} polls); pods marked NotReady ${h?.podsMarkedNotReady}`);
            }
            const at = (w: number) => ups.find((s) => s.workers === w && !s.skipCheckpoints);
            const [small, large] = [at(Math.min(...upSizes)), at(Math.max(...upSizes))];
            if (small && large && small !== large) {
                console.log(`\nfirst up: ${large.workers} workers take ${(large.seconds / small.seconds).toFixed(2)}× the time of ${small.workers}.`);
            }
        }
        console.log(`\nfinished ${new Date().toISOString()}, load average ${load()}; machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ` +
            `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Pulumi CLI ${execFileSync(cliOf(env) as string, ["version"], { encoding: "utf8" }).trim()}`);
    } finally {
        fs.rmSync(cliRoot, { recursive: true, force: true });
    }
}
