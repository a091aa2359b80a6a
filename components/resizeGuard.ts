import * as pulumi from "@pulumi/pulumi";

/** How one provider's VM carries its size: the size text of a VM's inputs (undefined when absent). */
export type SizeOf = (inputs: Record<string, unknown> | undefined) => string | undefined;

/** What a provider's guard needs to know. */
export interface ResizeRules {
    /** The VM's size from its inputs. */
    readonly sizeOf: SizeOf;
    /** The host name behind a VM resource name. */
    readonly nodeOf: (resourceName: string) => string;
    /** The config keys that set sizes (for the message). */
    readonly key: string;
    /** The supported procedure, in the message. */
    readonly procedure: string;
}

export const DRAIN = "drain the node first (kubectl drain <node> --ignore-daemonsets --delete-emptydir-data) and `kubectl uncordon <node>` after";

/**
 * One size change at a time (issue 18 item 9). A changed size reboots the VM (vSphere without CPU
 * and memory hot-add shuts it down; Azure restarts it for a new vmSize), and the program changes
 * every VM whose size changed in one `up`, so a role-wide change would take every worker, or
 * every control plane, down at once.
 *
 * The record of the previous size is the VM's own state: a `beforeUpdate` resource hook receives
 * the VM's old and new inputs (engine v3.276 resource/deploy/step.go, UpdateStep.Apply runs
 * BeforeUpdate hooks with the state's old inputs; deployment.go RunHooks runs a hook in a preview
 * when it asks to, OnDryRun), so the check happens in the preview `pulumi up` shows before it
 * changes anything. The first VM whose size changes passes (one node at a time is allowed, and
 * its state records the new size once updated); a second one in the same run is refused, naming
 * both with their old and new sizes and the procedure. Hooks run in the program's process: the
 * guard counts per run.
 */
export class ResizeGuard {
    /** The hook to put in each VM's `hooks.beforeUpdate`. */
    public readonly hook: pulumi.ResourceHook;
    private readonly changed = new Map<string, string>();

    /** @param name unique hook name within the stack */
    constructor(name: string, private readonly how: ResizeRules) {
        this.hook = new pulumi.ResourceHook(name, (args) => this.check(args), { onDryRun: true });
    }

    /** Refuses the second VM whose size changes in this run. */
    public check(args: pulumi.ResourceHookArgs): void {
        const node = this.how.nodeOf(args.name);
        const before = this.how.sizeOf(args.oldInputs);
        const after = this.how.sizeOf(args.newInputs);
        if (before === undefined || after === undefined || before === after || this.changed.has(node)) {
            return;
        }
        if (this.changed.size > 0) {
            const all = [...this.changed.entries(), [node, `${before} → ${after}`]].map(([n, change]) => `${n} (${change})`).join(", ");
            throw new Error(
                `k8s-platform:${this.how.key}: the size of more than one machine changes in this update: ${all}. A new size restarts ` +
                    `the VM, and these would restart together. Change one machine at a time: ${this.how.procedure}`,
            );
        }
        this.changed.set(node, `${before} → ${after}`);
    }
}
