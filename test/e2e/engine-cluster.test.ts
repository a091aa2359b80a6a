/**
 * The program under the real Pulumi engine (automation API, inline program = stacks/program.ts)
 * against simulated hosts (test/e2e/hosts): one control plane and two workers, then a third
 * worker added, a worker removed and added back, destroy and up again on the same hosts, and a
 * worker renamed on its host (refused in one `up`, done in two).
 * Issue 19's assertions 1-4 and 6 (5, re-ordering control planes, is in engine-ha.test.ts).
 * The steps build on each other, in order; each names what it proves.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { changedSteps as changed, EngineWorld, nameOf, simNode } from "./hosts/engineStack";
import { missingForEngineTests } from "./hosts/simHosts";

const SUBNET = "10.213.71";
const [CP, W1, W2, W3] = ["cp1", "w1", "w2", "w3"].map((n) => simNode(SUBNET, n));
const world = new EngineWorld(SUBNET, [CP, W1, W2, W3], "e2e");
const { h, e, sessions, callCounts, nodesReady, waitReady } = world;
// NFS on the control plane: its server step has no delete, so `destroy` keeps it and its data.
const configure = (nodes: typeof CP[]) => world.configure({ nfs: { enabled: true, host: { node: CP.name }, exportPath: "/srv/share" } }, nodes);

describe("the program under the real engine: 1 control plane + 2 workers on simulated hosts", { skip: missingForEngineTests(), timeout: 3_600_000 }, () => {
    before(async () => {
        await world.start();
        await configure([CP, W1, W2]);
    });
    after(world.stop);

    test("(1) up builds the cluster; preview --expect-no-changes passes; a second up runs no remote command", async () => {
        await e().up();
        await waitReady([CP.name, W1.name, W2.name]);
        assert.ok(h().calls(CP.name).some((c) => c.startsWith("kubeadm init")), "kubeadm init ran on cp1");
        for (const w of [W1, W2]) {
            assert.ok(h().calls(w.name).some((c) => c.startsWith("kubeadm join")), `kubeadm join ran on ${w.name}`);
        }
        await e().preview({ expectNoChanges: true });
        const [s0, c0] = [sessions(), callCounts()];
        const second = await e().up();
        assert.deepEqual(changed(second.steps), [], "the second up changes nothing");
        assert.deepEqual(sessions(), s0, "no SSH session was opened on any host by the second up");
        assert.deepEqual(callCounts(), c0, "no stubbed command ran on any host");
    });

    test("(2) stack export holds no secret in plain text, in values or resource ids", async () => {
        const exported = e().exportText();
        const kubeconfig = String((await e().outputs()).kubeconfig ?? "");
        assert.ok(kubeconfig.includes("client-key-data"), "the kubeconfig output is there to look for");
        const clientKey = /client-key-data:\s*(\S+)/.exec(kubeconfig)?.[1] ?? "";
        const tokenSecret = h().ssh(CP.name, "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token -o jsonpath='{.items[0].data.token-secret}' | base64 -d");
        const caKey = h().file(CP.name, "/etc/kubernetes/pki/ca.key") ?? "";
        const withSecrets = JSON.parse(e().exportWithSecrets()) as { deployment: { resources: { urn: string; outputs?: Record<string, unknown> }[] } };
        // --show-secrets keeps a secret as {<sig>, plaintext: "<JSON of the value>"}.
        const plain = (v: unknown): string =>
            typeof v === "object" && v !== null && "plaintext" in v ? String(JSON.parse(String((v as { plaintext: string }).plaintext))) : String(v ?? "");
        // A RandomPassword over 0-9a-f (its id is "none"): the key is its result.
        const certKeyHex = plain(withSecrets.deployment.resources.find((r) => r.urn.endsWith("-certificate-key"))?.outputs?.result);
        const pem = (text: string): string => text.split("\n").filter((l) => l && !l.startsWith("-----")).slice(1, 2).join("");
        const secrets: Record<string, string[]> = {
            "SSH private key": [pem(h().sshPrivateKey)],
            "bootstrap token": [tokenSecret],
            "CA key": [pem(caKey)],
            "admin client key": [clientKey, pem(Buffer.from(clientKey, "base64").toString("utf8"))],
            kubeconfig: [kubeconfig.slice(0, 200)],
            "certificate key": [certKeyHex, Buffer.from(certKeyHex, "hex").toString("base64")],
        };
        for (const [what, forms] of Object.entries(secrets)) {
            for (const form of forms) {
                assert.ok(form.length >= 16, `the test found the ${what} to look for`);
                assert.ok(!exported.includes(form), `stack export holds the ${what} in plain text`);
            }
        }
    });

    test("(3) adding a worker plans only what the README says; up runs nothing else on existing hosts", async () => {
        await configure([CP, W1, W2, W3]);
        const plan = await e().preview();
        const unexpected = changed(plan.steps).filter((s) => {
            const name = nameOf(s.urn);
            if (s.op === "create") {
                return !/-w3(-|$)/.test(name);
            }
            // Updated in place: every machine's /etc/hosts block, the join-credentials step.
            return !(s.op === "update" && (/-hosts$/.test(name) || /-join-credentials$/.test(name)));
        });
        assert.deepEqual(unexpected.map((s) => `${s.op} ${nameOf(s.urn)}`), [], "nothing but w3's resources, the hosts blocks and join credentials");
        assert.ok(plan.steps.some((s) => s.op === "create" && /-w3-join$/.test(nameOf(s.urn))), "w3 joins");
        const before = sessions();
        await e().up();
        const after = sessions();
        await waitReady([CP.name, W1.name, W2.name, W3.name]);
        // cp1: its hosts block and the join credentials; each existing worker: its hosts block.
        assert.equal(after[CP.name] - before[CP.name], 2, "cp1 ran its hosts block and join credentials only");
        for (const w of [W1, W2]) {
            assert.equal(after[w.name] - before[w.name], 1, `${w.name} ran its hosts block only`);
        }
        assert.match(h().file(W1.name, "/etc/hosts") ?? "", /\bw3\b/, "existing hosts know w3");
    });

    test("(4) removing a worker drains it, resets it, then deletes its Node, on the right hosts", async () => {
        const t0 = Date.now() / 1000;
        await configure([CP, W1, W3]);
        await e().up();
        const onCp = h().timedCalls(CP.name).filter((c) => c.at >= t0);
        const drain = onCp.find((c) => /^kubectl drain w2\b/.test(c.call));
        const del = onCp.find((c) => /^kubectl delete node w2\b/.test(c.call));
        const reset = h().timedCalls(W2.name).find((c) => c.at >= t0 && c.call.startsWith("kubeadm reset"));
        assert.ok(drain, "cp1 drained w2");
        assert.ok(reset, "w2 ran kubeadm reset");
        assert.ok(del, "cp1 deleted w2's Node");
        assert.ok(drain.at < reset.at && reset.at < del.at, "drain → reset → Node delete");
        for (const other of [W1, W3]) {
            assert.ok(!h().timedCalls(other.name).some((c) => c.at >= t0 && c.call.startsWith("kubeadm reset")), `${other.name} was not reset`);
        }
        assert.equal(nodesReady().w2, undefined, "w2's Node is gone");
    });

    test("(4) a removed worker added back joins again", async () => {
        const t0 = Date.now() / 1000;
        await configure([CP, W1, W2, W3]);
        await e().up();
        // A Ready Node alone proves nothing: the program's NodePatch (server-side apply) creates
        // the Node object when it is missing. The join must have run and left its credential.
        assert.ok(h().timedCalls(W2.name).some((c) => c.at >= t0 && c.call.startsWith("kubeadm join")), "kubeadm join ran on w2 again");
        assert.ok(h().file(W2.name, "/etc/kubernetes/kubelet.conf"), "w2 has a kubelet credential again");
        await waitReady([CP.name, W1.name, W2.name, W3.name]);
    });

    test("(6) destroy resets every node and keeps what is retained (the NFS export and its data)", async () => {
        h().ssh(CP.name, "echo kept > /srv/share/data.txt");
        const t0 = Date.now() / 1000;
        await e().destroy();
        assert.equal(h().file(CP.name, "/srv/share/data.txt"), "kept\n", "the share's data survives");
        assert.match(h().file(CP.name, "/etc/exports.d/k8s-platform.exports") ?? "", /^\/srv\/share /, "the export stays");
        for (const n of [CP, W1, W2, W3]) {
            assert.ok(h().timedCalls(n.name).some((c) => c.at >= t0 && c.call.startsWith("kubeadm reset")), `${n.name} was reset`);
            assert.equal(h().file(n.name, "/etc/kubernetes/kubelet.conf"), undefined, `${n.name} has no kubelet.conf`);
        }
    });

    test("(6) up again on the same hosts builds a working cluster", async () => {
        await e().up();
        await waitReady([CP.name, W1.name, W2.name, W3.name]);
        await e().preview({ expectNoChanges: true });
    });

    test("(7) w3 renamed w9 on the same host in one up: refused before anything runs, naming both, the IP and the procedure; in two ups w9 joins on that host", async () => {
        // Found in review: the new name's join ran first on the host that was still w3, trusted
        // its record, and w3's removal then reset the host; the up succeeded with a kubelet-less w9.
        const w9 = { ...simNode(SUBNET, "w9"), ip: W3.ip };
        await configure([CP, W1, W2, w9]);
        await world.assertRefused([
            new RegExp(`k8s-platform:nodes: w9 is new in this \`up\` at IP ${W3.ip.replace(/\./g, "\\.")}, the IP of w3, which the last completed \`up\` had`),
        ]);
        assert.equal(nodesReady().w3, "True", "w3 is still a Ready member");
        // The procedure: remove w3 in one up, then add w9.
        await configure([CP, W1, W2]);
        await e().up();
        assert.equal(nodesReady().w3, undefined, "w3's Node is gone");
        const t0 = Date.now() / 1000;
        await configure([CP, W1, W2, w9]);
        await e().up();
        assert.ok(h().timedCalls(W3.name).some((c) => c.at >= t0 && c.call.startsWith("kubeadm join")), "kubeadm join ran on the host as w9");
        await waitReady([CP.name, W1.name, W2.name, "w9"]);
        await e().preview({ expectNoChanges: true });
    });
});
