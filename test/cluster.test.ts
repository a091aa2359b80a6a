import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { Synthesis, containsSecret, isSecretValue, maskSecrets, PLACEHOLDER_SSH_KEY, unwrapSecrets } from "../tools/mockRuntime";
import { VSPHERE_PLUGIN_VERSION } from "../config";
import { byType, commands, envOf, hostOf, named, scriptOf, synthStack, transitiveDependencies } from "./helpers";

const VM = "vsphere:index/virtualMachine:VirtualMachine";
const DEV_NODES = { "test-master": "192.168.111.169", "test-node1": "192.168.111.172", "test-node2": "192.168.111.173", "test-node3": "192.168.111.170" };
const LAB_NODES = { "m-k8s": "192.168.1.10", "w1-k8s": "192.168.1.101", "w2-k8s": "192.168.1.102", "w3-k8s": "192.168.1.103" };

const running = (s: Synthesis, script: string) => commands(s).filter((c) => scriptOf(c) === script);

function initConfigDocs(s: Synthesis) {
    const [init] = running(s, "kubeadm-init");
    return parseAllDocuments(envOf(init, "KUBEADM_CONFIG")!).map((d) => d.toJS());
}

for (const [stack, nodes, workers] of [
    ["dev", DEV_NODES, ["test-node1", "test-node2", "test-node3"]],
    ["lab", LAB_NODES, ["w1-k8s", "w2-k8s", "w3-k8s"]],
] as const) {
    describe(`${stack} stack: the cluster`, () => {
        let s: Synthesis;
        before(async () => {
            s = await synthStack(stack);
        });

        it("prepares every node exactly once, on its own address", () => {
            const preps = running(s, "prepare-node");
            assert.deepEqual(
                Object.fromEntries(preps.map((p) => [envOf(p, "NODE_NAME"), hostOf(p)])),
                nodes,
            );
        });

        it("runs one kubeadm init, on the first control-plane node", () => {
            const inits = running(s, "kubeadm-init");
            assert.equal(inits.length, 1);
            assert.equal(hostOf(inits[0]), Object.values(nodes)[0]);
            assert.equal(scriptOf(inits[0], "delete"), "kubeadm-reset");
        });

        it("joins every worker after init and its own preparation, depending on no other worker", () => {
            const joins = running(s, "kubeadm-join");
            assert.deepEqual(joins.map((j) => envOf(j, "NODE_NAME")).sort(), [...workers]);
            for (const join of joins) {
                const me = envOf(join, "NODE_NAME")!;
                const deps = transitiveDependencies(s, join.name);
                assert.ok(deps.has(`cluster-init`), `${me} waits for init`);
                assert.ok(deps.has(`cluster-${me}-prepare`), `${me} waits for its own prep`);
                for (const other of workers.filter((w) => w !== me)) {
                    assert.ok(![...deps].some((d) => d.includes(other)), `${me} must not wait for ${other}: ${[...deps].join(", ")}`);
                }
                const joinConfig = parseYaml(envOf(join, "KUBEADM_CONFIG")!);
                assert.match(joinConfig.discovery.bootstrapToken.caCertHashes[0], /^sha256:[0-9a-f]{64}$/);
                assert.equal(scriptOf(join, "delete"), "kubeadm-reset");
            }
        });

        it("gives kubeadm and Flannel the same pod CIDR", () => {
            const cluster = initConfigDocs(s).find((d) => d.kind === "ClusterConfiguration");
            const [chart] = byType(s, "kubernetes:helm.sh/v4:Chart").filter((c) => c.inputs.chart === "flannel");
            assert.equal(cluster.networking.podSubnet, "10.244.0.0/16");
            assert.equal((chart.inputs.values as any).podCidr, cluster.networking.podSubnet);
            assert.equal(chart.inputs.namespace, "kube-flannel");
        });

        it("keeps the SSH key, token, CA key and kubeconfig secret wherever they appear", () => {
            // The mock runtime's values for this stack's SSH key, CA key, token parts, kubeconfig, certificate key.
            const tokenId = `mockclustertokenid`.slice(0, 6);
            const tokenSecret = `mockclustertokensecret`.slice(0, 16);
            const sensitive = [PLACEHOLDER_SSH_KEY.split("\n")[1], "MOCK-PRIVATE-KEY", tokenId, tokenSecret, `MOCK-PRIVATE-KEY-cluster-admin-key`, `mockclustercertificatekey`.padEnd(64, "0")];
            // Secrets travel base64-encoded on standard input ("NAME=<base64>" lines): decode to look.
            const decodedStdin = commands(s).flatMap((c) =>
                String(unwrapSecrets(c.inputs.stdin) ?? "")
                    .split("\n")
                    .map((line) => Buffer.from(line.slice(line.indexOf("=") + 1), "base64").toString()),
            );
            const everything = JSON.stringify(s.resources.map((r) => unwrapSecrets(r.inputs))) + decodedStdin.join("\n");
            for (const secret of sensitive) {
                assert.ok(everything.includes(secret), `the check is live: ${secret} is used somewhere`);
            }
            for (const r of s.resources) {
                const visible = JSON.stringify(maskSecrets(r.inputs));
                for (const secret of sensitive) {
                    assert.ok(!visible.includes(secret), `${r.name} shows ${secret} in plain text`);
                }
            }
            for (const c of commands(s)) {
                assert.ok(containsSecret(c.inputs.connection), `${c.name}: the connection (SSH key) is secret`);
                assert.ok(!isSecretValue(c.inputs.create), `${c.name}: the command text stays reviewable`);
            }
            for (const script of ["kubeadm-init", "kubeadm-join"]) {
                for (const c of running(s, script)) {
                    assert.ok(isSecretValue(c.inputs.stdin), `${c.name} gets its secrets on a secret stdin`);
                }
            }
            assert.equal(s.outputs.kubeconfig.secret, true);
            const kubeconfig = parseYaml(String(s.outputs.kubeconfig.value));
            const key = Buffer.from(kubeconfig.users[0].user["client-key-data"], "base64").toString();
            assert.equal(key, `MOCK-PRIVATE-KEY-cluster-admin-key`, "the kubeconfig carries the admin key the program made");
        });

        it("removes a node safely: drain on the control plane, reset on the node, then the Node object", () => {
            const worker = workers[0];
            const membership = named(s, `cluster-${worker}-membership`);
            const join = named(s, `cluster-${worker}-join`);
            const nodeObject = named(s, `cluster-${worker}-node-object`);
            assert.equal(envOf(membership, "ACTION", "delete"), "drain");
            assert.match(String(unwrapSecrets(membership.inputs.delete)), /kubectl drain "\$NODE_NAME" --ignore-daemonsets --delete-emptydir-data/);
            assert.equal(envOf(nodeObject, "ACTION", "delete"), "delete-node");
            // Pulumi deletes dependents first: membership (drain) → join (reset) → node object.
            assert.deepEqual(membership.dependsOn, [join.name]);
            assert.ok(join.dependsOn.includes(nodeObject.name));
            assert.equal(hostOf(membership), Object.values(nodes)[0]);
            assert.equal(hostOf(nodeObject), Object.values(nodes)[0]);
            assert.equal(hostOf(join), (nodes as Record<string, string>)[worker]);
            // Delete-only on the control plane: no SSH session there while nodes join.
            assert.equal(membership.inputs.create, undefined);
            assert.equal(nodeObject.inputs.create, undefined);
        });

        it("exports the inventory, the API endpoint and /etc/hosts lines for every node", () => {
            const inventory = s.outputs.nodes.value as { name: string; role: string; ip: string }[];
            for (const [name, ip] of Object.entries(nodes)) {
                assert.ok(inventory.some((n) => n.name === name && n.ip === ip), `${name} in inventory`);
                assert.match(String(s.outputs.hostsFile.value), new RegExp(`^${ip.replace(/\./g, "\\.")}\\t${name}$`, "m"));
            }
            assert.equal(s.outputs.apiEndpoint.value, `https://${Object.values(nodes)[0]}:6443`);
            assert.equal(s.outputs.hostsFile.secret, false);
        });
    });
}

