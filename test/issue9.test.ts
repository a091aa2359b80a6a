// What the real engine and providers do, and the mock runtime cannot show by itself: the chart
// hooks Chart v4 drops, namespaces charts do not create, secrets in state, the bootstrap node, the
// kubeconfig, release names, readiness ordering, host keys and dial limits. Each assertion names
// the provider or chart source it rests on.
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { DeclaredResource, Synthesis, unwrapSecrets } from "../tools/mockRuntime";
import { ConfigError, parseConfig } from "../config";
import { byType, commands, hostOf, manifests, named, rawConfigOf, scriptOf, synthStack, threeControlPlanes } from "./helpers";

const CHART = "kubernetes:helm.sh/v4:Chart";
const chartOf = (s: Synthesis, chart: string): DeclaredResource => byType(s, CHART).find((c) => c.inputs.chart === chart)!;

describe("lab: in-cluster add-ons as the real charts need them", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("lab");
    });

    it("switches ingress-nginx's admission webhook off: its Secret and caBundle come only from Helm hooks", () => {
        // ingress-nginx chart 4.15.0: templates/admission-webhooks/job-patch/job-createSecret.yaml
        // (pre-install hook) makes Secret ingress-nginx-admission; job-patchWebhook.yaml (post-install
        // hook) writes the caBundle. pulumi-kubernetes helm/v4/chart.go: DisableHooks = true.
        const values = chartOf(s, "ingress-nginx").inputs.values as any;
        assert.equal(values.controller.admissionWebhooks.enabled, false);
    });

    it("declares kube-flannel (privileged) before the Flannel chart, which has no Namespace template", () => {
        // flannel chart v0.27.4: templates use .Release.Namespace; README "Needs manual creation of namespace".
        const ns = manifests(s).find((m) => m.kind === "Namespace" && m.metadata.name === "kube-flannel");
        assert.ok(ns, "a Namespace kube-flannel is declared");
        assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
        const nsResource = byType(s, "kubernetes:core/v1:Namespace").find((r) => (r.inputs.metadata as any).name === "kube-flannel")!;
        assert.equal(nsResource.parent, "flannel");
        assert.equal(chartOf(s, "flannel").inputs.namespace, "kube-flannel");
    });

    it("pins flanneld's interface to the node network's (seed 003's NAT NICs share 10.0.2.15), through an address no node owns", () => {
        const args = (chartOf(s, "flannel").inputs.values as any).flannel.args;
        // values.yaml v0.27.4 defaults, repeated because Helm replaces lists. Not the control
        // plane's own 192.168.1.10: on that node its route is lo (test/flannelInterface.test.ts).
        assert.deepEqual(args, ["--ip-masq", "--kube-subnet-mgr", "--iface-can-reach=192.168.1.1"]);
    });

    it("lets the interface be named instead", async () => {
        const named_ = await synthStack("lab", (raw: any) => {
            raw.kubernetes = { ...(raw.kubernetes ?? {}), podNetworkInterface: { name: "eth1" } };
        });
        assert.ok((chartOf(named_, "flannel").inputs.values as any).flannel.args.includes("--iface=eth1"));
    });

    it("names every Helm release explicitly, independent of the stack name", () => {
        const releases = Object.fromEntries(byType(s, CHART).map((c) => [c.inputs.chart, c.inputs.name]));
        assert.deepEqual(releases, { flannel: "flannel", metallb: "metallb", "metrics-server": "metrics-server", "ingress-nginx": "ingress-nginx" });
    });

    it("starts in-cluster workloads only after init and every node's join", () => {
        const platform = named(s, "platform");
        for (const dep of ["flannel", "cluster-init", "cluster-w1-k8s-join", "cluster-w2-k8s-join", "cluster-w3-k8s-join"]) {
            assert.ok(platform.dependsOn.includes(dep), `platform waits for ${dep}`);
        }
        assert.deepEqual(named(s, "flannel").dependsOn, ["cluster-init"]);
    });
});

