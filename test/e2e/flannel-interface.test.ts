/**
 * Flannel's default interface against the real kernel: flanneld's --iface-can-reach takes the
 * interface of the route the kernel gives for the address (flannel v0.27.4 pkg/ip/iface.go
 * GetInterfaceBySpecificIPRouting: netlink.RouteGet, the first route's LinkIndex). Each lab node is
 * a network namespace of its own with its address on a NIC, and `ip route get` (the same RTM_GETROUTE
 * question) answers for the address the program renders: on every node it must be that NIC, never
 * lo — which is what a node gets for its own address (the premise, checked too).
 * Root only (network namespaces); skipped otherwise, naming why.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { flannelCanReach } from "../flannelReach";
import { run, skipUnless } from "./tools";

const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? "needs root (network namespaces)" : skipUnless("ip");

/** The device of the kernel's route to `address`, asked inside namespace `ns`. */
function routeDevice(ns: string, address: string): string {
    const r = run("ip", ["-n", ns, "-o", "route", "get", address]);
    assert.equal(r.status, 0, r.output);
    const dev = / dev (\S+)/.exec(r.stdout)?.[1];
    assert.ok(dev, r.output);
    return dev;
}

describe("Flannel's default --iface-can-reach resolves to each node's NIC (real kernel routes)", { skip }, () => {
    const namespaces: string[] = [];
    after(() => {
        for (const ns of namespaces) run("ip", ["netns", "delete", ns]);
    });

    it("lab: on every node, the route to the address is the node's NIC, not lo", async () => {
        const { canReach, nodeIps } = await flannelCanReach("lab");
        assert.ok(canReach, "the lab stack renders --iface-can-reach");
        for (const [i, ip] of nodeIps.entries()) {
            const ns = `k8sp-flannel-${process.pid}-${i}`;
            for (const args of [
                ["netns", "add", ns],
                ["-n", ns, "link", "set", "lo", "up"],
                // A veth pair inside the namespace (its far end up too, so the link has carrier).
                ["-n", ns, "link", "add", "nic0", "type", "veth", "peer", "name", "nic0-peer"],
                ["-n", ns, "addr", "add", `${ip}/24`, "dev", "nic0"],
                ["-n", ns, "link", "set", "nic0-peer", "up"],
                ["-n", ns, "link", "set", "nic0", "up"],
            ]) {
                const r = run("ip", args);
                assert.equal(r.status, 0, r.output);
                if (args[1] === "add" && args[0] === "netns") namespaces.push(ns);
            }
            // The premise: a node's own address is routed through lo on that node.
            assert.equal(routeDevice(ns, ip), "lo");
            assert.equal(routeDevice(ns, canReach), "nic0", `node ${ip}: --iface-can-reach=${canReach} would pick lo`);
        }
    });
});
