import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { checkControlPlaneChange, ConfigError, parseConfig, ParseOptions, SUPPORTED_KUBERNETES_MINORS } from "../config";
import { CONFIG_KEYS, CONTAINERD_MINIMUMS, ETCD_TOOLS, forMinor, KUBEADM_IMAGES, KUBERNETES_VERSION, OTHER_NAMESPACES, rawSchema } from "../config";
import { parse as parseYaml } from "yaml";
import { sshKeyForm } from "../config/checks/stack";
import { program } from "../stacks/program";
import { readStackFile, synthesize } from "../tools/mockRuntime";
import { rawConfigOf, RawConfig } from "./helpers";

const parse = (raw: RawConfig, hasSshPrivateKey = true) => parseConfig(raw, { stack: "test", hasSshPrivateKey });

/** Parses an edited copy of a stack's config and returns the error message (fails if none). */
function errorFor(edit: (raw: any) => void, base = "dev", hasSshPrivateKey = true, opts: Partial<ParseOptions> = {}): string {
    const raw = structuredClone(rawConfigOf(base));
    edit(raw);
    try {
        parseConfig(raw, { stack: "test", hasSshPrivateKey, ...opts });
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

    it("refuses zero control-plane nodes; an even number above one is checked against the recorded control planes", () => {
        assert.match(
            errorFor((raw) => raw.nodes.forEach((n: any) => (n.role = "worker"))),
            /k8s-platform:nodes: needs at least one node with role "control-plane"/,
        );
        // Allowed on the way down only (test/etcdMember.test.ts); a new stack's is refused.
        assert.throws(
            () => checkControlPlaneChange({ configured: ["m-k8s", "test-node1"] }),
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
        assert.match(errorFor((raw) => (raw.node = [])), /k8s-platform:node: unknown key \(did you mean k8s-platform:nodes\?\); allowed keys: kubernetes, infra/);
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

    it("refuses a control-plane endpoint kubeadm would refuse at init (ParseHostPort: uppercase host, port 0 or above 65535)", () => {
        const endpoint = (value: unknown) =>
            errorFor((raw: any) => {
                raw.nodes[1].role = "control-plane";
                raw.nodes[2].role = "control-plane";
                raw.haproxy = { enabled: false };
                raw.kubernetes.controlPlaneEndpoint = value;
            });
        for (const bad of ["API.dev.internal", "api_dev.internal", "api.dev.internal:0", "api.dev.internal:65536", "api.dev.internal:", "-api.dev"]) {
            assert.match(endpoint(bad), new RegExp(`k8s-platform:kubernetes\\.controlPlaneEndpoint: .*${bad.replace(/[.]/g, "\\.")}.* is not "host" or "host:port" as kubeadm takes it: an IP address or a lowercase DNS name`), bad);
        }
        const raw = structuredClone(rawConfigOf("dev")) as any;
        raw.nodes[1].role = "control-plane";
        raw.nodes[2].role = "control-plane";
        raw.haproxy = { enabled: false };
        for (const [good, parsed] of [["api.dev.internal:65535", "api.dev.internal:65535"], ["192.168.111.200", "192.168.111.200:6443"], ["api-1.dev.internal:443", "api-1.dev.internal:443"]]) {
            raw.kubernetes.controlPlaneEndpoint = good;
            assert.equal(parse(raw).kubernetes.controlPlaneEndpoint, parsed);
        }
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
        // ingress.controller: ingress-nginx (default) or traefik; anything else names the key, the value and the choices.
        assert.equal(parse(rawConfigOf("dev")).ingress.controller, "ingress-nginx");
        const traefik = structuredClone(rawConfigOf("dev")) as any;
        traefik.ingress = { controller: "traefik" };
        assert.equal(parse(traefik).ingress.controller, "traefik");
        assert.match(errorFor((raw) => (raw.ingress = { controller: "nginx" })), /k8s-platform:ingress\.controller: "nginx" is not allowed; allowed values: ingress-nginx, traefik/);
        assert.match(errorFor((raw) => (raw.ingress = { controller: "Traefik" })), /k8s-platform:ingress\.controller: "Traefik" is not allowed; allowed values: ingress-nginx, traefik/);
        assert.match(errorFor((raw) => (raw.ingress = { controller: true })), /k8s-platform:ingress\.controller: true is not allowed; allowed values: ingress-nginx, traefik/);
        assert.match(errorFor((raw) => (raw.metricsServer = { enabled: false })), /k8s-platform:autoscaling\.enabled: the HPA reads CPU from metrics-server/);
    });
});

describe("stack config: wrong types and values name the key, the value and what is allowed", () => {
    const cases: [string, (raw: any) => void, RegExp][] = [
        ["a boolean written as text", (raw) => (raw.metallb.enabled = "yes"), /k8s-platform:metallb\.enabled: expected true or false, got "yes"/],
        ["a port with letters", (raw) => (raw.ssh.port = "2222x"), /k8s-platform:ssh\.port: expected a whole number from 1 to 65535 \(a TCP port\), got "2222x"/],
        [
            "a version YAML reads as a number",
            (raw) => (raw.kubernetes.version = 1.3),
            /k8s-platform:kubernetes\.version: expected a version string such as "1\.35", got the number 1\.3; YAML reads unquoted digits as a number \(1\.30 becomes 1\.3\): quote the value, e.g\. version: "1\.35"/,
        ],
        [
            "nodes written as a map",
            (raw) => (raw.nodes = { "m-k8s": { ip: "192.168.1.10", role: "control-plane" } }),
            /k8s-platform:nodes: expected a list of nodes \("- name: …" entries\), got a map \{"m-k8s":\{"ip":"192\.168\.1\.10"/,
        ],
        [
            "a size in the wrong unit",
            (raw) => (raw.registry = { size: "10GB" }),
            /k8s-platform:registry\.size: "10GB" is not a size in Mi, Gi or Ti \(a whole number and the unit, e\.g\. "10Gi"; "GB" is not a Kubernetes unit\)/,
        ],
        ["a string where a map belongs", (raw) => (raw.ingress = "on"), /k8s-platform:ingress: expected a map of keys \(enabled, controller, httpNodePort, httpsNodePort\), got "on"/],
        ["a list of numbers where strings belong", (raw) => (raw.network.dnsServers = [5]), /k8s-platform:network\.dnsServers\[0\]: expected an IPv4 address string, got 5/],
        ["a number where a domain belongs", (raw) => (raw.kubernetes.dnsDomain = 5), /k8s-platform:kubernetes\.dnsDomain: expected a string, got the number 5; YAML reads unquoted digits/],
        ["a malformed domain", (raw) => (raw.kubernetes.dnsDomain = "Cluster_Local"), /k8s-platform:kubernetes\.dnsDomain: "Cluster_Local" is not a DNS domain \(lowercase letters, digits, '-' and '\.', e\.g\. "cluster\.local"\)/],
        ["an empty string", (raw) => (raw.ssh.user = ""), /k8s-platform:ssh\.user: must not be empty/],
        ["a value matching no generic form", (raw) => (raw.os = { kubernetesRepoBase: "pkgs mirror" }), /k8s-platform:os\.kubernetesRepoBase: "pkgs mirror" is not a valid url/],
        ["a CPU count as text", (raw) => (raw.nodes[0].cpus = "two"), /k8s-platform:nodes\[0\]\.cpus: expected a whole number of CPUs, got "two"/],
        [
            "an API server name kubeadm refuses (uppercase, underscore)",
            (raw) => (raw.kubernetes.apiServerCertSANs = ["api.lab.example", "API_Lab.example"]),
            /k8s-platform:kubernetes\.apiServerCertSANs\[1\]: "API_Lab\.example" is not a name kubeadm accepts in a certificate \(its ValidateCertSANs\); allowed: a lowercase DNS name .*e\.g\. "api\.example\.com"\), a wildcard "\*\." followed by such a name, or an IPv4\/IPv6 address/,
        ],
        ["an API server name as a number", (raw) => (raw.kubernetes.apiServerCertSANs = [5]), /k8s-platform:kubernetes\.apiServerCertSANs\[0\]: expected a host name or IP address string, got the number 5/],
        ["API server names as one string", (raw) => (raw.kubernetes.apiServerCertSANs = "api.lab.example"), /k8s-platform:kubernetes\.apiServerCertSANs: expected a list of host names or IP addresses .*got "api\.lab\.example"/],
        ["a host reference of neither form", (raw) => (raw.nfs.host = "storage"), /k8s-platform:nfs\.host: expected \{node: "<cluster node name>"\} or \{name, ip\[, sshUser, provision\]\} for a host of its own, got "storage"/],
    ];
    for (const [what, edit, expected] of cases) {
        it(`refuses ${what}`, () => {
            const message = errorFor(edit, "lab");
            assert.match(message, expected);
            assert.doesNotMatch(message, /is required/, "a wrong type must not read as a missing key");
        });
    }

    it("still says 'is required' for a key that is really missing", () => {
        assert.match(errorFor((raw) => delete raw.infra.provider, "lab"), /k8s-platform:infra\.provider: is required/);
    });
});

describe("stack config: namespaces", () => {
    const refused = (keys: string[]) => errorFor(() => undefined, "lab", true, { otherKeys: keys });

    it("refuses a key in a namespace nothing reads, naming the closest one", () => {
        assert.match(
            refused(["k8s-platfrom:metallb"]),
            /k8s-platfrom:metallb: unknown config namespace "k8s-platfrom", so nothing reads this key \(did you mean "k8s-platform:metallb"\?\); namespaces this program reads: k8s-platform, vsphere, azure-native/,
        );
        assert.match(refused(["azure:location"]), /azure:location: unknown config namespace "azure".*did you mean "azure-native:location"\?/);
        assert.match(refused(["vspehre:user"]), /did you mean "vsphere:user"\?/);
        assert.match(refused(["aws:region"]), /aws:region: unknown config namespace "aws", so nothing reads this key; namespaces this program reads/);
    });

    it("accepts the providers' and Pulumi's own namespaces", () => {
        const keys = ["vsphere:user", "azure-native:location", "kubernetes:enableServerSideApply", "command:x", "tls:x", "random:x", "pulumi:tags"];
        parseConfig(structuredClone(rawConfigOf("lab")), { stack: "lab", hasSshPrivateKey: true, otherKeys: keys });
    });

    it("lists exactly the providers the program declares resources of, and Pulumi's", () => {
        const root = path.resolve(__dirname, "..");
        const sources = ["stacks", "components", "components/render"].flatMap((dir) =>
            fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(".ts")).map((f) => fs.readFileSync(path.join(root, dir, f), "utf8")),
        );
        const imported = new Set(sources.flatMap((text) => [...text.matchAll(/from "@pulumi\/([a-z-]+)/g)].map((m) => m[1])));
        imported.delete("pulumi");
        // vSphere resources are declared by type token (components/vsphere.ts): no package to import.
        const byToken = sources.some((text) => text.includes('"vsphere:index/')) ? ["vsphere"] : [];
        assert.deepEqual([...OTHER_NAMESPACES].sort(), [...imported, ...byToken, "pulumi"].sort());
    });
});

describe("stack config: caught before the nodes would fail", () => {
    it("refuses a cluster without workers: the control planes keep kubeadm's NoSchedule taint", () => {
        assert.match(
            errorFor((raw) => (raw.nodes = raw.nodes.filter((n: any) => n.role === "control-plane")), "lab"),
            /k8s-platform:nodes: no node with role "worker" \(got 1 control-plane node\(s\)\); kubeadm taints control planes node-role\.kubernetes\.io\/control-plane:NoSchedule, so no platform pod would schedule/,
        );
    });

    it("takes exactly the apiServerCertSANs kubeadm's ValidateCertSANs takes (a refused one would fail apiserver-certs.sh on every control plane)", () => {
        // Verdicts of kubeadm's own functions (k8s.io/apimachinery v0.37.2 IsDNS1123Subdomain,
        // IsWildcardDNS1123Subdomain; k8s.io/utils ParseIPSloppy), run on these values.
        const accepted = ["api.example.com", "a", "1.2.3", "256.1.1.1", "1.2.3.4.5", "x--y.z9", "*.example.com", "10.0.0.1", "010.001.2.3", "::1", "::", "fe80::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7::", "ABCD::ef", "a".repeat(253), `*.${"a".repeat(251)}`];
        const refused = ["API.example.com", "api_lab.example", "-a.b", "a-", "x.", ".x", "*", "*.*.example.com", "a*.example.com", "", "a".repeat(254), `*.${"a".repeat(252)}`, "fe80::1%eth0", "[::1]", "1:2.3.4.5::", "1:2:3:4:5:6:7:8:9", "1::2::3", "10000::", "api.example.com:6443", " api.example.com"];
        const raw = structuredClone(rawConfigOf("lab")) as any;
        raw.kubernetes = { ...(raw.kubernetes ?? {}), apiServerCertSANs: accepted };
        assert.deepEqual(parse(raw).kubernetes.apiServerCertSANs, accepted);
        for (const name of refused) {
            const message = errorFor((r) => (r.kubernetes = { ...(r.kubernetes ?? {}), apiServerCertSANs: [name] }), "lab");
            assert.ok(message.includes(`k8s-platform:kubernetes.apiServerCertSANs[0]: ${JSON.stringify(name)} is not a name kubeadm accepts`), `${JSON.stringify(name)}: ${message}`);
        }
    });

    it("refuses a Kubernetes minor the program does not support, listing the supported ones", () => {
        assert.deepEqual(SUPPORTED_KUBERNETES_MINORS, ["1.35", "1.36", "1.37"]);
        for (const version of ["1.30", "1.34.2", "1.38", "1.38.0"]) {
            assert.match(
                errorFor((raw) => (raw.kubernetes.version = version), "lab"),
                new RegExp(`k8s-platform:kubernetes\\.version: "${version.replace(/\./g, "\\.")}" is Kubernetes 1\\.\\d+, which this program does not support; supported minors: 1\\.35, 1\\.36, 1\\.37`),
            );
        }
        for (const version of ["1.35", "1.35.4", "1.36", "1.36.3", "1.37", "1.37.2"]) {
            const parsed = parse({ ...structuredClone(rawConfigOf("lab")), kubernetes: { version } });
            assert.equal(parsed.kubernetes.version, version);
            assert.equal(parsed.kubernetes.minor, version.split(".").slice(0, 2).join("."));
        }
    });

    it("defaults kubeadm stacks to the newest supported minor, 1.37", () => {
        assert.equal(KUBERNETES_VERSION, "1.37");
        const newest = [...SUPPORTED_KUBERNETES_MINORS].sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1])).at(-1);
        assert.equal(KUBERNETES_VERSION, newest);
        const lab = parse(structuredClone(rawConfigOf("lab")));
        assert.equal(lab.kubernetes.version, "1.37");
        assert.equal(lab.kubernetes.minor, "1.37");
    });

    it("every per-minor table in config/versions.ts has a row for each supported minor, and only those", () => {
        for (const [name, table] of Object.entries({ KUBEADM_IMAGES, ETCD_TOOLS, CONTAINERD_MINIMUMS })) {
            assert.deepEqual(Object.keys(table).sort(), [...SUPPORTED_KUBERNETES_MINORS].sort(), name);
        }
        for (const minor of SUPPORTED_KUBERNETES_MINORS) {
            for (const v of CONTAINERD_MINIMUMS[minor]) {
                assert.match(v, /^\d+\.\d+\.\d+$/, `CONTAINERD_MINIMUMS["${minor}"]`);
            }
            const tools = ETCD_TOOLS[minor];
            assert.match(tools.version, /^v3\.\d+\.\d+$/);
            assert.equal(tools.url, `https://github.com/etcd-io/etcd/releases/download/${tools.version}/etcd-${tools.version}-linux-@ARCH@.tar.gz`);
            assert.match(tools.sha256.amd64, /^[0-9a-f]{64}$/);
            assert.match(tools.sha256.arm64, /^[0-9a-f]{64}$/);
        }
        // containerd RELEASES.md: 1.7 and 2.1 are no longer recommended from Kubernetes 1.36 on.
        assert.deepEqual(CONTAINERD_MINIMUMS["1.35"], ["2.2.0", "2.1.5", "1.7.28"]);
        assert.deepEqual(CONTAINERD_MINIMUMS["1.36"], ["2.3.0", "2.2.0"]);
        assert.throws(() => forMinor(KUBEADM_IMAGES, "KUBEADM_IMAGES", "1.99"), /no KUBEADM_IMAGES row for Kubernetes 1\.99 in config\/versions\.ts \(rows: 1\.35, 1\.36, 1\.37\)/);
        assert.throws(() => forMinor(KUBEADM_IMAGES, "KUBEADM_IMAGES", "toString"), /no KUBEADM_IMAGES row for Kubernetes toString/);
    });

    it("refuses proxy URLs without a scheme, suggesting one", () => {
        assert.match(
            errorFor((raw) => (raw.os = { httpProxy: "proxy.corp:3128" }), "lab"),
            /k8s-platform:os\.httpProxy: "proxy\.corp:3128" is not a proxy URL; expected "http:\/\/host:port" \(or https:\/\/\): apt, dnf and containerd need the scheme, e.g\. "http:\/\/proxy\.corp:3128"/,
        );
        assert.match(errorFor((raw) => (raw.os = { httpsProxy: "socks5://p:1080" }), "lab"), /k8s-platform:os\.httpsProxy: "socks5:\/\/p:1080" is not a proxy URL/);
        const ok = parseConfig({ ...structuredClone(rawConfigOf("lab")), os: { httpProxy: "http://proxy.corp:3128", httpsProxy: "https://proxy.corp:3129/" } }, { stack: "lab", hasSshPrivateKey: true });
        assert.equal(ok.os.httpProxy, "http://proxy.corp:3128");
    });

    it("refuses an SSH key stored in plain text, or something that is not a private key", () => {
        const withKey = (secret: boolean, form: ReturnType<typeof sshKeyForm>) => errorFor(() => undefined, "lab", true, { sshPrivateKey: { secret, form } });
        assert.match(withKey(false, "private-key"), /k8s-platform:sshPrivateKey: is stored in plain text in Pulumi\.<stack>\.yaml; it must be a secret .*pulumi config set --secret sshPrivateKey < ~\/\.ssh\/id_ed25519/);
        assert.match(withKey(true, "public-key"), /k8s-platform:sshPrivateKey: is an SSH public key; the program needs the private key/);
        assert.match(withKey(true, "path"), /k8s-platform:sshPrivateKey: is a file path, not the key/);
        assert.match(withKey(true, "other"), /k8s-platform:sshPrivateKey: does not look like a private key \(expected a PEM or OpenSSH block/);
        parseConfig(structuredClone(rawConfigOf("lab")), { stack: "lab", hasSshPrivateKey: true, sshPrivateKey: { secret: true, form: "private-key" } });
    });

    it("tells a private key from a public key, a path and anything else", () => {
        assert.equal(sshKeyForm("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"), "private-key");
        assert.equal(sshKeyForm("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"), "private-key");
        assert.equal(sshKeyForm("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI me@host"), "public-key");
        assert.equal(sshKeyForm("~/.ssh/id_ed25519"), "path");
        assert.equal(sshKeyForm("/home/me/.ssh/id_ed25519"), "path");
        assert.equal(sshKeyForm("hunter2"), "other");
    });
});

describe("stack config: a refused config is a Pulumi RunError", () => {
    it("is a RunError (the language host prints its message without a stack trace), each problem once", () => {
        const raw = structuredClone(rawConfigOf("lab")) as any;
        raw.metallb.enabled = "yes";
        try {
            parseConfig(raw, { stack: "lab", hasSshPrivateKey: true, otherKeys: ["k8s-platfrom:x", "k8s-platfrom:x"] });
            assert.fail("expected a refusal");
        } catch (err) {
            assert.ok(pulumi.RunError.isInstance(err), `expected a RunError, got ${err}`);
            assert.ok(err instanceof ConfigError);
            const lines = err.message.split("\n");
            assert.equal(lines[0], "Invalid stack configuration (2 problems):");
            assert.equal(new Set(lines).size, lines.length, err.message);
            assert.equal(err.problems.length, 2);
        }
    });
});

describe("stack config: what the program sees of the whole stack", () => {
    /** The lab stack as the engine would pass it, with `edit` applied to its "namespace:key" map. */
    async function refusal(edit: (config: Record<string, string>, secretKeys: string[]) => void): Promise<Error> {
        const { config, secretKeys } = readStackFile("lab");
        edit(config, secretKeys);
        try {
            await synthesize("lab", config, secretKeys, program);
        } catch (err) {
            return err as Error;
        }
        assert.fail("expected the program to refuse the config");
    }

    it("refuses the config as a RunError, before declaring anything", async () => {
        const err = await refusal((config) => (config["k8s-platform:metallb"] = JSON.stringify({ enabled: "yes" })));
        assert.ok(pulumi.RunError.isInstance(err), `expected a RunError, got ${err.stack}`);
        assert.match(err.message, /^Invalid stack configuration \(1 problem\):\n {2}- k8s-platform:metallb\.enabled: expected true or false, got "yes"$/);
    });

    it("sees keys in a mistyped namespace", async () => {
        const err = await refusal((config) => {
            config["k8s-platfrom:metallb"] = config["k8s-platform:metallb"];
            delete config["k8s-platform:metallb"];
        });
        assert.match(err.message, /k8s-platfrom:metallb: unknown config namespace "k8s-platfrom".*did you mean "k8s-platform:metallb"/);
    });

    it("sees an SSH key that is not a secret, and one that is not a private key", async () => {
        const plain = await refusal((_, secretKeys) => secretKeys.splice(secretKeys.indexOf("k8s-platform:sshPrivateKey"), 1));
        assert.match(plain.message, /k8s-platform:sshPrivateKey: is stored in plain text/);
        const publicKey = await refusal((config) => (config["k8s-platform:sshPrivateKey"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIsecretish me@host"));
        assert.match(publicKey.message, /k8s-platform:sshPrivateKey: is an SSH public key/);
        assert.doesNotMatch(publicKey.message, /AAAAC3NzaC1lZDI1NTE5AAAAIsecretish/, "the value never shows");
    });
});

describe("stack files (offline tools)", () => {
    it("name the file on a YAML syntax error", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfile-"));
        const file = path.join(dir, "Pulumi.broken.yaml");
        fs.writeFileSync(file, "config:\n  k8s-platform:nodes:\n    - name: a\n     ip: 1.2.3.4\n");
        assert.throws(() => readStackFile("broken", { root: dir }), /^Error: Pulumi\.broken\.yaml: .* at line 4, column 1/);
    });
});

describe("Pulumi.yaml config block", () => {
    const project = parseYaml(fs.readFileSync(path.resolve(__dirname, "..", "Pulumi.yaml"), "utf8")) as {
        config: Record<string, { type: string; description: string; default?: unknown; items?: { type: string } }>;
    };
    /** The zod type under defaults and optionals: "object", "array", "string", "union" … */
    const zodType = (schema: any): string => {
        let s = schema;
        while (["default", "prefault", "optional"].includes(s._zod.def.type)) s = s._zod.def.innerType;
        return s._zod.def.type;
    };
    const PROJECT_TYPE: Record<string, string> = { object: "object", union: "object", array: "array", string: "string" };

    it("declares every top-level key of the schema, and only those", () => {
        assert.deepEqual(Object.keys(project.config).sort(), [...CONFIG_KEYS].sort());
    });

    it("gives each the schema's type, a description, and a default only where absence means the same", () => {
        for (const [key, declared] of Object.entries(project.config)) {
            const schema = (rawSchema.shape as Record<string, any>)[key];
            assert.equal(declared.type, PROJECT_TYPE[zodType(schema)], `${key}: type`);
            assert.ok(declared.description.length > 10, `${key}: description`);
            if (declared.type === "array") assert.deepEqual(declared.items, { type: "object" }, `${key}: items`);
            const absent = schema.safeParse(undefined);
            if ("default" in declared) {
                assert.ok(absent.success, `${key}: has a default in Pulumi.yaml but is required by the schema`);
                assert.deepEqual(schema.parse(declared.default), absent.data, `${key}: the default must mean what absence means`);
            } else {
                assert.ok(!absent.success, `${key}: optional in the schema, so Pulumi.yaml must give it a default (the CLI requires keys without one)`);
            }
        }
    });
});
