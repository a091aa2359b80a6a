// Flannel's default interface (kubernetes.podNetworkInterface unset): never an address that is
// local on a node Flannel runs on, where --iface-can-reach would pick lo (config/parse.ts says why;
// test/e2e/flannel-interface.test.ts asks the real kernel).
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { parseConfig } from "../config";
import { flannelCanReach } from "./flannelReach";
import { RawConfig, rawConfigOf } from "./helpers";

const parse = (raw: RawConfig) => parseConfig(raw, { stack: "t", hasSshPrivateKey: true });

describe("Flannel's default interface is never one a node owns (lo on that node)", () => {
    it("lab (one control plane, its IP the endpoint, no gateway): the first node-network address no node owns", async () => {
        const { canReach, nodeIps } = await flannelCanReach("lab");
        assert.equal(canReach, "192.168.1.1");
        assert.ok(!nodeIps.includes(canReach!), `${canReach} is a node's own address`);
    });

    it("one control plane with network.gateway: the gateway", () => {
        const raw = rawConfigOf("lab");
        raw.network = { ...(raw.network as object), gateway: "192.168.1.254" };
        assert.deepEqual(parse(raw).kubernetes.podNetworkInterface, { canReach: "192.168.1.254" });
    });

    it("the first free address skips the nodes that own the low ones", () => {
        const raw = rawConfigOf("lab");
        raw.nodes = [
            { name: "m-k8s", ip: "192.168.1.1", role: "control-plane" },
            { name: "w1-k8s", ip: "192.168.1.2", role: "worker" },
        ];
        raw.metallb = { enabled: false };
        assert.deepEqual(parse(raw).kubernetes.podNetworkInterface, { canReach: "192.168.1.3" });
    });

    it("an endpoint on a host of its own (HAProxy in front of three control planes) is kept: no node owns it", () => {
        const raw = rawConfigOf("lab");
        raw.nodes = [
            { name: "m-k8s", ip: "192.168.1.10", role: "control-plane" },
            { name: "m2-k8s", ip: "192.168.1.20", role: "control-plane" },
            { name: "m3-k8s", ip: "192.168.1.30", role: "control-plane" },
            { name: "w1-k8s", ip: "192.168.1.101", role: "worker" },
        ];
        raw.haproxy = { enabled: true, host: { name: "lb-k8s", ip: "192.168.1.5" } };
        const config = parse(raw);
        assert.equal(config.kubernetes.controlPlaneEndpoint, "192.168.1.5:6443");
        assert.deepEqual(config.kubernetes.podNetworkInterface, { canReach: "192.168.1.5" });
    });

    it("kube-vip without an interface and without a gateway: neither the VIP nor a node's address", () => {
        const raw = rawConfigOf("lab");
        raw.kubernetes = { ...(raw.kubernetes as object), controlPlaneEndpoint: { mode: "kube-vip", address: "192.168.1.1" } };
        assert.deepEqual(parse(raw).kubernetes.podNetworkInterface, { canReach: "192.168.1.2" });
    });

    it("a configured choice is kept as given", () => {
        const raw = rawConfigOf("lab");
        raw.kubernetes = { ...(raw.kubernetes as object), podNetworkInterface: { canReach: "192.168.1.10" } };
        assert.deepEqual(parse(raw).kubernetes.podNetworkInterface, { canReach: "192.168.1.10" });
    });
});
