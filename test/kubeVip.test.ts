// kubernetes.controlPlaneEndpoint {mode: "kube-vip"}: a virtual IP the control planes hold (issue 16
// item 5). Config checks, the static pod as rendered, and what the stack declares and re-runs.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ConfigError, IMAGES, parseConfig } from "../config";
import { KUBECONFIG_PLACEHOLDER, kubeVipManifestFor, renderKubeVipManifest } from "../components/render/kubeVip";
import { unwrapSecrets } from "../tools/mockRuntime";
import { renderSynthesis } from "../tools/synth";
import { compareRenderings, nextUp } from "../tools/synthDiff";
import { commands, envOf, named, RawConfig, scriptOf, synthStack, validateManifest } from "./helpers";

const VIP = "192.168.1.9";
const CONTROL_PLANES = [
    { name: "m-k8s", ip: "192.168.1.10", role: "control-plane" },
    { name: "m2-k8s", ip: "192.168.1.20", role: "control-plane" },
    { name: "m3-k8s", ip: "192.168.1.30", role: "control-plane" },
];
/** lab (existing hosts, MetalLB 192.168.1.11-13) with `count` control planes behind kube-vip at VIP. */
const withKubeVip = (count: 1 | 3, endpoint: unknown = { mode: "kube-vip", address: VIP, interface: "eth1" }) => (raw: RawConfig) => {
    const workers = (raw.nodes as { role: string }[]).filter((n) => n.role === "worker");
    raw.nodes = [...CONTROL_PLANES.slice(0, count), ...workers];
    raw.kubernetes = { ...((raw.kubernetes as object | undefined) ?? {}), controlPlaneEndpoint: endpoint };
};