describe("dev stack: vSphere VMs", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("dev");
    });

    it("clones one VM per machine with seed 000's sizes, static IPs and host names", () => {
        const vms = Object.fromEntries(byType(s, VM).map((vm) => [vm.inputs.name, vm.inputs as any]));
        const expected: Record<string, [number, number, number, string]> = {
            "test-master": [2, 2048, 50, "192.168.111.169"],
            "test-node1": [2, 4096, 50, "192.168.111.172"],
            "test-node2": [2, 4096, 50, "192.168.111.173"],
            "test-node3": [2, 4096, 50, "192.168.111.170"],
            "test-storage1": [1, 1024, 20, "192.168.111.177"],
        };
        assert.deepEqual(Object.keys(vms).sort(), Object.keys(expected).sort());
        for (const [name, [cpus, memory, disk, ip]] of Object.entries(expected)) {
            const vm = vms[name];
            assert.equal(vm.numCpus, cpus, `${name} CPUs`);
            assert.equal(vm.memory, memory, `${name} memory`);
            assert.equal(vm.disks[0].size, disk, `${name} disk`);
            assert.deepEqual(vm.clone.customize.networkInterfaces, [{ ipv4Address: ip, ipv4Netmask: 24 }]);
            assert.equal(vm.clone.customize.linuxOptions.hostName, name);
            assert.equal(vm.clone.customize.ipv4Gateway, "192.168.111.2");
            assert.equal(vm.clone.templateUuid, "4216d1c3-0000-0000-0000-template0001");
        }
    });

    it("asks the engine for the pinned vSphere plugin", () => {
        for (const vm of byType(s, VM)) {
            assert.equal(vm.version, VSPHERE_PLUGIN_VERSION);
        }
    });

    it("prepares a node only after its VM exists", () => {
        // No reachability step on a VM the program creates: prepare dials the booting allowance itself.
        assert.deepEqual(named(s, "cluster-test-node2-prepare").dependsOn, ["vms-test-node2"]);
    });

    it("never grows a disk below the template's", async () => {
        const small = await synthStack("dev", (raw: any) => (raw.nodes[1].diskGb = 5));
        const vm = byType(small, VM).find((v) => v.inputs.name === "test-node1")!;
        assert.equal((vm.inputs as any).disks[0].size, 20);
    });
});

