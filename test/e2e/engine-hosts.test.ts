/**
 * The engine tests' simulated hosts and their real control plane, checked without the engine:
 * the program's own scripts, rendered by its own renderers, run over SSH (pinned host key) the
 * way its remote commands run them (`renderInvocation`, secrets on standard input). Proves the
 * ground the engine tests stand on — isolation, init starting a real control plane at the
 * bootstrap node's address, a worker joining through real discovery and TLS bootstrap, kwok as
 * every node's kubelet (a heartbeat gap of the one kwok process is not a lost node; a pod marked
 * NotReady is reconciled as the kubelet does), drain, Node deletion and reset — and runs whenever
 * kube-apiserver and etcd are built, engine or not.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseConfig, prepareNodeEnv } from "../../config";
import { caCertHash, renderInitConfig, renderJoinConfig } from "../../components/render/kubeadm";
import { renderInvocation, renderSecretStdin, ScriptName } from "../../components/render/script";
import { engineConfig } from "./hosts/engineStack";
import { buildCaches, missingForSimHosts, SimHosts, SimNode } from "./hosts/simHosts";

const SUBNET = "10.213.70";
const CP: SimNode = { name: "cp1", ip: `${SUBNET}.11`, role: "control-plane" };
const CP2: SimNode = { name: "cp2", ip: `${SUBNET}.12`, role: "control-plane" };
const W1: SimNode = { name: "w1", ip: `${SUBNET}.21`, role: "worker" };
const ENDPOINT = `${CP.ip}:6443`;


let hosts: SimHosts | undefined;
const h = (): SimHosts => {
    assert.ok(hosts, "the simulated hosts did not start");
    return hosts;
};
const token = `${crypto.randomBytes(3).toString("hex")}.${crypto.randomBytes(8).toString("hex")}`;
const certificateKey = crypto.randomBytes(32).toString("hex");
let ca = { crt: "", key: "" };

/** Runs a script on a node as the program's remote command does; throws with its output on failure. */
function runScript(node: SimNode, script: ScriptName, env: Record<string, string>, secrets: Record<string, string> = {}): string {
    const r = spawnSync(
        "ssh",
        ["-q", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(h().stateDir, "known_hosts")}`,
            "-i", path.join(h().stateDir, "id_ed25519"), `root@${node.ip}`, renderInvocation(script, env)],
        { input: renderSecretStdin(secrets), encoding: "utf8", timeout: 600_000 },
    );
    const output = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, `${script} on ${node.name} failed:\n${output.slice(-4000)}`);
    return output;
}
function kubectl(args: string): string {
    return h().ssh(CP.name, `kubectl --kubeconfig /etc/kubernetes/admin.conf ${args}`);
}
async function eventually(what: string, check: () => boolean, seconds = 60): Promise<void> {
    for (let i = 0; i < seconds; i++) {
        if (check()) {
            return;
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
    assert.fail(`${what}: not within ${seconds} s`);
}

describe("simulated hosts: the program's scripts against a real control plane, without the engine", { skip: missingForSimHosts(["openssl"]), timeout: 1_800_000 }, () => {
    before(() => {
        hosts = SimHosts.start(SUBNET, [CP, CP2, W1], buildCaches());
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8sp-ca-"));
        spawnSync("openssl", ["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kubernetes",
            "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt")], { encoding: "utf8" });
        ca = { crt: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), key: fs.readFileSync(path.join(dir, "ca.key"), "utf8") };
        fs.rmSync(dir, { recursive: true, force: true });
    });
    after(() => hosts?.stop());

    test("a node reaches its /24 and nothing else: no default route, the root namespace's own address unreachable", () => {
        const routes = h().ssh(CP.name, "ip -4 route");
        assert.equal(routes.trim(), `${SUBNET}.0/24 dev eth0 proto kernel scope link src ${CP.ip}`);
        const out = h().ssh(CP.name, "curl -sS --max-time 3 http://192.0.2.2/ 2>&1 || true");
        assert.match(out, /Network is unreachable|Couldn't connect|Failed to connect/);
    });

    test("prepare, init (a real API server at the bootstrap node's address), joins (real discovery and TLS bootstrap, kubeadm-certs)", async () => {
        // A stack config refuses two control planes (etcd majority); cp2 is prepared like cp1.
        const config = parseConfig(engineConfig(h(), [CP, W1], "/nonexistent"), { stack: "e2e-hosts", hasSshPrivateKey: true });
        for (const node of [CP, CP2, W1]) {
            const spec = config.nodes.find((n) => n.name === node.name) ?? { ...config.nodes[0], name: node.name, ip: node.ip };
            runScript(node, "prepare-node", prepareNodeEnv({ node: spec, kubernetes: config.kubernetes, os: config.os, nodeNetwork: config.network.cidr, nfsClient: false }));
        }
        const initConfig = renderInitConfig({ clusterName: "e2e-hosts", node: CP, kubernetesVersion: config.kubernetes.version, podSubnet: config.kubernetes.podSubnet,
            serviceSubnet: config.kubernetes.serviceSubnet, dnsDomain: config.kubernetes.dnsDomain, controlPlaneEndpoint: ENDPOINT, certSANs: [] });
        const init = runScript(CP, "kubeadm-init", { NODE_NAME: CP.name, KUBEADM_CONFIG: initConfig, UPLOAD_CERTS: "true" },
            { CA_CRT: ca.crt, CA_KEY: ca.key, BOOTSTRAP_TOKEN: token, CERTIFICATE_KEY: certificateKey });
        assert.ok(!init.includes(token.split(".")[1]), "init prints no token");
        runScript(CP, "cluster-admin", { ACTION: "issue-join-credentials", JOINING_NODES: `${CP2.name} ${W1.name}` }, { BOOTSTRAP_TOKEN: token, CERTIFICATE_KEY: certificateKey });
        runScript(CP2, "kubeadm-join", { NODE_NAME: CP2.name, KUBEADM_CONFIG: renderJoinConfig({ node: CP2, controlPlaneEndpoint: ENDPOINT, caCertHash: caCertHash(ca.crt), controlPlane: true }) },
            { BOOTSTRAP_TOKEN: token, CERTIFICATE_KEY: certificateKey });
        assert.equal(h().file(CP2.name, "/etc/kubernetes/pki/ca.key"), ca.key, "cp2 decrypted the cluster CA from kubeadm-certs");
        assert.match(kubectl("get node cp2 -o jsonpath='{.metadata.labels}'"), /node-role.kubernetes.io\/control-plane/);
        runScript(W1, "kubeadm-join", { NODE_NAME: W1.name, KUBEADM_CONFIG: renderJoinConfig({ node: W1, controlPlaneEndpoint: ENDPOINT, caCertHash: caCertHash(ca.crt), controlPlane: false }) },
            { BOOTSTRAP_TOKEN: token });
        await eventually("cp1, cp2 and w1 Ready", () => /cp1=True/.test(ready()) && /cp2=True/.test(ready()) && /w1=True/.test(ready()));
        // w1's credential came from its own CSR, signed by the cluster CA through the controller manager.
        assert.match(kubectl("get csr -o jsonpath='{range .items[*]}{.spec.username}/{.status.conditions[0].type}{\"\\n\"}{end}'"), new RegExp(`system:bootstrap:${token.split(".")[0]}/Approved`));
        assert.match(kubectl("get node cp1 -o jsonpath='{.metadata.labels}'"), /node-role.kubernetes.io\/control-plane/);
    });

    test("kwok as every node's kubelet: Lease heartbeats; Nodes and pods stay Ready, a gap past the default grace too; a pod marked NotReady is Ready again", async () => {
        // A pod on every node, as Flannel's DaemonSet (whose rollout the Kubernetes provider waits for).
        h().ssh(CP.name, `kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f - <<'EOF'\n${LAPSE_DAEMONSET}\nEOF`);
        await eventually("the DaemonSet's pod Ready on cp1, cp2 and w1", () => lapsePods() === "cp1=True cp2=True w1=True");
        // The node lifecycle controller takes a node's heartbeat from its Lease: kwok must renew one
        // per node (without Leases every Node went Unknown 50 s after each status post, and its pods
        // NotReady: the 100-worker `up` that never finished).
        const first = leases();
        assert.deepEqual(Object.keys(first).sort(), ["cp1", "cp2", "w1"], "a Lease per node in kube-node-lease");
        await eventually("every Lease renewed", () => Object.entries(leases()).every(([node, t]) => t > first[node]));
        // kwok stopped (SIGSTOP) renews no Lease: hold it until every Lease is older than the node
        // lifecycle controller's default grace (50 s) plus its monitor period (5 s) several times
        // over, so that with the defaults the controller has marked each Node Unknown and its pods
        // Ready=False (MarkPodsNotReady): what a kwok starved on a loaded machine would cause.
        const kwokPid = "$(cat /run/k8sp-e2e/kwok.pid)";
        h().ssh(CP.name, `kill -STOP ${kwokPid}`);
        try {
            assert.match(h().ssh(CP.name, `cat /proc/${kwokPid}/comm; grep ^State: /proc/${kwokPid}/status`), /^kwok\nState:\s+T/, "kwok is stopped");
            for (let i = 0; i < 200 && leaseAgeSeconds() < 75; i++) {
                await new Promise((r) => setTimeout(r, 1000));
            }
            assert.ok(leaseAgeSeconds() >= 75, "every Lease went unrenewed past the default grace");
            assert.equal(ready(), "cp1=True cp2=True w1=True", "no Node marked Unknown by a heartbeat gap of the simulated kubelet");
            assert.equal(lapsePods(), "cp1=True cp2=True w1=True", "no pod marked NotReady");
            // Nor at any time before: the controller records NodeNotReady on each Node it marks and
            // on each pod (RecordNodeStatusChange, MarkPodsNotReady).
            assert.equal(kubectl("get events -A --field-selector reason=NodeNotReady -o name"), "", "no NodeNotReady event");
        } finally {
            h().ssh(CP.name, `kill -CONT ${kwokPid}`);
        }
        // Should a pod still be marked NotReady (a lapse past the long grace), the real kubelet sets it
        // Ready again; kwok-pod-ready-again.yaml plays that. The mark as MarkPodsNotReady writes it (k8s
        // v1.35.4 pkg/controller/util/node/controller_utils.go): Ready=False, ContainersReady untouched.
        const pod = kubectl("get pods -l app=k8sp-lapse --field-selector spec.nodeName=w1 -o jsonpath='{.items[0].metadata.name}'");
        const mark = JSON.stringify({ status: { conditions: [{ type: "Ready", status: "False", lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z") }] } });
        const marked = kubectl(`patch pod ${pod} --subresource=status --type=strategic -p '${mark}' -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="ContainersReady")].status}'`);
        assert.equal(marked, "False/True", "the pod marked as the node lifecycle controller marks it");
        // kwok, just resumed, may first re-list what changed while it was stopped: a longer bound.
        await eventually("w1's pod Ready again", () => lapsePods() === "cp1=True cp2=True w1=True", 180);
        kubectl("delete daemonset k8sp-lapse --wait=true");
    });

    test("remove the worker: drain, reset, Node deletion; resetting the bootstrap node stops its control plane", () => {
        runScript(CP, "cluster-admin", { ACTION: "drain", NODE_NAME: W1.name, DRAIN_TIMEOUT: "60s" });
        assert.equal(kubectl("get node w1 -o jsonpath='{.spec.unschedulable}'"), "true");
        runScript(W1, "kubeadm-reset", { NODE_NAME: W1.name });
        assert.equal(h().file(W1.name, "/etc/kubernetes/kubelet.conf"), undefined);
        runScript(CP, "cluster-admin", { ACTION: "delete-node", NODE_NAME: W1.name });
        assert.doesNotMatch(ready(), /w1=/);
        // Discovery pins the CA: a join that pins another cluster's CA is refused, w1 stays out.
        const other = spawnSync("openssl", ["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other", "-keyout", "/dev/null"], { encoding: "utf8" }).stdout;
        const wrong = renderJoinConfig({ node: W1, controlPlaneEndpoint: ENDPOINT, caCertHash: caCertHash(other), controlPlane: false }).replace("@BOOTSTRAP_TOKEN@", token);
        const r = spawnSync("ssh", ["-q", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${path.join(h().stateDir, "known_hosts")}`, "-i", path.join(h().stateDir, "id_ed25519"),
            `root@${W1.ip}`, "f=$(mktemp); cat >$f; kubeadm join --config $f"], { input: wrong, encoding: "utf8", timeout: 120_000 });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /cluster CA found in cluster-info ConfigMap is invalid: none of the public keys/);
        assert.equal(h().file(W1.name, "/etc/kubernetes/kubelet.conf"), undefined);
        runScript(CP, "kubeadm-reset", { NODE_NAME: CP.name });
        const probe = spawnSync("curl", ["-sk", "--max-time", "3", `https://${ENDPOINT}/readyz`], { encoding: "utf8" });
        assert.notEqual(probe.status, 0, "nothing answers on cp1:6443 after its reset");
    });
});

