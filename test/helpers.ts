import { KUBERNETES_VERSION } from "../config";
import { DeclaredResource, MockOverrides, Synthesis, unwrapSecrets } from "../tools/mockRuntime";
import { manifestOf } from "../tools/synth";
export { rawConfigOf, synthStack } from "../tools/stackSynth";
export type { RawConfig } from "../tools/stackSynth";
import type { RawConfig } from "../tools/stackSynth";

export const byType = (s: Synthesis, type: string): DeclaredResource[] => s.resources.filter((r) => r.type === type);
export const commands = (s: Synthesis): DeclaredResource[] => byType(s, "command:remote:Command");

export function named(s: Synthesis, name: string): DeclaredResource {
    const found = s.resources.find((r) => r.name === name);
    if (!found) {
        throw new Error(`no resource named ${name}; have: ${s.resources.map((r) => r.name).join(", ")}`);
    }
    return found;
}

/** The script a remote command runs on create ("prepare-node", "kubeadm-join", …). */
export function scriptOf(r: DeclaredResource, phase: "create" | "delete" | "update" = "create"): string | undefined {
    const text = String(unwrapSecrets(r.inputs[phase]) ?? "");
    return /# k8s-platform: ([a-z-]+)\.sh/.exec(text)?.[1];
}

/** A parameter the command's script receives (from its `export NAME='value'` line). */
export function envOf(r: DeclaredResource, name: string, phase: "create" | "delete" | "update" = "create"): string | undefined {
    const text = String(unwrapSecrets(r.inputs[phase]) ?? "");
    const match = new RegExp(`^export ${name}='((?:[^']|'\\\\'')*)'$`, "m").exec(text);
    return match?.[1].replace(/'\\''/g, "'");
}

/** Every resource reachable through explicit dependsOn edges. */
export function transitiveDependencies(s: Synthesis, name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [...named(s, name).dependsOn];
    while (stack.length > 0) {
        const next = stack.pop()!;
        if (!seen.has(next)) {
            seen.add(next);
            const r = s.resources.find((x) => x.name === next);
            stack.push(...(r?.dependsOn ?? []));
        }
    }
    return seen;
}

export function hostOf(r: DeclaredResource): string {
    return String((unwrapSecrets(r.inputs.connection) as { host: string }).host);
}

export type Manifest = {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
    spec?: any;
    data?: any;
};

/** Every Kubernetes object the program declares (not chart contents, not reads), secrets unwrapped. */
export function manifests(s: Synthesis): Manifest[] {
    return s.resources
        .map((r) => manifestOf({ ...r, inputs: unwrapSecrets(r.inputs) as Record<string, unknown> }))
        .filter((m): m is Manifest => m !== undefined);
}

/** Validates an object against the Kubernetes OpenAPI schema shipped by kubernetes-models. */
export async function validateManifest(m: Manifest): Promise<void> {
    const [group, version] = m.apiVersion.includes("/") ? m.apiVersion.split("/") : [undefined, m.apiVersion];
    const models = (await import(`kubernetes-models/${group ? `${group}/` : ""}${version}/${m.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
    new models[m.kind](m).validate();
}

/** The lab's control-plane names and their IPs in the edits below (m-k8s is lab's own). */
export const CONTROL_PLANE_IPS: Readonly<Record<string, string>> = { "m-k8s": "192.168.1.10", "m2-k8s": "192.168.1.20", "m3-k8s": "192.168.1.30", "m4-k8s": "192.168.1.40", "m5-k8s": "192.168.1.50" };

/** A config edit: lab with three control planes, in this order, behind an external endpoint. */
export const threeControlPlanes = (order: string[]) => (raw: RawConfig): void => {
    const workers = (raw.nodes as { role: string }[]).filter((n) => n.role === "worker");
    raw.nodes = [...order.map((name) => ({ name, ip: CONTROL_PLANE_IPS[name], role: "control-plane" })), ...workers];
    raw.kubernetes = { ...((raw.kubernetes as object | undefined) ?? {}), controlPlaneEndpoint: "192.168.1.9" };
};

/** A stack whose last completed `up` recorded these control planes (and `workers`) in its output `nodes`, read back through its own StackReference. */
export const recordedControlPlanes = (controlPlanes: string[], workers: { name: string; ip: string }[] = []): MockOverrides => ({
    state: (type) =>
        type === "pulumi:pulumi:StackReference"
            ? {
                  outputs: {
                      apiEndpoint: "https://192.168.1.9:6443",
                      kubernetesVersion: KUBERNETES_VERSION,
                      nodes: [...controlPlanes.map((name) => ({ name, role: "control-plane", ip: CONTROL_PLANE_IPS[name] })), ...workers.map((w) => ({ ...w, role: "worker" }))],
                  },
              }
            : undefined,
});
