// A change refused against the stack's record (stacks/versionRecord.ts: a skipped minor, nodes
// added during an upgrade, a new node at a leaving node's address) fails the program, but only
// once its check has run. Under `pulumi up --skip-preview`, or the automation API's `up`, which
// previews nothing, every resource registered before that is created or changed for real: the
// machines did not wait, so a refused rename got a second VM at the IP of the one still running.
// Now every machine the program creates waits for the checked version (components/refusals.ts
// heldBackBy): a refused change registers no VM, NIC, public IP, VM extension or folder; on Azure
// the resource group waits too, and with it every Azure resource of the stack.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { KUBERNETES_VERSION } from "../config";
import { RawConfig, synthStack } from "./helpers";

type Recorded = Record<string, unknown>;
const MACHINE_TYPES = [
    "vsphere:index/virtualMachine:VirtualMachine",
    "vsphere:index/folder:Folder",
    "azure-native:compute:VirtualMachine",
    "azure-native:compute:VirtualMachineExtension",
    "azure-native:network:NetworkInterface",
];

/**
 * Runs the stack against a record (the StackReference's outputs) and returns every resource the
 * engine was asked to create or update (the mock monitor's registrations), and the program's error.
 */
async function registeredAgainst(stack: string, recorded: Recorded, edit?: (raw: RawConfig) => void): Promise<{ error?: Error; registered: string[] }> {
    const registered: string[] = [];
    const state = (type: string, name: string) => {
        registered.push(`${type} ${name}`);
        return type === "pulumi:pulumi:StackReference" ? { outputs: recorded } : undefined;
    };
    const error = await synthStack(stack, edit, { mocks: { state } }).then(
        () => undefined,
        (e: Error) => e,
    );
    return { error, registered };
}
const machines = (registered: string[]): string[] => registered.filter((r) => MACHINE_TYPES.includes(r.split(" ")[0]) || r.includes("PublicIPAddress vms-"));
const withVersion = (version: string, more?: (raw: RawConfig) => void) => (raw: RawConfig) => {
    raw.kubernetes = { ...((raw.kubernetes ?? {}) as Record<string, unknown>), version };
    more?.(raw);
};
const nodesOf = (raw: RawConfig) => raw.nodes as { name: string; ip: string; role: string }[];

describe("a change refused against the stack's record creates no machine, even with no preview", () => {
    it("dev (vSphere): a skipped minor registers no VM and no folder; the allowed minor registers them all", async () => {
        const recorded = { apiEndpoint: "https://192.168.111.169:6443", kubernetesVersion: "1.35.2" };
        const refused = await registeredAgainst("dev", recorded, withVersion("1.37.2"));
        assert.match(refused.error?.message ?? "", /k8s-platform:kubernetes\.version: the cluster runs 1\.35\.2 .*it skips minor 1\.36/);
        assert.deepEqual(machines(refused.registered), []);
        assert.deepEqual(refused.registered.filter((r) => r.startsWith("command:remote:Command")), [], "no command either (as before)");

        const allowed = await registeredAgainst("dev", recorded, withVersion("1.36.1"));
        assert.equal(allowed.error, undefined);
        assert.equal(machines(allowed.registered).filter((r) => r.startsWith("vsphere:index/virtualMachine")).length, 5, "the four nodes' VMs and the storage VM");
    });

    it("dev (vSphere): a node renamed at the same address gets no second VM at the IP of the one still running", async () => {
        // The last up recorded test-node2's host as old-node2; the config now names it test-node2.
        const recorded = {
            apiEndpoint: "https://192.168.111.169:6443",
            kubernetesVersion: KUBERNETES_VERSION,
            nodes: [
                { name: "test-master", role: "control-plane", ip: "192.168.111.169" },
                { name: "test-node1", role: "worker", ip: "192.168.111.172" },
                { name: "old-node2", role: "worker", ip: "192.168.111.173" },
                { name: "test-node3", role: "worker", ip: "192.168.111.170" },
            ],
        };
        const refused = await registeredAgainst("dev", recorded);
        assert.match(refused.error?.message ?? "", /test-node2/);
        assert.match(refused.error?.message ?? "", /old-node2/);
        assert.deepEqual(machines(refused.registered), []);
    });

    it("azure: nodes added in the same up as a minor upgrade register no public IP, NIC, VM or extension for any node", async () => {
        const recorded = {
            apiEndpoint: "https://k8s-master:6443",
            kubernetesVersion: "1.35.2",
            nodes: [
                { name: "k8s-master", role: "control-plane", ip: "10.240.0.10" },
                { name: "k8s-node1", role: "worker", ip: "10.240.0.11" },
                { name: "k8s-node2", role: "worker", ip: "10.240.0.12" },
                { name: "k8s-node3", role: "worker", ip: "10.240.0.13" },
            ],
        };
        const addNode = (raw: RawConfig) => {
            raw.nodes = [...nodesOf(raw), { name: "k8s-node4", ip: "10.240.0.14", role: "worker" }];
        };
        const refused = await registeredAgainst("azure", recorded, withVersion("1.36.1", addNode));
        assert.match(refused.error?.message ?? "", /k8s-platform:nodes: k8s-node4 (is|are) new/);
        assert.deepEqual(machines(refused.registered), []);
        // Nor any other Azure resource: the resource group waits, and every resource takes its group from it.
        assert.deepEqual(refused.registered.filter((r) => r.startsWith("azure-native:")), []);

        const added = await registeredAgainst("azure", recorded, withVersion("1.35.2", addNode));
        assert.equal(added.error, undefined);
        for (const kind of ["azure-native:compute:VirtualMachine vms-k8s-node4", "azure-native:network:NetworkInterface vms-k8s-node4-nic", "azure-native:compute:VirtualMachineExtension vms-k8s-node4-ssh-access"]) {
            assert.ok(added.registered.includes(kind), `${kind} registered when nothing is refused`);
        }
    });
});