/** A DaemonSet like Flannel's: one pod on every node, control planes included. */
const LAPSE_DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: k8sp-lapse, namespace: default}
spec:
  selector: {matchLabels: {app: k8sp-lapse}}
  template:
    metadata: {labels: {app: k8sp-lapse}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: pause, image: registry.k8s.io/pause:3.10}]`;

/** "node=Ready" of each k8sp-lapse pod, by node name. */
function lapsePods(): string {
    return kubectl("get pods -l app=k8sp-lapse -o jsonpath='{range .items[*]}{.spec.nodeName}={.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}'")
        .split("\n").filter((l) => l !== "").sort().join(" ");
}

/** Each node Lease's last renewal (ms since the epoch), by name: the heartbeat the node lifecycle controller watches. */
function leases(): Record<string, number> {
    const lines = kubectl("-n kube-node-lease get leases -o jsonpath='{range .items[*]}{.metadata.name}={.spec.renewTime}{\"\\n\"}{end}'").split("\n").filter((l) => l !== "");
    return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), Date.parse(l.slice(l.indexOf("=") + 1))]));
}

/** Seconds since the last renewal of any node Lease. */
function leaseAgeSeconds(): number {
    const renewed = Object.values(leases());
    assert.equal(renewed.length, 3, "a Lease per node");
    return (Date.now() - Math.max(...renewed)) / 1000;
}

function ready(): string {
    return kubectl("get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}'");
}
