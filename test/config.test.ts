import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../config";
import { KUBERNETES_VERSION } from "../config";
import { rawConfigOf, RawConfig } from "./helpers";

const parse = (raw: RawConfig, hasSshPrivateKey = true) => parseConfig(raw, { stack: "test", hasSshPrivateKey });

/** Parses an edited copy of a stack's config and returns the error message (fails if none). */
function errorFor(edit: (raw: any) => void, base = "dev", hasSshPrivateKey = true): string {
    const raw = structuredClone(rawConfigOf(base));
    edit(raw);
    try {
        parse(raw, hasSshPrivateKey);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        return err.message;
    }
    assert.fail("expected the config to be refused");
}

describe("stack config", () => {
    it("accepts the committed dev and lab stacks and fills in the documented defaults", () => {
        const dev = parse(rawConfigOf("dev"));
        assert.equal(dev.kubernetes.version, KUBERNETES_VERSION);
        assert.equal(dev.kubernetes.podSubnet, "10.244.0.0/16");
        assert.equal(dev.kubernetes.serviceSubnet, "10.96.0.0/12");
        assert.equal(dev.kubernetes.controlPlaneEndpoint, "192.168.111.169:6443");
        assert.deepEqual(
            dev.nodes.map((n) => [n.name, n.role, n.size.cpus, n.size.memoryMb, n.size.diskGb]),
            [
                ["test-master", "control-plane", 2, 2048, 50],
                ["test-node1", "worker", 2, 4096, 50],
                ["test-node2", "worker", 2, 4096, 50],
                ["test-node3", "worker", 2, 4096, 50],
            ],
        );
        assert.equal(dev.os.firewall, "disabled");
        const lab = parse(rawConfigOf("lab"));
        assert.equal(lab.infra.provider, "existing");
        assert.deepEqual(lab.nodes.map((n) => n.ip), ["192.168.1.10", "192.168.1.101", "192.168.1.102", "192.168.1.103"]);
    });

    it("refuses malformed CIDRs, naming the key, the value and the expected form", () => {
        const message = errorFor((raw) => (raw.kubernetes.podSubnet = "10.244.0.0/33"));
        assert.match(message, /k8s-platform:kubernetes\.podSubnet: "10\.244\.0\.0\/33" is not a valid IPv4 CIDR \(expected a\.b\.c\.d\/n/);
        assert.match(errorFor((raw) => (raw.network.cidr = "192.168.111.0")), /k8s-platform:network\.cidr: "192\.168\.111\.0" is not a valid IPv4 CIDR/);
        assert.match(errorFor((raw) => (raw.network.cidr = "192.168.111.5/24")), /has host bits set; did you mean "192\.168\.111\.0\/24"/);
    });

    it("refuses malformed IP addresses", () => {
        const message = errorFor((raw) => (raw.nodes[1].ip = "192.168.111.300"));
        assert.match(message, /k8s-platform:nodes\[1\]\.ip: "192\.168\.111\.300" is not a valid IPv4 address/);
    });

    it("refuses overlapping pod, service and node networks (seed 000)", () => {
        assert.match(
            errorFor((raw) => (raw.kubernetes.podSubnet = "192.168.0.0/16")),
            /kubernetes\.podSubnet \(192\.168\.0\.0\/16\) overlaps network\.cidr \(192\.168\.111\.0\/24\)/,
        );
        assert.match(
            errorFor((raw) => (raw.kubernetes.serviceSubnet = "10.244.128.0/20")),
            /kubernetes\.podSubnet \(10\.244\.0\.0\/16\) overlaps kubernetes\.serviceSubnet \(10\.244\.128\.0\/20\)/,
        );
    });

    it("refuses node IPs outside the node network or used twice, and duplicate host names", () => {
        assert.match(errorFor((raw) => (raw.nodes[2].ip = "10.1.2.3")), /k8s-platform:nodes\[2\]\.ip: IP "10\.1\.2\.3" of test-node2 is outside network\.cidr 192\.168\.111\.0\/24/);
        assert.match(errorFor((raw) => (raw.nodes[2].ip = "192.168.111.172")), /IP 192\.168\.111\.172 is used by more than one host \(test-node1, test-node2\)/);
        assert.match(errorFor((raw) => (raw.nodes[2].name = "test-node1")), /host name "test-node1" is used more than once/);
        assert.match(errorFor((raw) => (raw.nodes[2].name = "Test_Node")), /k8s-platform:nodes\[2\]\.name: "Test_Node" is not a valid node name/);
    });

    it("refuses zero control-plane nodes and an even number above one", () => {
        assert.match(
            errorFor((raw) => raw.nodes.forEach((n: any) => (n.role = "worker"))),
            /k8s-platform:nodes: needs at least one node with role "control-plane"/,
        );
        assert.match(
            errorFor((raw) => (raw.nodes[1].role = "control-plane")),
            /k8s-platform:nodes: 2 control-plane nodes is an even number; etcd needs a majority, so use 1, 3, 5 or 7/,
        );
        assert.match(errorFor((raw) => (raw.nodes[1].role = "master")), /k8s-platform:nodes\[1\]\.role: "master" is not allowed; allowed values: control-plane, worker/);
    });

    it("refuses an unknown infra provider, listing the allowed ones", () => {
        assert.match(errorFor((raw) => (raw.infra.provider = "openstack")), /k8s-platform:infra\.provider: "openstack" is not allowed; allowed values: vsphere, existing/);
    });

    it("refuses Kubernetes versions that are not 1.MINOR or 1.MINOR.PATCH", () => {
        for (const bad of ["v1.35", "1.35.x", "2.0", "latest", "1"]) {
            assert.match(
                errorFor((raw) => (raw.kubernetes.version = bad)),
                new RegExp(`k8s-platform:kubernetes\\.version: "${bad.replace(/\./g, "\\.")}" is not a Kubernetes version; allowed: "1\\.MINOR" or "1\\.MINOR\\.PATCH"`),
            );
        }
        assert.equal(parse({ ...structuredClone(rawConfigOf("lab")), kubernetes: { version: "1.35.2" } }).kubernetes.minor, "1.35");
    });

    it("refuses a stack without an SSH private key, saying how to set it", () => {
        assert.match(
            errorFor(() => undefined, "lab", false),
            /k8s-platform:sshPrivateKey: is required \(the SSH private key for the nodes\); set it with `pulumi config set --secret sshPrivateKey/,
        );
    });

    it("refuses unknown keys (typos) with the allowed ones, and required keys that are missing", () => {
        assert.match(errorFor((raw) => (raw.nodes[0].rol = "worker")), /k8s-platform:nodes\[0\]: unknown key "rol"; allowed keys: name, ip, role/);
        assert.match(errorFor((raw) => (raw.node = [])), /k8s-platform:node: unknown key; allowed keys: kubernetes, infra/);
        assert.match(errorFor((raw) => delete raw.network), /k8s-platform:network: is required/);
        assert.match(errorFor((raw) => delete raw.infra.vsphere), /k8s-platform:infra\.vsphere: is required when infra\.provider is "vsphere"/);
    });

    it("reports every problem at once", () => {
        const message = errorFor((raw) => {
            raw.nodes[1].ip = "10.9.9.9";
            raw.nodes[2].name = "test-node1";
        });
        assert.match(message, /outside network\.cidr/);
        assert.match(message, /used more than once/);
    });

    it("needs a control-plane endpoint (or HAProxy in front) with several control planes", () => {
        const threeMasters = (raw: any) => {
            raw.nodes[1].role = "control-plane";
            raw.nodes[2].role = "control-plane";
            raw.haproxy = { enabled: false };
        };
        assert.match(errorFor(threeMasters), /k8s-platform:kubernetes\.controlPlaneEndpoint: is required with 3 control-plane nodes/);
        const raw = structuredClone(rawConfigOf("dev")) as any;
        threeMasters(raw);
        raw.kubernetes.controlPlaneEndpoint = "api.dev.internal";
        assert.equal(parse(raw).kubernetes.controlPlaneEndpoint, "api.dev.internal:6443");
    });
});

describe("stack config: add-ons", () => {
    it("refuses a MetalLB range outside the node network, over a node, the HAProxy host or the gateway, or malformed", () => {
        const lab = (edit: (raw: any) => void) => errorFor(edit, "lab");
        assert.match(lab((raw) => (raw.metallb.addresses = "10.0.0.1-10.0.0.3")), /k8s-platform:metallb\.addresses: 10\.0\.0\.1-10\.0\.0\.3 is not inside network\.cidr 192\.168\.1\.0\/24/);
        assert.match(lab((raw) => (raw.metallb.addresses = "192.168.1.9-192.168.1.12")), /k8s-platform:metallb\.addresses: 192\.168\.1\.9-192\.168\.1\.12 contains 192\.168\.1\.10, the address of m-k8s/);
        assert.match(
            lab((raw) => {
                raw.network.gateway = "192.168.1.12";
            }),
            /metallb\.addresses: 192\.168\.1\.11-192\.168\.1\.13 contains the gateway 192\.168\.1\.12/,
        );
        assert.match(
            lab((raw) => (raw.haproxy = { enabled: true, host: { name: "lb", ip: "192.168.1.12" } })),
            /metallb\.addresses: 192\.168\.1\.11-192\.168\.1\.13 contains 192\.168\.1\.12, the address of lb/,
        );
        assert.match(lab((raw) => (raw.metallb.addresses = "192.168.1.13-192.168.1.11")), /"192\.168\.1\.13-192\.168\.1\.11" is not a range "first-last" of IPv4 addresses with first <= last/);
        assert.match(lab((raw) => (raw.metallb.addresses = "192.168.1.0/30")), /"192\.168\.1\.0\/30" is not a range "first-last"/);
        assert.match(lab((raw) => delete raw.metallb.addresses), /k8s-platform:metallb\.addresses: is required when metallb\.enabled is true/);
    });

    it("refuses HAProxy without a host, on an unknown node, or on a node when it must front several API servers", () => {
        assert.match(errorFor((raw) => (raw.haproxy = { enabled: true })), /k8s-platform:haproxy\.host: is required when haproxy\.enabled is true/);
        assert.match(errorFor((raw) => (raw.haproxy.host = { node: "test-lb" })), /k8s-platform:haproxy\.host\.node: "test-lb" is not a node in k8s-platform:nodes \(nodes: test-master, test-node1/);
        assert.match(
            errorFor((raw) => {
                raw.nodes.push({ name: "test-master2", ip: "192.168.111.160", role: "control-plane" }, { name: "test-master3", ip: "192.168.111.161", role: "control-plane" });
            }),
            /k8s-platform:haproxy\.host: with 3 control-plane nodes HAProxy fronts the API server on :6443 and must answer before kubeadm init; give it a host of its own/,
        );
        assert.match(errorFor((raw) => (raw.ingress = { enabled: false })), /k8s-platform:haproxy\.enabled: HAProxy forwards to the ingress controller's node ports; enable ingress too/);
        assert.match(errorFor((raw) => (raw.haproxy.host = { name: "lb1", ip: "10.1.1.1" })), /k8s-platform:haproxy\.host\.ip: IP "10\.1\.1\.1" of lb1 is outside network\.cidr/);
    });

    it("puts the control-plane endpoint on a dedicated HAProxy host with several control planes", () => {
        const raw = structuredClone(rawConfigOf("dev")) as any;
        raw.nodes.push({ name: "test-master2", ip: "192.168.111.160", role: "control-plane" }, { name: "test-master3", ip: "192.168.111.161", role: "control-plane" });
        raw.haproxy.host = { name: "test-lb", ip: "192.168.111.150" };
        const config = parse(raw);
        assert.equal(config.kubernetes.controlPlaneEndpoint, "192.168.111.150:6443");
        assert.ok(config.haproxy.enabled && config.haproxy.frontsApiServer);
    });

    it("refuses add-ons whose dependencies are off, and inconsistent numbers", () => {
        assert.match(errorFor((raw) => (raw.nfs = { enabled: false })), /k8s-platform:registry\.enabled: its data lives on the NFS share; enable nfs/);
        const noIngress = errorFor((raw) => {
            raw.ingress = { enabled: false };
            raw.haproxy = { enabled: false };
        });
        assert.match(noIngress, /k8s-platform:registry\.enabled: it is served through the ingress controller; enable ingress or set registry\.enabled to false/);
        assert.match(noIngress, /k8s-platform:testApp\.enabled: it is served through the ingress controller/);
        assert.match(errorFor((raw) => (raw.autoscaling = { minReplicas: 5, maxReplicas: 2 })), /k8s-platform:autoscaling\.minReplicas: 5 is above autoscaling\.maxReplicas 2/);
        assert.match(errorFor((raw) => (raw.ingress = { httpNodePort: 8080 })), /k8s-platform:ingress\.httpNodePort: 8080 is not in the NodePort range \(30000-32767\)/);
        assert.match(errorFor((raw) => (raw.ingress = { httpNodePort: 30443 })), /k8s-platform:ingress\.httpsNodePort: 30443 is the same as ingress\.httpNodePort/);
        assert.match(errorFor((raw) => (raw.registry = { mode: "plain" })), /k8s-platform:registry\.mode: "plain" is not allowed; allowed values: tls, insecure/);
        assert.match(errorFor((raw) => (raw.metricsServer = { enabled: false })), /k8s-platform:autoscaling\.enabled: the HPA reads CPU from metrics-server/);
    });
});
