import * as pulumi from "@pulumi/pulumi";
import { KubernetesConfig, KubernetesVersionPlan, planKubernetesVersion } from "../config";
import { refusal } from "../components/refusals";

/** The stack output that records the version the cluster runs (set only by a completed `up`). */
export const KUBERNETES_VERSION_OUTPUT = "kubernetesVersion";

/**
 * The version the last completed `up` recorded: this stack's own output `kubernetesVersion`, read
 * through a StackReference to the stack itself (the engine's builtin provider reads the stack's
 * last checkpoint: pulumi pkg/resource/deploy/builtins.go readStackReference ->
 * backendClient.GetStackOutputs). Unlike a RandomId record (keepers ignored: it never moves; not
 * ignored: a preview shows the new value, never the old one), this holds the old version at
 * preview and during the whole `up`, and moves only when an `up` finished every upgrade step: the
 * output resolves after them, and a failed `up` keeps the outputs it had (the stack's outputs
 * are registered when the program completes). Undefined on a new stack, and on a stack from
 * before the record (its first `up` with this program records what the config gives).
 */
export function recordedKubernetesVersion(): pulumi.Output<string | undefined> {
    const self = new pulumi.StackReference("kubernetes-version-record", {
        name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
    });
    return self.getOutput(KUBERNETES_VERSION_OUTPUT).apply((v) => (typeof v === "string" && v !== "" ? v : undefined));
}

/**
 * The version this `up` brings the cluster to, or the refusal (registered with the other
 * refusals, so it fails the program and every command on a node waits for it).
 */
export function kubernetesVersionPlan(kubernetes: KubernetesConfig, recorded: pulumi.Output<string | undefined>): pulumi.Output<KubernetesVersionPlan> {
    return refusal(recorded.apply((r) => planKubernetesVersion({ configured: kubernetes.version, explicit: kubernetes.versionSet, recorded: r })));
}