describe("lab stack: existing hosts", () => {
    it("creates no VM and looks nothing up in vSphere", async () => {
        const s = await synthStack("lab");
        assert.equal(byType(s, VM).length, 0);
        assert.equal(s.invokes.filter((i) => i.token.startsWith("vsphere:")).length, 0);
    });
});

describe("changing the node list", () => {
    it("adding a worker leaves every existing resource's inputs identical and adds only its own", async () => {
        for (const stack of ["dev", "lab"]) {
            const base = await synthStack(stack);
            const grown = await synthStack(stack, (raw: any) =>
                raw.nodes.push({ name: "extra-node", ip: stack === "dev" ? "192.168.111.180" : "192.168.1.110", role: "worker" }),
            );
            for (const r of base.resources) {
                const after = grown.resources.find((x) => x.type === r.type && x.name === r.name);
                assert.ok(after, `${stack}: ${r.name} still exists`);
                // dependsOn is not an input (the engine never updates a resource for it): the platform
                // may wait for the new node's join, nothing else may change.
                assert.deepEqual(after.dependsOn.filter((d) => !d.includes("extra-node")), r.dependsOn, `${stack}: ${r.name} dependencies unchanged`);
                const newLine = (text: string | undefined, before: string | undefined) =>
                    (text ?? "").split("\n").filter((l) => !(before ?? "").split("\n").includes(l));
                if (scriptOf(r) === "haproxy") {
                    // HAProxy forwards to every worker, so it gains the new worker's two server lines (a
                    // graceful reload), and nothing else changes.
                    const before = envOf(r, "HAPROXY_CONFIG")!.split("\n");
                    const grownLines = envOf(after, "HAPROXY_CONFIG")!.split("\n");
                    assert.deepEqual(grownLines.filter((l) => !before.includes(l)).map((l) => l.trim().split(" ").slice(0, 3).join(" ")), [
                        "server extra-node 192.168.111.180:30080",
                        "server extra-node 192.168.111.180:30443",
                    ]);
                    assert.deepEqual(before.filter((l) => !grownLines.includes(l)), []);
                    continue;
                }
                if (scriptOf(r) === "hosts-block") {
                    // Every machine's /etc/hosts block gains exactly the new node's line.
                    assert.deepEqual(newLine(envOf(after, "HOSTS_LINES"), envOf(r, "HOSTS_LINES")), [`${stack === "dev" ? "192.168.111.180" : "192.168.1.110"}\textra-node`]);
                    assert.deepEqual(newLine(envOf(r, "HOSTS_LINES"), envOf(after, "HOSTS_LINES")), []);
                    continue;
                }
                if (r.name === `cluster-join-credentials`) {
                    // The one control-plane step re-arms the token for the new join.
                    assert.ok(envOf(after, "JOINING_WORKERS")!.split(" ").includes("extra-node"));
                    continue;
                }
                assert.deepEqual(after.inputs, r.inputs, `${stack}: ${r.name} unchanged`);
            }
            const added = grown.resources.filter((r) => !base.resources.some((x) => x.type === r.type && x.name === r.name));
            assert.ok(added.length > 0);
            for (const r of added) {
                assert.match(r.name, /extra-node/, `${stack}: ${r.name} belongs to the new worker`);
            }
            assert.ok(added.some((r) => scriptOf(r) === "kubeadm-join"));
        }
    });

    it("control planes join one at a time; init uploads certificates for them", async () => {
        const s = await synthStack("lab", (raw: any) => {
            raw.nodes.push({ name: "m2-k8s", ip: "192.168.1.20", role: "control-plane" }, { name: "m3-k8s", ip: "192.168.1.30", role: "control-plane" });
            raw.kubernetes = { controlPlaneEndpoint: "192.168.1.9" };
        });
        assert.equal(envOf(running(s, "kubeadm-init")[0], "UPLOAD_CERTS"), "true");
        assert.ok(transitiveDependencies(s, "cluster-m3-k8s-join").has("cluster-m2-k8s-join"));
        assert.ok(!transitiveDependencies(s, "cluster-w1-k8s-join").has("cluster-m2-k8s-join"));
        const m2 = parseYaml(envOf(named(s, "cluster-m2-k8s-join"), "KUBEADM_CONFIG")!);
        assert.equal(m2.controlPlane.certificateKey, "@CERTIFICATE_KEY@");
        assert.equal(m2.discovery.bootstrapToken.apiServerEndpoint, "192.168.1.9:6443");
    });

    it("a different pod CIDR reaches kubeadm and Flannel alike", async () => {
        const s = await synthStack("lab", (raw: any) => (raw.kubernetes = { podSubnet: "10.200.0.0/16" }));
        const cluster = initConfigDocs(s).find((d) => d.kind === "ClusterConfiguration");
        const [chart] = byType(s, "kubernetes:helm.sh/v4:Chart").filter((c) => c.inputs.chart === "flannel");
        assert.equal(cluster.networking.podSubnet, "10.200.0.0/16");
        assert.equal((chart.inputs.values as any).podCidr, "10.200.0.0/16");
    });

    it("a bad config stops the program before any resource is declared", async () => {
        await assert.rejects(
            synthStack("lab", (raw: any) => (raw.nodes[1].ip = "10.0.0.1")),
            /k8s-platform:nodes\[1\]\.ip: IP "10\.0\.0\.1" of w1-k8s is outside network\.cidr/,
        );
        await assert.rejects(synthStack("lab", undefined, { withoutSshKey: true }), /k8s-platform:sshPrivateKey: is required/);
    });
});