describe("lab: secrets in state and on the wire", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("lab");
    });

    it("stores kubeadm init's output as a secret and keeps it out of the logs", () => {
        // pulumi-go-provider marks an output secret only when an input of the same name is secret.
        const init = commands(s).find((c) => scriptOf(c) === "kubeadm-init")!;
        for (const output of ["stdout", "stderr"]) {
            assert.ok(init.options.additionalSecretOutputs?.includes(output), output);
        }
        assert.equal(init.inputs.logging, "none");
    });

    it("never sends the previous output back to the host (addPreviousOutputInEnv off on every command)", () => {
        for (const c of commands(s)) {
            assert.equal(c.inputs.addPreviousOutputInEnv, false, c.name);
        }
    });

    it("builds the admin kubeconfig from a client certificate the program signs, and names the cluster", () => {
        assert.ok(!commands(s).some((c) => scriptOf(c) === "read-kubeconfig"), "no kubeconfig from an SSH command's stdout");
        const csr = named(s, "cluster-admin-csr");
        assert.equal((csr.inputs.subject as any).organization, "kubeadm:cluster-admins");
        const cert = named(s, "cluster-admin-cert");
        assert.ok(Number(cert.inputs.earlyRenewalHours) >= 30 * 24, "renewed well before expiry");
        assert.deepEqual(cert.inputs.allowedUses, ["client_auth", "digital_signature", "key_encipherment"]);
        const kubeconfig = parseYaml(String(s.outputs.kubeconfig.value));
        assert.equal(kubeconfig.clusters[0].cluster.server, "https://192.168.1.10:6443");
        const provider = named(s, "cluster-k8s");
        assert.equal(provider.inputs.clusterIdentifier, "lab-kubeadm");
        assert.deepEqual(provider.dependsOn, ["cluster-init"]);
    });

    it("pins SSH host keys given in config, for nodes and the bastion", async () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGfakehostkeyfakehostkeyfakehostkey00 m-k8s";
        const pinned = await synthStack("lab", (raw: any) => {
            raw.nodes[0].hostKey = key;
            raw.ssh = { ...(raw.ssh ?? {}), bastion: { host: "203.0.113.5", hostKey: key.replace("m-k8s", "bastion") }, dialErrorLimit: 4 };
        });
        const init = commands(pinned).find((c) => scriptOf(c) === "kubeadm-init")!;
        const connection = unwrapSecrets(init.inputs.connection) as any;
        assert.equal(connection.hostKey, key);
        assert.equal(connection.proxy.hostKey, key.replace("m-k8s", "bastion"));
        assert.equal(connection.dialErrorLimit, 4);
        const worker = commands(pinned).find((c) => hostOf(c) === "192.168.1.101")!;
        assert.equal((unwrapSecrets(worker.inputs.connection) as any).hostKey, undefined, "unpinned hosts keep their connection unchanged");
    });

    it("refuses a host key that is not one, naming the key", () => {
        const raw = rawConfigOf("lab") as any;
        raw.nodes[1].hostKey = "AAAA not a key";
        assert.throws(() => parseConfig(raw, { stack: "lab", hasSshPrivateKey: true }), (e: ConfigError) =>
            e.problems.some((p) => p.startsWith("k8s-platform:nodes[1].hostKey:") && p.includes("AAAA not a key")),
        );
    });
});

describe("the bootstrap node is chosen once", () => {
    it("keeps init on the named node when control planes are re-ordered", async () => {
        const s = await synthStack("lab", (raw: any) => {
            threeControlPlanes(["m2-k8s", "m-k8s", "m3-k8s"])(raw);
            raw.kubernetes.bootstrapNode = "m-k8s";
        });
        const init = commands(s).find((c) => scriptOf(c) === "kubeadm-init")!;
        assert.equal(hostOf(init), "192.168.1.10");
        assert.ok(!s.resources.some((r) => r.name === "cluster-m-k8s-join"), "the bootstrap node never joins");
        assert.ok(s.resources.some((r) => r.name === "cluster-m2-k8s-join"));
    });

    it("stops, before init can move, when the config picks another node than the one in state", () => {
        // test/programs/bootstrapMoved.ts: state of an earlier `up` pinned m-k8s; now m2-k8s is first
        // and no key names the bootstrap node.
        const run = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "programs", "bootstrapMoved.ts")], { encoding: "utf8" });
        assert.equal(run.status, 1, run.stdout + run.stderr);
        assert.match(run.stderr, /k8s-platform:kubernetes\.bootstrapNode: the cluster was initialised on m-k8s.*Set kubernetes\.bootstrapNode to "m-k8s"/s);
    });

    it("pins the bootstrap node with a RandomId whose keepers' changes the engine ignores", async () => {
        // The refusal relies on the engine keeping the recorded keepers: without ignoreChanges a
        // changed keeper replaces the RandomId (keepers is ForceNew) and init could move.
        const s = await synthStack("lab");
        const pin = named(s, "cluster-bootstrap-node");
        assert.equal(pin.type, "random:index/randomId:RandomId");
        assert.deepEqual(pin.options.ignoreChanges, ["keepers"]);
        assert.deepEqual(pin.inputs.keepers, { node: "m-k8s" });
    });

    it("refuses a bootstrap node that is not a control plane", () => {
        const raw = rawConfigOf("lab") as any;
        raw.kubernetes = { bootstrapNode: "w1-k8s" };
        assert.throws(() => parseConfig(raw, { stack: "lab", hasSshPrivateKey: true }), (e: ConfigError) =>
            e.problems.some((p) => p.startsWith("k8s-platform:kubernetes.bootstrapNode:") && p.includes('"w1-k8s"') && p.includes("m-k8s")),
        );
    });
});

it("aks: the Kubernetes provider has a clusterIdentifier, so a rotated credential replaces nothing", async () => {
    const s = await synthStack("aks");
    const [provider] = byType(s, "pulumi:providers:kubernetes");
    assert.equal(provider.inputs.clusterIdentifier, "aks-cluster-aks");
});

it("pins every @pulumi package exactly (the command provider's 4.x on the registry was published by mistake)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
    for (const [name, spec] of Object.entries<string>(pkg.dependencies)) {
        if (name.startsWith("@pulumi/")) {
            assert.match(spec, /^\d+\.\d+\.\d+$/, `${name}: ${spec}`);
        }
    }
    assert.equal(pkg.dependencies["@pulumi/command"], "1.2.1");
});
