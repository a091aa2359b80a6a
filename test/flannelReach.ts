// What the Flannel chart a stack declares tells flanneld to reach (shared by the config-level test
// and the real-kernel one in test/e2e).
import * as assert from "node:assert/strict";
import { byType, RawConfig, rawConfigOf, synthStack } from "./helpers";

/** The address flanneld is told to reach, from the Flannel chart the stack declares. */
export async function flannelCanReach(stack: string, edit?: (raw: RawConfig) => void): Promise<{ canReach: string | undefined; nodeIps: string[] }> {
    const s = await synthStack(stack, edit);
    const chart = byType(s, "kubernetes:helm.sh/v4:Chart").find((c) => String(c.inputs.chart).includes("flannel"));
    assert.ok(chart, "the stack declares the Flannel chart");
    const args = ((chart.inputs.values as { flannel?: { args?: string[] } }).flannel?.args ?? []) as string[];
    const arg = args.find((a) => a.startsWith("--iface-can-reach="));
    const raw = rawConfigOf(stack);
    edit?.(raw);
    return { canReach: arg?.slice("--iface-can-reach=".length), nodeIps: (raw.nodes as { ip: string }[]).map((n) => n.ip) };
}