describe("no secret comes from a resource whose id carries its value (ids are never encrypted in state)", () => {
    // terraform-provider-random: RandomBytes' id is its base64 value, RandomString's its result,
    // RandomId's its b64_url, RandomUuid's the uuid, RandomInteger's the number; RandomPassword's id
    // is "none" and tls resources' ids are hashes or serial numbers. The engine tier checks the ids
    // of a real `pulumi stack export` too (test/e2e).
    const ID_CARRIES_VALUE = [
        "random:index/randomBytes:RandomBytes",
        "random:index/randomString:RandomString",
        "random:index/randomId:RandomId",
        "random:index/randomUuid:RandomUuid",
        "random:index/randomInteger:RandomInteger",
        "random:index/randomPet:RandomPet",
    ];
    // Each of these is a name part or a record, never a secret (why, at its declaration).
    const NOT_SECRET = [/(^|-)dns-suffix$/, /-acr-suffix$/, /-bootstrap-node$/, /-cluster-settings$/, /-initialised$/, /-ip$/, /^stack-name$/];
    for (const stack of ["dev", "lab", "azure", "aks"]) {
        it(`${stack}: every random resource whose id is its value is a non-secret name part or record`, async () => {
            const s = await synthStack(stack);
            const idCarriers = s.resources.filter((r) => ID_CARRIES_VALUE.includes(r.type));
            for (const r of idCarriers) {
                assert.ok(NOT_SECRET.some((re) => re.test(r.name)), `${r.name} (${r.type}) keeps its value as its id; a secret must come from a RandomPassword`);
            }
            if (stack !== "aks") {
                assert.equal(named(s, "cluster-certificate-key").type, "random:index/randomPassword:RandomPassword");
            }
        });
    }

    it("the certificate key is 64 hex digits (kubeadm's 32-byte AES key)", async () => {
        const s = await synthStack("lab");
        const key = named(s, "cluster-certificate-key").inputs as any;
        assert.equal(key.length, 64);
        assert.equal(key.upper, false);
        assert.equal(key.lower, false);
        assert.equal(key.overrideSpecial, "abcdef");
    });
});
