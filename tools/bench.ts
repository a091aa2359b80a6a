/**
 * `npm run bench`: how the program scales with its number of workers. Synthesizes the lab stack
 * (offline, Pulumi's mock runtime) at 3, 25 and 100 workers, each in a fresh process, and prints
 * resources, remote commands, the most commands (and the most that could run at once) against
 * one host, the longest chain of remote commands, wall time and peak memory. Times belong here,
 * never in a test; the counts are also asserted by test/scale.test.ts.
 *
 * `npm run bench -- --engine`: the real Pulumi engine instead (tools/benchEngine.ts): preview at
 * 3/12/100 workers with and without PULUMI_SKIP_CHECKPOINTS, `up` on the simulated hosts.
 */
import { execFileSync } from "child_process";
import * as os from "os";
import { engineBench, runEngineJob } from "./benchEngine";
import { synthStack } from "./stackSynth";
import { scaleStats, ScaleStats, withWorkers } from "./stats";

const SIZES = [3, 25, 100];

interface Sample extends ScaleStats {
    readonly workers: number;
    readonly seconds: number;
    readonly peakMb: number;
}

async function one(workers: number): Promise<void> {
    const start = process.hrtime.bigint();
    const synthesis = await synthStack("lab", withWorkers(workers));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const sample: Sample = { workers, ...scaleStats(synthesis), seconds, peakMb: process.resourceUsage().maxRSS / 1024 };
    process.stdout.write(JSON.stringify(sample));
}

function table(samples: Sample[]): string {
    const rows = [
        ["workers", "resources", "remote commands", "most on one host", "most at once on one host", "longest chain", "synthesis (s)", "peak memory (MB)"],
        ...samples.map((s) => [
            String(s.workers),
            String(s.resources),
            String(s.remoteCommands),
            String(s.mostCommandsOnOneHost.count),
            String(s.mostConcurrentOnOneHost.count),
            String(s.longestCommandChain),
            s.seconds.toFixed(1),
            s.peakMb.toFixed(0),
        ]),
    ];
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    return [line(rows[0]), line(rows[0].map(() => "---")), ...rows.slice(1).map(line)].join("\n");
}

async function main(): Promise<void> {
    const engineJob = process.argv.indexOf("--engine-one");
    if (engineJob !== -1) {
        return runEngineJob(process.argv[engineJob + 1]);
    }
    if (process.argv.includes("--engine")) {
        return engineBench(process.argv.slice(2));
    }
    const single = process.argv.indexOf("--one");
    if (single !== -1) {
        return one(Number(process.argv[single + 1]));
    }
    const samples: Sample[] = SIZES.map((n) =>
        JSON.parse(execFileSync(process.execPath, ["--import", "tsx", __filename, "--one", String(n)], { encoding: "utf8", maxBuffer: 1 << 24 })),
    );
    const [small, , large] = samples;
    console.log(table(samples));
    console.log(
        `\nper added worker: ${((large.resources - small.resources) / (large.workers - small.workers)).toFixed(1)} resources; ` +
            `100 workers take ${(large.seconds / small.seconds).toFixed(1)}× the time of 3.`,
    );
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
    console.log("the real engine (preview at 3/12/100 workers, up on simulated hosts): npm run bench -- --engine");
}

main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
});
