import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { caCertHash, renderInitConfig, renderJoinConfig } from "../components/render/kubeadm";
import { renderInvocation, renderSecretStdin, shellQuote } from "../components/render/script";
import { parseConfig } from "../config";
import { noProxyList, prepareNodeEnv } from "../config";
import { rawConfigOf } from "./helpers";

const FIXTURE_CA = path.join(__dirname, "fixtures", "ca.crt");

describe("kubeadm configuration", () => {
    const init = () =>
        renderInitConfig({
            clusterName: "dev",
            node: { name: "test-master", ip: "192.168.111.169" },
            kubernetesVersion: "1.35",
            podSubnet: "10.244.0.0/16",
            serviceSubnet: "10.96.0.0/12",
            dnsDomain: "cluster.local",
            controlPlaneEndpoint: "192.168.111.169:6443",
            certSANs: ["api.example"],
        });

    it("renders v1beta4 Init/Cluster/Kubelet documents with the configured networks", () => {
        const docs = parseAllDocuments(init()).map((d) => d.toJS());
        assert.deepEqual(docs.map((d) => `${d.apiVersion} ${d.kind}`), [
            "kubeadm.k8s.io/v1beta4 InitConfiguration",
            "kubeadm.k8s.io/v1beta4 ClusterConfiguration",
            "kubelet.config.k8s.io/v1beta1 KubeletConfiguration",
        ]);
        const [initCfg, cluster, kubelet] = docs;
        assert.deepEqual(cluster.networking, { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" });
        assert.equal(cluster.controlPlaneEndpoint, "192.168.111.169:6443");
        assert.deepEqual(cluster.apiServer.certSANs, ["192.168.111.169", "test-master", "api.example"]);
        assert.equal(initCfg.localAPIEndpoint.advertiseAddress, "192.168.111.169");
        assert.equal(initCfg.nodeRegistration.name, "test-master");
        assert.deepEqual(initCfg.nodeRegistration.kubeletExtraArgs, [{ name: "node-ip", value: "192.168.111.169" }]);
        assert.equal(kubelet.cgroupDriver, "systemd");
    });

    it("holds placeholders, never secrets; a patch version is pinned, a minor is filled in on the node", () => {
        const [initCfg, cluster] = parseAllDocuments(init()).map((d) => d.toJS());
        assert.equal(initCfg.bootstrapTokens[0].token, "@BOOTSTRAP_TOKEN@");
        assert.equal(initCfg.certificateKey, "@CERTIFICATE_KEY@");
        assert.equal(cluster.kubernetesVersion, "@KUBERNETES_VERSION@");
        const pinned = renderInitConfig({ ...{ clusterName: "c", node: { name: "n", ip: "10.0.0.1" }, podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local", controlPlaneEndpoint: "10.0.0.1:6443", certSANs: [] }, kubernetesVersion: "1.35.2" });
        assert.equal(parseAllDocuments(pinned)[1].toJS().kubernetesVersion, "v1.35.2");
    });

    it("renders joins that verify the CA hash; only control planes carry a certificate key", () => {
        const worker = parseYaml(renderJoinConfig({ node: { name: "w1", ip: "10.0.0.2" }, controlPlaneEndpoint: "10.0.0.1:6443", caCertHash: "sha256:ab", controlPlane: false }));
        assert.deepEqual(worker.discovery.bootstrapToken, { apiServerEndpoint: "10.0.0.1:6443", token: "@BOOTSTRAP_TOKEN@", caCertHashes: ["sha256:ab"] });
        assert.equal(worker.controlPlane, undefined);
        assert.equal("unsafeSkipCAVerification" in worker.discovery.bootstrapToken, false);
        const cp = parseYaml(renderJoinConfig({ node: { name: "m2", ip: "10.0.0.3" }, controlPlaneEndpoint: "lb:6443", caCertHash: "sha256:ab", controlPlane: true }));
        assert.deepEqual(cp.controlPlane, { localAPIEndpoint: { advertiseAddress: "10.0.0.3", bindPort: 6443 }, certificateKey: "@CERTIFICATE_KEY@" });
    });

    it("computes the CA hash exactly as openssl does (the documented kubeadm recipe)", () => {
        const der = execFileSync("sh", ["-c", `openssl x509 -pubkey -noout -in '${FIXTURE_CA}' | openssl pkey -pubin -outform der | sha256sum`]);
        const expected = `sha256:${der.toString().split(" ")[0]}`;
        assert.equal(caCertHash(fs.readFileSync(FIXTURE_CA, "utf8")), expected);
    });
});

describe("script invocation", () => {
    const run = (command: string, env: Record<string, string>, input = "", shell = "sh") =>
        execFileSync(shell, ["-c", command], { env: { ...process.env, ...env }, input, encoding: "utf8" });

    it("runs the script with lib.sh and its parameters, quoting any value", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-"));
        fs.mkdirSync(path.join(root, "etc"));
        const tricky = `it's "quoted" $HOME \`x\``;
        run(renderInvocation("hosts-block", { BLOCK_NAME: tricky, HOSTS_LINES: "10.0.0.9\tn9" }), { K8SP_ROOT: root });
        assert.equal(fs.readFileSync(path.join(root, "etc", "hosts"), "utf8"), `# BEGIN k8s-platform ${tricky}\n10.0.0.9\tn9\n# END k8s-platform ${tricky}\n`);
        assert.equal(run(`printf %s ${shellQuote(tricky)}`, {}), tricky);
    });

    it("delivers secrets on standard input, byte for byte, decoded by read_secrets", () => {
        const pem = "-----BEGIN KEY-----\nline 'two' $x\n-----END KEY-----\n";
        const lib = path.resolve(__dirname, "..", "scripts", "lib.sh");
        const out = run(`. '${lib}'; read_secrets CA_KEY; printf %s "$CA_KEY"`, {}, renderSecretStdin({ CA_KEY: pem, OTHER: "x", SKIPPED: undefined }), "bash");
        assert.equal(out, pem.replace(/\n$/, ""), "command substitution drops only the final newline");
        assert.equal(renderSecretStdin({ B: "b", A: undefined }), `B=${Buffer.from("b").toString("base64")}\n`);
    });

    it("refuses parameter names that are not shell variables", () => {
        assert.throws(() => renderInvocation("hosts-block", { "bad-name": "x" }), /not an upper-case shell variable name/);
    });

    it("fails the remote command when the script fails", () => {
        assert.throws(() => run(renderInvocation("hosts-block", { BLOCK_NAME: "lab" }), { K8SP_ROOT: fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-")) }), /HOSTS_LINES/);
    });
});

describe("node preparation parameters", () => {
    const config = parseConfig(rawConfigOf("dev"), { stack: "dev", hasSshPrivateKey: true });
    const envFor = (i: number) => prepareNodeEnv({ node: config.nodes[i], kubernetes: config.kubernetes, os: config.os, nodeNetwork: config.network.cidr, nfsClient: true });

    it("carry the node, its role and the cluster's versions, and nothing about other nodes", () => {
        const env = envFor(1);
        assert.equal(env.NODE_NAME, "test-node1");
        assert.equal(env.NODE_ROLE, "worker");
        assert.equal(env.K8S_MINOR, "1.37", "the default minor (dev sets none)");
        assert.equal(env.K8S_VERSION, "1.37");
        assert.equal(env.CONTAINERD_MINIMUMS, "2.3.0 2.2.0");
        assert.equal(env.K8S_REPO_BASE, "https://pkgs.k8s.io/core:/stable:");
        assert.equal(env.NFS_CLIENT, "true");
        for (const other of config.nodes.filter((n) => n.name !== "test-node1")) {
            assert.ok(!JSON.stringify(env).includes(other.ip), `mentions ${other.name}`);
        }
    });

    it("carry the containerd minimums of the stack's own minor (containerd RELEASES.md, config/versions.ts)", () => {
        const at = (version: string) => {
            const c = parseConfig({ ...structuredClone(rawConfigOf("dev")), kubernetes: { version } }, { stack: "dev", hasSshPrivateKey: true });
            const env = prepareNodeEnv({ node: c.nodes[1], kubernetes: c.kubernetes, os: c.os, nodeNetwork: c.network.cidr, nfsClient: false });
            return [env.K8S_MINOR, env.K8S_VERSION, env.CONTAINERD_MINIMUMS];
        };
        assert.deepEqual(at("1.35"), ["1.35", "1.35", "2.2.0 2.1.5 1.7.28"]);
        assert.deepEqual(at("1.35.4"), ["1.35", "1.35.4", "2.2.0 2.1.5 1.7.28"]);
        assert.deepEqual(at("1.36"), ["1.36", "1.36", "2.3.0 2.2.0"]);
        assert.deepEqual(at("1.37.2"), ["1.37", "1.37.2", "2.3.0 2.2.0"]);
    });

    it("give an open firewall the pod network and MetalLB; a disabled one neither (toggling MetalLB re-runs no preparation)", () => {
        const node = config.nodes[1];
        const open = prepareNodeEnv({ node, kubernetes: config.kubernetes, os: { ...config.os, firewall: "open" }, nodeNetwork: config.network.cidr, nfsClient: false, metallb: true });
        assert.equal(open.POD_SUBNET, config.kubernetes.podSubnet);
        assert.equal(open.METALLB, "true");
        const disabled = (metallb: boolean) => prepareNodeEnv({ node, kubernetes: config.kubernetes, os: { ...config.os, firewall: "disabled" }, nodeNetwork: config.network.cidr, nfsClient: false, metallb });
        assert.deepEqual(disabled(true), disabled(false));
        assert.equal(disabled(true).POD_SUBNET, undefined);
        assert.equal(open.CONTAINERD_APT_REPO_URL, "https://download.docker.com/linux/ubuntu");
    });

    it("keep cluster traffic off the proxy", () => {
        assert.equal(noProxyList("corp.example, localhost", "cluster.local", ["192.168.111.0/24", "10.244.0.0/16"]), "corp.example,localhost,127.0.0.1,.svc,.cluster.local,192.168.111.0/24,10.244.0.0/16");
        assert.match(noProxyList(undefined, "k8s.internal", []), /,\.k8s\.internal$/, "follows kubernetes.dnsDomain");
        // Go's NO_PROXY matches CIDRs only against IP literals: registry.<domain> needs its suffix.
        assert.ok(noProxyList(undefined, "cluster.local", ["192.168.111.0/24"], "localtest.com").split(",").includes(".localtest.com"));
    });
});

it("a node behind a proxy keeps registry.<domain> off it (the whole program, not just the helper)", async () => {
    const { synthStack, commands, scriptOf, envOf } = await import("./helpers");
    const s = await synthStack("lab", (raw: any) => {
        raw.os = { httpProxy: "http://proxy.corp.example:3128" };
    });
    const preps = commands(s).filter((c) => scriptOf(c) === "prepare-node");
    assert.equal(preps.length, 4);
    for (const p of preps) {
        assert.ok(envOf(p, "NO_PROXY_LIST")!.split(",").includes(".localtest.com"), p.name);
    }
});
