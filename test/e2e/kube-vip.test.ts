/**
 * kube-vip (kubernetes.controlPlaneEndpoint mode "kube-vip") run for real, the way its static pod
 * runs it, on three simulated control-plane hosts — without kubelet or containerd (no image can be
 * pulled here): the kube-vip binary is built from its Go module (test/e2e/tools/kube-vip, the
 * version config/versions.ts pins) and started with what the program's rendered Pod says — its
 * args, its env (spec.nodeName filled in as the kubelet does), its capabilities (the bounding set
 * the container runtime would leave: `drop: [ALL]` plus `add`), the kubeconfig hostPath mounted at
 * the container's mountPath, and /etc/hosts with the Pod's hostAliases, in the host's network
 * namespace (hostNetwork). Nothing of the Pod is retyped here: it is parsed from the renderer's
 * output as a control plane writes it (admin.conf mounted).
 *
 * The hosts (kubeVipHosts.ts, shared with kube-vip-kubelet.test.ts, which runs the static pod itself
 * through a kubelet and containerd): network namespaces of our own on one bridge in a hub
 * namespace, a real kube-apiserver on each, one etcd, a client.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { kubeVipManifestFor, renderKubeVipManifest } from "../../components/render/kubeVip";
import { IMAGES } from "../../config/versions";
import { Cluster, HOSTS, IFACE, PodRun, TOKEN, VIP, inNs, sleep, waitFor } from "./kubeVipHosts";
import { skipUnless } from "./tools";

const skip =
    (process.getuid?.() !== 0 && "needs root (network namespaces)") ||
    skipUnless("kube-vip") || skipUnless("kube-apiserver") || skipUnless("etcd") || skipUnless("openssl") || skipUnless("curl") ||
    skipUnless("setpriv") || skipUnless("unshare");

/** How the kubelet and the container runtime would run the Pod's one container, from its manifest. */
function podRun(manifest: string): PodRun {
    const pod = parse(manifest);
    assert.equal(pod.spec.hostNetwork, true, "kube-vip must run in the host's network namespace");
    assert.equal(pod.spec.containers.length, 1);
    const c = pod.spec.containers[0];
    assert.equal(c.command, undefined, "the image's entrypoint (/kube-vip) is run with args");
    const env = (nodeName: string) =>
        Object.fromEntries(
            c.env.map((e: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }) => {
                if (e.value !== undefined) return [e.name, e.value];
                if (e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName") return [e.name, nodeName];
                throw new Error(`env ${e.name}: no rule here for ${JSON.stringify(e.valueFrom)}`);
            }),
        );
    const caps = c.securityContext?.capabilities ?? {};
    assert.deepEqual(caps.drop, ["ALL"], "the bounding set below assumes every default capability dropped");
    const boundingSet = ["-all", ...(caps.add ?? []).map((cap: string) => `+${cap.toLowerCase()}`)].join(",");
    const volumes = new Map<string, string>(pod.spec.volumes.map((v: { name: string; hostPath: { path: string } }) => [v.name, v.hostPath.path]));
    const mounts = c.volumeMounts.map((m: { name: string; mountPath: string }) => ({ mountPath: m.mountPath, hostPath: volumes.get(m.name)! }));
    const hostAliases = (pod.spec.hostAliases ?? []).map((a: { ip: string; hostnames: string[] }) => `${a.ip}\t${a.hostnames.join(" ")}`);
    const probe = env("probe");
    return { args: c.args, env, boundingSet, mounts, hostAliases, lease: { namespace: probe.cp_namespace, name: probe.vip_leasename } };
}