const base = (endpoint: unknown, extra: Record<string, unknown> = {}) => ({
    infra: { provider: "existing" },
    network: { cidr: "10.0.0.0/24", gateway: "10.0.0.1" },
    nodes: [
        { name: "cp1", ip: "10.0.0.11", role: "control-plane" },
        { name: "cp2", ip: "10.0.0.12", role: "control-plane" },
        { name: "cp3", ip: "10.0.0.13", role: "control-plane" },
        { name: "w1", ip: "10.0.0.21", role: "worker" },
    ],
    kubernetes: { controlPlaneEndpoint: endpoint },
    registry: { enabled: false },
    testApp: { enabled: false },
    autoscaling: { enabled: false },
    ...extra,
});
const problemsOf = (raw: Record<string, unknown>): string[] => {
    try {
        parseConfig(raw, { stack: "t", hasSshPrivateKey: true });
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    return [];
};

describe("kube-vip config: every error names the key, the value and what is allowed", () => {
    it("a VIP on the node network, clear of every machine, the gateway and MetalLB's pool, passes; the endpoint is VIP:6443", () => {
        const config = parseConfig(base({ mode: "kube-vip", address: "10.0.0.50", interface: "ens192" }), { stack: "t", hasSshPrivateKey: true });
        assert.equal(config.kubernetes.controlPlaneEndpoint, "10.0.0.50:6443");
        assert.equal(config.kubernetes.endpointMode, "kube-vip");
        assert.deepEqual(config.kubernetes.kubeVip, { address: "10.0.0.50", interface: "ens192" });
        // Flannel takes the VIP's interface: on the VIP's holder a route to the VIP is local (lo).
        assert.deepEqual(config.kubernetes.podNetworkInterface, { name: "ens192" });
        assert.equal(config.haproxy.enabled, false);
        const noInterface = parseConfig(base({ mode: "kube-vip", address: "10.0.0.50" }), { stack: "t", hasSshPrivateKey: true });
        assert.deepEqual(noInterface.kubernetes.podNetworkInterface, { canReach: "10.0.0.1" });
    });

    for (const [what, raw, expected] of [
        ["a mode that is not offered", base({ mode: "keepalived" }), /controlPlaneEndpoint: mode "keepalived" is not allowed; allowed modes: haproxy, kube-vip/],
        ["no address", base({ mode: "kube-vip" }), /controlPlaneEndpoint\.address: is required with mode "kube-vip"/],
        ["an address that is not IPv4", base({ mode: "kube-vip", address: "10.0.0.300" }), /controlPlaneEndpoint\.address: "10\.0\.0\.300" is not a valid IPv4 address/],
        ["an address outside network.cidr", base({ mode: "kube-vip", address: "10.0.1.5" }), /"10\.0\.1\.5" is outside network\.cidr 10\.0\.0\.0\/24/],
        ["a control plane's address", base({ mode: "kube-vip", address: "10.0.0.12" }), /"10\.0\.0\.12" is the address of cp2; the VIP must be an address no machine has/],
        ["a worker's address", base({ mode: "kube-vip", address: "10.0.0.21" }), /"10\.0\.0\.21" is the address of w1/],
        ["the gateway", base({ mode: "kube-vip", address: "10.0.0.1" }), /"10\.0\.0\.1" is network\.gateway/],
        ["the broadcast address", base({ mode: "kube-vip", address: "10.0.0.255" }), /network or broadcast address of 10\.0\.0\.0\/24/],
        [
            "an address in MetalLB's pool",
            base({ mode: "kube-vip", address: "10.0.0.41" }, { metallb: { enabled: true, addresses: "10.0.0.40-10.0.0.49" } }),
            /"10\.0\.0\.41" is inside metallb\.addresses 10\.0\.0\.40-10\.0\.0\.49/,
        ],
        ["a misspelt key", base({ mode: "kube-vip", adress: "10.0.0.50" }), /controlPlaneEndpoint: unknown key "adress"; allowed keys: mode, address, interface/],
        ["a bad interface name", base({ mode: "kube-vip", address: "10.0.0.50", interface: "eth 0" }), /controlPlaneEndpoint\.interface: "eth 0" is not a network interface name/],
        ["a wrong type", base(7), /controlPlaneEndpoint: expected "host" or "host:port" .*\{mode: "kube-vip", address: "<virtual IP>".*got the number 7/],
        ["an address with mode haproxy", base({ mode: "haproxy", address: "10.0.0.50" }), /controlPlaneEndpoint\.address: "10\.0\.0\.50" is not allowed with mode "haproxy"/],
        ["mode haproxy without HAProxy", base({ mode: "haproxy" }), /controlPlaneEndpoint\.mode: "haproxy" needs haproxy\.enabled: true/],
        [
            "kube-vip on Azure (no layer 2 there)",
            {
                ...base({ mode: "kube-vip", address: "10.0.0.50" }),
                infra: { provider: "azure", azure: { location: "westeurope", adminCidrs: ["203.0.113.0/24"] } },
            },
            /controlPlaneEndpoint\.mode: "kube-vip" is not allowed with infra\.provider "azure"; allowed: vsphere, existing/,
        ],
    ] as const) {
        it(`refuses ${what}`, () => {
            const problems = problemsOf(raw as Record<string, unknown>);
            assert.ok(problems.some((p) => expected.test(p) && p.startsWith("k8s-platform:kubernetes.controlPlaneEndpoint")), problems.join("\n"));
        });
    }

    it("the control planes' endpoint is required with several of them, and the message offers kube-vip", () => {
        const problems = problemsOf(base(undefined));
        assert.ok(problems.some((p) => /controlPlaneEndpoint: is required with 3 control-plane nodes: \{mode: "kube-vip"/.test(p)), problems.join("\n"));
    });

    it("mode haproxy is the HAProxy host of its own in front of the API server", () => {
        const config = parseConfig(base({ mode: "haproxy" }, { haproxy: { enabled: true, host: { name: "lb", ip: "10.0.0.5" } } }), { stack: "t", hasSshPrivateKey: true });
        assert.equal(config.kubernetes.controlPlaneEndpoint, "10.0.0.5:6443");
        assert.equal(config.kubernetes.endpointMode, "haproxy");
        assert.ok(config.haproxy.enabled && config.haproxy.frontsApiServer);
    });
});

describe("kube-vip's static pod as rendered", () => {
    const manifest = renderKubeVipManifest({ address: "10.0.0.50", port: 6443, interface: "eth1", image: IMAGES.kubeVip });

    it("is a Pod in kube-system on the host network, the pinned image, ARP and control-plane election at the VIP", async () => {
        const pod = parse(kubeVipManifestFor(manifest, "/etc/kubernetes/admin.conf"));
        await validateManifest(pod);
        assert.equal(pod.kind, "Pod");
        assert.equal(pod.metadata.namespace, "kube-system");
        assert.equal(pod.spec.hostNetwork, true);
        const [container] = pod.spec.containers;
        assert.equal(container.image, IMAGES.kubeVip);
        assert.match(IMAGES.kubeVip, /^ghcr\.io\/kube-vip\/kube-vip:v\d+\.\d+\.\d+$/);
        const env = Object.fromEntries(container.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
        assert.deepEqual(
            { vip_arp: env.vip_arp, cp_enable: env.cp_enable, vip_leaderelection: env.vip_leaderelection, address: env.address, port: env.port, vip_interface: env.vip_interface, kubernetes_addr: env.kubernetes_addr },
            // kubernetes_addr: the local API server, not admin.conf's server (the VIP); kube-vip
            // v1.2.2 would use the latter (components/render/kubeVip.ts, test/e2e/kube-vip.test.ts).
            { vip_arp: "true", cp_enable: "true", vip_leaderelection: "true", address: "10.0.0.50", port: "6443", vip_interface: "eth1", kubernetes_addr: "kubernetes:6443" },
        );
        // No Services: MetalLB answers for LoadBalancer addresses here.
        assert.equal(env.svc_enable, undefined);
        assert.deepEqual(container.securityContext.capabilities, { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] });
        // kube-vip reaches the local API server as https://kubernetes:6443 (the certificate's name).
        assert.deepEqual(pod.spec.hostAliases, [{ ip: "127.0.0.1", hostnames: ["kubernetes"] }]);
        assert.deepEqual(container.volumeMounts, [{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf", readOnly: true }]);
        assert.deepEqual(pod.spec.volumes, [{ name: "kubeconfig", hostPath: { path: "/etc/kubernetes/admin.conf", type: "File" } }]);
    });

    it("leaves the kubeconfig to the node (super-admin.conf during init, admin.conf after and on joins); no interface: none named", () => {
        assert.equal(manifest.split(KUBECONFIG_PLACEHOLDER).length, 2, "one placeholder");
        assert.equal(parse(kubeVipManifestFor(manifest, "/etc/kubernetes/super-admin.conf")).spec.volumes[0].hostPath.path, "/etc/kubernetes/super-admin.conf");
        const bare = renderKubeVipManifest({ address: "10.0.0.50", port: 6443, image: IMAGES.kubeVip });
        assert.doesNotMatch(bare, /vip_interface/);
    });

    it("test/fixtures/kube-vip.yaml (what the real-root tier places) is this renderer's output", () => {
        const fixture = fs.readFileSync(path.join(__dirname, "fixtures", "kube-vip.yaml"), "utf8");
        assert.equal(fixture, renderKubeVipManifest({ address: "10.0.0.10", port: 6443, interface: "eth0", image: IMAGES.kubeVip }));
    });
});

describe("a stack with kube-vip (lab, three control planes)", () => {
    it("no HAProxy, the endpoint recorded as the VIP; init and every control-plane join carry the same manifest, workers none", async () => {
        const s = await synthStack("lab", withKubeVip(3));
        assert.equal(commands(s).filter((c) => scriptOf(c) === "haproxy").length, 0);
        assert.ok(!s.resources.some((r) => /HaproxyBalancer/.test(r.type)));
        assert.deepEqual(named(s, "cluster-cluster-settings").inputs.keepers, {
            controlPlaneEndpoint: `${VIP}:6443`,
            endpointVip: "kube-vip",
            podSubnet: "10.244.0.0/16",
            serviceSubnet: "10.96.0.0/12",
            dnsDomain: "cluster.local",
        });
        const manifest = envOf(named(s, "cluster-init"), "KUBE_VIP_MANIFEST");
        assert.ok(manifest && manifest.includes(`value: ${VIP}`) && manifest.includes(KUBECONFIG_PLACEHOLDER));
        for (const cp of ["m2-k8s", "m3-k8s"]) {
            assert.equal(envOf(named(s, `cluster-${cp}-join`), "KUBE_VIP_MANIFEST"), manifest, cp);
        }
        for (const worker of ["w1-k8s", "w2-k8s", "w3-k8s"]) {
            assert.equal(envOf(named(s, `cluster-${worker}-join`), "KUBE_VIP_MANIFEST"), undefined, worker);
        }
        // Joins and the API server certificate name the VIP.
        const join = parse(envOf(named(s, "cluster-m2-k8s-join"), "KUBEADM_CONFIG")!);
        assert.equal(join.discovery.bootstrapToken.apiServerEndpoint, `${VIP}:6443`);
        assert.ok(envOf(named(s, "cluster-apiserver-certs"), "CERT_SANS")!.split(" ").includes("api.localtest.com"));
    });

    it("the kubeconfig and apiEndpoint outputs point at the VIP, and hostsFile names it api.<domain>", async () => {
        const s = await synthStack("lab", withKubeVip(3));
        assert.equal(s.outputs.apiEndpoint.value, `https://${VIP}:6443`);
        const kubeconfig = parse(String(unwrapSecrets(s.outputs.kubeconfig.value)));
        assert.equal(kubeconfig.clusters[0].cluster.server, `https://${VIP}:6443`);
        assert.match(String(s.outputs.hostsFile.value), new RegExp(`^${VIP.replace(/\./g, "\\.")}\\tapi\\.localtest\\.com$`, "m"));
    });

    it("a stack without kube-vip is unchanged: no manifest in init's step, the endpoint recorded as none", async () => {
        const s = await synthStack("lab");
        assert.equal(envOf(named(s, "cluster-init"), "KUBE_VIP_MANIFEST"), undefined);
        assert.equal((named(s, "cluster-cluster-settings").inputs.keepers as Record<string, string>).endpointVip, "none");
    });

    it("growing from one control plane to three behind the VIP keeps the record and runs no kube-vip change on the first", async () => {
        const one = await synthStack("lab", withKubeVip(1));
        const three = await synthStack("lab", withKubeVip(3));
        const keepers = (s: typeof one) => named(s, "cluster-cluster-settings").inputs.keepers;
        assert.deepEqual(keepers(three), keepers(one));
        for (const key of ["KUBE_VIP_MANIFEST", "KUBEADM_CONFIG"]) {
            assert.equal(envOf(named(three, "cluster-init"), key), envOf(named(one, "cluster-init"), key), key);
        }
        const n = nextUp(compareRenderings("lab", renderSynthesis(one), renderSynthesis(three)));
        // init's step re-runs only for UPLOAD_CERTS (it finds the node initialised and leaves it alone).
        assert.deepEqual([...new Set(n.reRun.map((r) => r.script))].sort(), ["hosts-block", "join-credentials", "kubeadm-init"]);
        assert.ok(n.firstRun.some((r) => r.script === "kubeadm-join" && r.target === "m2-k8s"));
        assert.ok(n.firstRun.some((r) => r.script === "kubeadm-join" && r.target === "m3-k8s"));
        assert.deepEqual(n.deleteRun, []);
    });

    it("adding two more control planes to three runs nothing on the first three but the hosts blocks and join credentials", async () => {
        const five = (raw: RawConfig) => {
            withKubeVip(3)(raw);
            (raw.nodes as unknown[]).splice(3, 0, { name: "m4-k8s", ip: "192.168.1.40", role: "control-plane" }, { name: "m5-k8s", ip: "192.168.1.50", role: "control-plane" });
        };
        const n = nextUp(compareRenderings("lab", renderSynthesis(await synthStack("lab", withKubeVip(3))), renderSynthesis(await synthStack("lab", five))));
        assert.deepEqual([...new Set(n.reRun.map((r) => r.script))].sort(), ["hosts-block", "join-credentials"]);
        assert.deepEqual(n.deleteRun, []);
    });

    it("removing a control plane resets it (kubeadm reset empties manifests/, kube-vip's included)", async () => {
        const n = nextUp(
            compareRenderings(
                "lab",
                renderSynthesis(await synthStack("lab", withKubeVip(3))),
                renderSynthesis(
                    await synthStack("lab", (raw: RawConfig) => {
                        withKubeVip(3)(raw);
                        raw.nodes = (raw.nodes as { name: string }[]).filter((node) => node.name !== "m3-k8s" && node.name !== "m2-k8s");
                    }),
                ),
            ),
        );
        assert.ok(n.deleteRun.some((r) => r.script === "kubeadm-reset" && r.target === "m3-k8s"));
    });
});

/** Runs test/programs/refusal.ts with a scenario: a config change against lab's recorded state. */
function changeAgainstState(scenario: string): { status: number | null; output: string } {
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "programs", "refusal.ts"), scenario], { encoding: "utf8" });
    return { status: run.status, output: run.stdout + run.stderr };
}

describe("the endpoint stays recorded: switching to or from kube-vip on a running cluster is refused with the procedure", () => {
    it("lab's one control plane moved behind a VIP: refused, naming both endpoints and the way to move it", () => {
        const run = changeAgainstState("kube-vip-added");
        assert.equal(run.status, 1, run.output);
        assert.match(run.output, /kubernetes\.controlPlaneEndpoint: the cluster was initialised with "192\.168\.1\.10:6443", the config now gives "192\.168\.1\.9:6443"/);
        assert.match(run.output, /README "Moving the control-plane endpoint"/);
    });

    it("kube-vip replaced by a load balancer at the same address: refused (kube-vip would keep announcing it)", () => {
        const run = changeAgainstState("kube-vip-removed");
        assert.equal(run.status, 1, run.output);
        assert.match(run.output, /kubernetes\.controlPlaneEndpoint\.mode: the cluster was initialised with "kube-vip", the config now gives "none"/);
        assert.match(run.output, /kube-vip's static pod on every control plane announces the endpoint's address/);
    });

    it("a stack recorded before endpointVip existed is not refused for it, and a VIP kept through a re-up goes through", () => {
        assert.equal(changeAgainstState("kube-vip-kept").status, 0);
        assert.equal(changeAgainstState("cert-sans").status, 0);
    });
});
