// Platform workloads as Kubernetes users expect them, on every stack: the recommended labels on
// every object the program declares, Pod Security Admission labels on its namespaces, hardened
// pods, disruption budgets that keep the test app serving through a drain without blocking one.
// The API server's own Pod Security admission checks the same pods in
// test/e2e/apiserver-dry-run.test.ts.
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { listStacks } from "../tools/mockRuntime";
import { containerSecurityContext, podSecurityLabels, recommendedLabels } from "../components/render/workload";
import { Manifest, manifests, synthStack } from "./helpers";

const RECOMMENDED = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"];
/** Containers that run as root, and why (the README's "The platform on the cluster" says so too). */
const ROOT_CONTAINERS: Record<string, string> = {
    "registry/registry/registry": "the registry image runs as root and the data on the share is root's",
    "test-app/tomcat/deliver-test-page": "overwrites test.jsp that root wrote on the share",
};

describe("workloads", () => {
    it("the pure helpers: labels and levels as Kubernetes documents them", () => {
        assert.deepEqual(Object.keys(recommendedLabels({ name: "x", component: "y" })).sort(), [...RECOMMENDED].sort());
        assert.equal(recommendedLabels({ name: "x", component: "y" })["app.kubernetes.io/instance"], "x");
        assert.deepEqual(podSecurityLabels("baseline"), {
            "pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/warn": "baseline",
            "pod-security.kubernetes.io/audit": "restricted",
        });
        assert.equal(containerSecurityContext({ user: 1000 }).runAsNonRoot, true);
        assert.equal("runAsNonRoot" in containerSecurityContext({ user: "image-root" }), false);
    });

    // Synthesized one after the other: the mock runtime is process-wide.
    const objects = new Map<string, Manifest[]>();
    before(async () => {
        for (const stack of listStacks()) {
            // Node objects are kubeadm's: the program only patches a role label onto them (NodePatch).
            objects.set(stack, manifests(await synthStack(stack)).filter((m) => m.kind !== "Node"));
        }
    });

    for (const stack of listStacks()) {
        describe(stack, () => {
            let own: Manifest[] = [];
            before(() => {
                own = objects.get(stack)!;
            });

            it("every object the program creates carries the recommended labels, part of k8s-platform, managed by pulumi", () => {
                assert.ok(own.length > 0);
                const missing = own.flatMap((m) => {
                    const labels = m.metadata.labels ?? {};
                    const absent = RECOMMENDED.filter((l) => !labels[l]);
                    const wrong = labels["app.kubernetes.io/part-of"] !== "k8s-platform" || labels["app.kubernetes.io/managed-by"] !== "pulumi";
                    return absent.length > 0 || wrong ? [`${m.kind} ${m.metadata.namespace ?? ""}/${m.metadata.name}: ${absent.join(", ") || "wrong part-of/managed-by"}`] : [];
                });
                assert.deepEqual(missing, []);
            });

            it("every namespace it creates enforces a Pod Security level; privileged only where a chart needs it", () => {
                const namespaces = own.filter((m) => m.kind === "Namespace");
                assert.ok(namespaces.length > 0);
                for (const ns of namespaces) {
                    const level = ns.metadata.labels?.["pod-security.kubernetes.io/enforce"];
                    assert.ok(level, `${ns.metadata.name} enforces a level`);
                    assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/warn"], level);
                    if (level === "privileged") {
                        // flanneld (host network, NET_ADMIN) and MetalLB's speaker (host network, NET_RAW).
                        assert.ok(["kube-flannel", "metallb-system"].includes(ns.metadata.name), `${ns.metadata.name} is privileged`);
                    }
                }
            });

            it("every pod: seccomp RuntimeDefault, no privilege escalation, no capabilities, read-only root, non-root but where the image needs root", () => {
                for (const d of own.filter((m) => m.kind === "Deployment")) {
                    const pod = d.spec.template.spec;
                    assert.deepEqual(pod.securityContext?.seccompProfile, { type: "RuntimeDefault" }, d.metadata.name);
                    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
                        const where = `${d.metadata.namespace}/${d.metadata.name}/${c.name}`;
                        const sc = c.securityContext ?? {};
                        assert.equal(sc.allowPrivilegeEscalation, false, where);
                        assert.deepEqual(sc.capabilities, { drop: ["ALL"] }, where);
                        assert.equal(sc.readOnlyRootFilesystem, true, where);
                        assert.equal(sc.privileged, undefined, where);
                        if (!(where in ROOT_CONTAINERS)) {
                            assert.equal(sc.runAsNonRoot, true, `${where} runs as non-root`);
                            assert.ok(sc.runAsUser > 0, where);
                        }
                        // A read-only root: every path the container writes is a volume.
                        const volumes = new Set(pod.volumes.map((v: { name: string }) => v.name));
                        for (const mount of c.volumeMounts ?? []) {
                            assert.ok(volumes.has(mount.name), `${where}: ${mount.name}`);
                        }
                    }
                }
            });

            it("the registry and the test app have disruption budgets a drain can satisfy (maxUnavailable 1), selecting their pods", () => {
                const deployments = own.filter((m) => m.kind === "Deployment");
                const budgets = own.filter((m) => m.kind === "PodDisruptionBudget");
                assert.equal(budgets.length, deployments.length, "one budget per Deployment");
                for (const d of deployments) {
                    const pdb = budgets.find((b) => b.metadata.namespace === d.metadata.namespace && b.metadata.name === d.metadata.name);
                    assert.ok(pdb, `${d.metadata.name} has a budget`);
                    // minAvailable with one replica (the registry) would block every drain of its node.
                    assert.equal(pdb.spec.maxUnavailable, 1);
                    assert.equal(pdb.spec.minAvailable, undefined);
                    assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
                }
            });

            it("Deployment selectors are those of the first release (a selector is immutable), pods carry the new labels too", () => {
                for (const d of own.filter((m) => m.kind === "Deployment")) {
                    assert.deepEqual(Object.keys(d.spec.selector.matchLabels), ["app"], d.metadata.name);
                    const podLabels = d.spec.template.metadata.labels;
                    assert.equal(podLabels["app.kubernetes.io/part-of"], "k8s-platform");
                    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) {
                        assert.equal(podLabels[k], v);
                    }
                }
            });
        });
    }
});
