import * as pulumi from "@pulumi/pulumi";
import { KubernetesVersionPlan, NodeSpec } from "../config";
import { runScript, SshAccess } from "./remoteScript";

export interface KubernetesUpgradeArgs {
    /** Cluster nodes (control planes and workers, in config order). */
    readonly nodes: NodeSpec[];
    /** The control plane that ran `kubeadm init`: it runs `kubeadm upgrade apply`. */
    readonly bootstrapNode: string;
    /** The version this `up` brings the cluster to (config/upgrade.ts; rejects on a refused change). */
    readonly version: pulumi.Output<KubernetesVersionPlan>;
    /** Workers upgraded at once (kubernetes.upgrade.maxUnavailable; default 1). */
    readonly maxUnavailable?: number;
    /** What each node's upgrade waits for besides the order below: its init or join (required per
     * node), and on the bootstrap node the maintenance step: its etcd-backup.sh and settings
     * (/etc/k8s-platform/k8s-platform-etcd-backup.env, present while kubernetes.etcdBackup is on)
     * take the snapshot before `kubeadm upgrade apply`, so no backup setting is an input here. */
    readonly after: Record<string, pulumi.Resource[]>;
    /** A kubeconfig allowed to drain and uncordon (secret), for the workers. */
    readonly adminKubeconfig: pulumi.Input<string>;
    /** https://<control-plane endpoint>: where the workers' kubectl talks to. */
    readonly apiServer: string;
    readonly ssh: SshAccess;
}

/**
 * The upgrade of a kubeadm cluster to a new `kubernetes.version` (kubeadm-upgrade.sh), in the order
 * kubernetes.io "Upgrading kubeadm clusters" gives: the bootstrap control plane (`kubeadm upgrade
 * apply`), then the other control planes one at a time (`kubeadm upgrade node`), then the workers
 * in groups of `maxUnavailable` (drained, upgraded, uncordoned). One step per node whose only run
 * is its update: it runs nothing when created (a new cluster, a node added later: both are at the
 * version already) and runs whenever its inputs change, i.e. when the version changes (or the
 * script, or the admin credentials: then it finds the node at the version and does nothing). A
 * failed step stops every later one; the next `up` runs it again (a failed update keeps the old
 * inputs in state: pulumi-go-provider v1.3.0 infer/resource.go Update returns a plain error, no
 * partial state) and it resumes where the node stopped.
 *
 * The same order as Kubespray's (kubernetes-sigs/kubespray roles/kubernetes/control-plane/tasks/
 * kubeadm-upgrade.yml: "Upgrade first master" with `kubeadm upgrade apply -y <version>`, then the
 * other control planes, then "restart kubelet"; playbooks/upgrade_cluster.yml: control planes at
 * `serial: 1`, nodes at `serial: "{{ serial | default('20%') }}"`, each drained first). Here the
 * other control planes run `kubeadm upgrade node`, as kubernetes.io "Upgrading kubeadm clusters"
 * says, and the workers go maxUnavailable at a time (default 1: the cautious end of Kubespray's).
 */
export class KubernetesUpgrade extends pulumi.ComponentResource {
    /** Every node's step, in rollout order. */
    public readonly steps: pulumi.Resource[];
    /** The version the cluster runs once every step completed (the stack output `kubernetesVersion`). */
    public readonly version: pulumi.Output<string>;

    constructor(name: string, args: KubernetesUpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("k8s-platform:cluster:KubernetesUpgrade", name, {}, opts);
        const bootstrap = args.nodes.find((n) => n.name === args.bootstrapNode);
        if (!bootstrap) {
            throw new Error(`bootstrap node ${args.bootstrapNode} is not among the cluster nodes`);
        }
        const controlPlanes = [bootstrap, ...args.nodes.filter((n) => n.role === "control-plane" && n !== bootstrap)];
        const workers = args.nodes.filter((n) => n.role === "worker");
        const maxUnavailable = args.maxUnavailable ?? 1;

        const step = (node: NodeSpec, role: "bootstrap" | "control-plane" | "worker", after: pulumi.Resource[]) =>
            runScript(
                `${name}-${node.name}`,
                {
                    host: node,
                    ssh: args.ssh,
                    update: {
                        script: "kubeadm-upgrade",
                        env: args.version.apply((plan) => ({
                            NODE_NAME: node.name,
                            UPGRADE_ROLE: role,
                            K8S_VERSION: plan.version,
                            K8S_MINOR: plan.minor,
                            ...(role === "worker" ? { API_SERVER: args.apiServer } : {}),
                        })),
                    },
                    ...(role === "worker" ? { secrets: { ADMIN_KUBECONFIG: args.adminKubeconfig } } : {}),
                    machineBound: false,
                },
                // Its node must be a member (init or join) first, and the order of the rollout (see the callers).
                { parent: this, dependsOn: [...(args.after[node.name] ?? []), ...after] },
            );

        const steps: pulumi.Resource[] = [];
        // Control planes one after the other, the bootstrap one first (kubeadm upgrade apply).
        let previous: pulumi.Resource[] = [];
        for (const cp of controlPlanes) {
            const s = step(cp, cp === bootstrap ? "bootstrap" : "control-plane", previous);
            steps.push(s);
            previous = [s];
        }
        // Workers after every control plane, maxUnavailable at a time: each group waits for the one before.
        for (let i = 0; i < workers.length; i += maxUnavailable) {
            const group = workers.slice(i, i + maxUnavailable).map((w) => step(w, "worker", previous));
            steps.push(...group);
            previous = group;
        }
        this.steps = steps;
        const done = pulumi.all(steps.map((s) => (s as pulumi.CustomResource).id));
        this.version = pulumi.all([args.version, done]).apply(([plan]) => plan.version);
        this.registerOutputs({ version: this.version });
    }
}