// kubernetes.controlPlaneEndpoint.interface set (vip_interface), and left out (the default: kube-vip
// takes the default route's interface). The suites run one after the other, each with its own
// namespaces (the same names, removed by the previous suite's `after`).
for (const variant of [
    { title: "interface named", iface: IFACE as string | undefined },
    { title: "interface from the default route", iface: undefined },
]) describe(`kube-vip run as the program's static pod, on three simulated control planes (${variant.title})`, { skip }, () => {
    let cluster: Cluster;
    // As a joined control plane writes it (admin.conf mounted); the bootstrap node's super-admin.conf
    // variant differs only in the hostPath (test/kubeVip.test.ts).
    const manifest = kubeVipManifestFor(renderKubeVipManifest({ address: VIP, port: 6443, interface: variant.iface, image: IMAGES.kubeVip }), "/etc/kubernetes/admin.conf");
    const run = podRun(manifest);

    before(async () => {
        cluster = new Cluster();
        cluster.network(variant.iface === undefined);
        cluster.pki();
        await cluster.controlPlane();
    });
    after(async () => {
        if (process.env.K8SP_E2E_KEEP_KUBE_VIP) console.log(`kept logs in ${cluster?.dir}`);
        await cluster?.stop();
    });

    const leaseHolder = () => cluster.api("cp1", `/apis/coordination.k8s.io/v1/namespaces/${run.lease.namespace}/leases/${run.lease.name}`)?.spec?.holderIdentity as string | undefined;
    const logs = () => HOSTS.map((h) => `--- ${h.name}\n${fs.readFileSync(`${cluster.dir}/kube-vip-${h.name}.log`, "utf8").slice(-1500)}`).join("\n");

    const kubeconfigs = () => ({ "/etc/kubernetes/admin.conf": `${cluster.dir}/admin.conf` });
    const reachesApi = () => inNs("client", "curl", ["-sf", "--max-time", "5", "--cacert", `${cluster.dir}/ca.crt`, "-H", `Authorization: Bearer ${TOKEN}`, `https://${VIP}:6443/readyz`]);
    /** The single holder, reached by the client and named by the Lease, other than `not`; polled. */
    const singleHolder = (seconds: number, not: string[]) =>
        waitFor(seconds, () => {
            const held = cluster.holders();
            return held.length === 1 && !not.includes(held[0]) && cluster.clientReaches() === held[0] && leaseHolder() === held[0] ? held[0] : undefined;
        });
    /** Stops `host`'s kube-vip with `signal` and waits (bounded) for it to exit. */
    const stopKubeVip = async (host: string, signal: NodeJS.Signals) => {
        const child = cluster.kubeVip.get(host)!;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill(signal);
        await Promise.race([exited, sleep(30_000)]);
        assert.ok(child.exitCode !== null || child.signalCode !== null, `kube-vip on ${host} did not exit within 30 s of ${signal}`);
    };
    /** Restarts `host`'s kube-vip as the kubelet restarts the container, and waits until it has seen the leader. */
    const restartKubeVip = async (host: string, leader: string) => {
        const log = `${cluster.dir}/kube-vip-${host}.log`;
        const before = fs.readFileSync(log, "utf8").length;
        cluster.startKubeVip(host, run, kubeconfigs());
        const seen = await waitFor(60, () => (fs.readFileSync(log, "utf8").slice(before).includes(`New leader leader=${leader}`) ? true : undefined));
        assert.ok(seen, `restarted kube-vip on ${host} did not report leader ${leader} in 60 s\n${logs()}`);
    };
    let first = "";
    let second = "";

    it("one host holds the VIP, the client reaches it, the Lease names it; its kube-vip stopped, another takes over", async (t) => {
        for (const h of HOSTS) cluster.startKubeVip(h.name, run, kubeconfigs());

        first = (await singleHolder(120, [])) ?? "";
        assert.ok(first, `no single VIP holder reached by the client and named by the Lease in 120 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        // The API endpoint itself: TLS to the VIP verifies against the cluster CA (the VIP is a SAN).
        assert.equal(reachesApi(), "ok");

        // The kubelet stops a container with SIGTERM (static pod manifest removed, node shut down).
        await stopKubeVip(first, "SIGTERM");
        second = (await singleHolder(90, [first])) ?? "";
        assert.ok(second, `no other host took the VIP over in 90 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.ok(!cluster.holders().includes(first), `${first} still holds the VIP`);
        assert.equal(reachesApi(), "ok");
        t.diagnostic(`VIP held by ${first}, then by ${second} after ${first}'s kube-vip got SIGTERM`);
    });

    it("restarted on the host it left, kube-vip follows and the VIP stays where it is", async () => {
        assert.ok(first && second, "needs the previous case");
        await restartKubeVip(first, second);
        assert.deepEqual(cluster.holders(), [second]);
        assert.equal(leaseHolder(), second);
        assert.equal(cluster.clientReaches(), second);
    });

    it("the leader's kube-vip killed (SIGKILL): another host takes over, the dead one keeps the address until kube-vip restarts there", async (t) => {
        assert.ok(first && second, "needs the previous cases");
        await stopKubeVip(second, "SIGKILL");
        // No cleanup runs on SIGKILL: the address stays on the killed host's interface, and the new
        // holder's gratuitous ARP moves the client over (kube-vip's pkg/arp advertisement).
        const third = await waitFor(90, () => {
            const held = cluster.holders();
            const other = held.find((h) => h !== second);
            return other && cluster.clientReaches() === other && leaseHolder() === other ? other : undefined;
        });
        assert.ok(third, `no other host took the VIP over in 90 s: holders ${cluster.holders()}, lease ${leaseHolder()}\n${logs()}`);
        assert.deepEqual(cluster.holders().sort(), [second, third].sort(), "the killed host keeps its address until kube-vip restarts there");
        // The kubelet restarts the container: kube-vip removes a VIP it finds before it elects
        // (pkg/cluster/clusterLeaderElection.go StartCluster, "(attempt to) Remove the virtual IP").
        await restartKubeVip(second, third);
        const alone = await waitFor(30, () => (cluster.holders().length === 1 ? cluster.holders() : undefined));
        assert.deepEqual(alone, [third]);
        assert.equal(cluster.clientReaches(), third);
        assert.equal(reachesApi(), "ok");
        t.diagnostic(`after SIGKILL of ${second}: ${third} holds the VIP, ${second} dropped it on restart`);
    });
});
