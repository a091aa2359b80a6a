// vSphere (dev stack) as terraform-provider-vsphere v2.16.1 / pulumi-vsphere 4.17.0 behave (issue #10, items 10-15).
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../config";
import { cloneDisks, templateProblems } from "../components/render/vsphereClone";
import { MOCK_TEMPLATE, MockOverrides, Synthesis, unwrapSecrets } from "../tools/mockRuntime";
import { byType, named, rawConfigOf, synthStack } from "./helpers";
import { inputsAfterIgnoreChanges } from "../tools/engineModel";
import * as fs from "fs";
import * as path from "path";

const VM = "vsphere:index/virtualMachine:VirtualMachine";
const vmInputs = (s: Synthesis, host: string) => named(s, `vms-${host}`).inputs as any;

function errorFor(edit: (raw: any) => void): string {
    const raw = structuredClone(rawConfigOf("dev")) as any;
    edit(raw);
    try {
        parseConfig(raw, { stack: "dev", hasSshPrivateKey: true });
    } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.message;
    }
    assert.fail("expected the config to be refused");
}

const withTemplate = (template: object): { mocks: MockOverrides } => ({
    mocks: { invoke: (token) => (token === "vsphere:index/getVirtualMachine:getVirtualMachine" ? { ...MOCK_TEMPLATE, ...template } : undefined) },
});

describe("dev stack: vSphere clones", () => {
    it("item 10: a linked clone's disks are exactly the template's (size, thinProvisioned, eagerlyScrub)", async () => {
        const template = { disks: [{ label: "Hard disk 1", size: 16, thinProvisioned: false, eagerlyScrub: true, unitNumber: 0 }] };
        const s = await synthStack("dev", (raw: any) => (raw.infra.vsphere.linkedClone = true), withTemplate(template));
        for (const vm of byType(s, VM)) {
            const disks = (vm.inputs as any).disks;
            assert.deepEqual(disks, [{ label: "disk0", unitNumber: 0, size: 16, thinProvisioned: false, eagerlyScrub: true }], vm.name);
            assert.equal((vm.inputs as any).clone.linkedClone, true);
        }
    });

    it("item 10: a full clone grows the system disk to the configured size, never below the template's", async () => {
        const s = await synthStack("dev", undefined, withTemplate({ disks: [{ label: "Hard disk 1", size: 60, thinProvisioned: true, eagerlyScrub: false, unitNumber: 0 }] }));
        assert.equal(vmInputs(s, "test-master").disks[0].size, 60, "the template's 60 GB wins over 50");
        assert.equal(cloneDisks({ ...MOCK_TEMPLATE }, 50, false)[0].size, 50);
    });

    it("item 11: refuses a vSphere stack without gateway or DNS servers, saying why", () => {
        assert.match(errorFor((raw) => delete raw.network.gateway), /k8s-platform:network\.gateway: is required on vSphere: the provider waits for a default route in the guest after cloning \(waitForGuestNetRoutable\)/);
        assert.match(errorFor((raw) => (raw.network.dnsServers = [])), /k8s-platform:network\.dnsServers: is required on vSphere/);
        assert.equal(parseConfig(rawConfigOf("lab"), { stack: "lab", hasSshPrivateKey: true }).infra.provider, "existing", "existing hosts need neither");
    });

    it("item 12: declares the VM folder (type vm, in the datacenter) and puts the VMs in it, unless it exists", async () => {
        const s = await synthStack("dev");
        const folder = named(s, "vms-folder");
        assert.equal(folder.type, "vsphere:index/folder:Folder");
        assert.deepEqual(folder.inputs, { path: "k8s-platform-dev", type: "vm", datacenterId: "datacenter-Datacenter" });
        assert.equal(folder.options.retainOnDelete, true, "it keeps the retained storage VM");
        assert.ok(byType(s, VM).every((vm) => (vm.inputs as any).folder === "k8s-platform-dev"));
        const existing = await synthStack("dev", (raw: any) => (raw.infra.vsphere.folderExists = true));
        assert.equal(byType(existing, "vsphere:index/folder:Folder").length, 0);
        assert.equal(vmInputs(existing, "test-node1").folder, "k8s-platform-dev");
    });

    it("item 13: a new template changes no existing VM: clone settings, disks and NIC type are ignored", async () => {
        const s = await synthStack("dev");
        for (const vm of byType(s, VM)) {
            for (const path of ["clone", "guestId", "firmware", "scsiType", "disks", "networkInterfaces[*].adapterType"]) {
                assert.ok(vm.options.ignoreChanges?.includes(path), `${vm.name} ignores ${path}`);
            }
        }
    });

    it("item 13: refuses a changed node IP (the VM keeps the address it was customised with)", async () => {
        // The state of an earlier `pulumi up`: test-node1 was cloned with .172; the config now says .180.
        const earlier: MockOverrides = {
            state: (type, name, inputs) =>
                type === VM && name === "vms-test-node1"
                    ? { clone: { ...(inputs.clone as object), customize: { ...(inputs.clone as any).customize, networkInterfaces: [{ ipv4Address: "192.168.111.172", ipv4Netmask: 24 }] } } }
                    : undefined,
        };
        await assert.doesNotReject(synthStack("dev", undefined, { mocks: earlier }));
        await assert.rejects(
            synthStack("dev", (raw: any) => (raw.nodes[1].ip = "192.168.111.180"), { mocks: earlier }),
            /the IP of test-node1 changed from 192\.168\.111\.172 to 192\.168\.111\.180, but vSphere customises a VM's network only when cloning it/,
        );
    });

    it("item 14: refuses templates the clone cannot use (SCSI type, NIC type), naming the template", async () => {
        await assert.rejects(synthStack("dev", undefined, withTemplate({ scsiType: "mixed" })), /infra\.vsphere\.template: template "rocky9-template" has SCSI controller type "mixed"; a clone needs one of lsilogic, lsilogic-sas, pvscsi/);
        assert.match(templateProblems({ ...MOCK_TEMPLATE, networkInterfaceTypes: ["vlance"] }, "t").join(), /network adapter 0 of type "vlance"; the provider allows e1000, e1000e, sriov, vmxnet3, vrdma/);
        assert.match(templateProblems({ ...MOCK_TEMPLATE, scsiType: "unknown" }, "t").join(), /SCSI controller type "unknown"/);
        assert.deepEqual(templateProblems(MOCK_TEMPLATE, "t"), []);
    });

    it("item 14: maps every template disk, in order, with its unit number", async () => {
        const disks = [
            { label: "Hard disk 1", size: 20, thinProvisioned: true, eagerlyScrub: false, unitNumber: 0 },
            { label: "Hard disk 2", size: 100, thinProvisioned: false, eagerlyScrub: false, unitNumber: 1 },
        ];
        const s = await synthStack("dev", undefined, withTemplate({ disks }));
        assert.deepEqual(vmInputs(s, "test-node2").disks, [
            { label: "disk0", unitNumber: 0, size: 50, thinProvisioned: true, eagerlyScrub: false },
            { label: "disk1", unitNumber: 1, size: 100, thinProvisioned: false, eagerlyScrub: false },
        ]);
    });

    it("item 15: adopts an existing VM (the storage VM a destroy kept) through the import option", async () => {
        const path = "/Datacenter/vm/k8s-platform-dev/test-storage1";
        const s = await synthStack("dev", (raw: any) => (raw.infra.vsphere.adopt = { "test-storage1": path }));
        const storage = named(s, "vms-test-storage1");
        assert.equal(storage.options.import, path);
        assert.equal(storage.read, false);
        assert.equal(named(s, "vms-test-node1").options.import, undefined);
        assert.match(errorFor((raw) => (raw.infra.vsphere.adopt = { "test-storag1": path })), /k8s-platform:infra\.vsphere\.adopt\.test-storag1: "test-storag1" is not a VM of this stack; VMs: .*test-storage1/);
        assert.match(errorFor((raw) => (raw.infra.vsphere.adopt = { "test-storage1": "test-storage1" })), /infra\.vsphere\.adopt\.test-storage1: "test-storage1" is not a VM inventory path/);
    });

    // Issue 18 item 2. The imported state as terraform-provider-vsphere v2.16.1 reports it
    // (virtual_machine_disk_subresource.go DiskImportOperation: the device's own label, "Hard disk 1",
    // keep_on_remove false; the VM's real size and backing), and the provider's disk diff, which
    // matches old and new disks by label: an old label missing from the new list is a deleted VMDK.
    const importedDisks = [
        { label: "Hard disk 1", keepOnRemove: false, size: 20, unitNumber: 0, thinProvisioned: true, eagerlyScrub: false, datastoreId: "datastore-11", path: "test-storage1/test-storage1.vmdk", uuid: "6000C29a-0001", key: 2000, deviceAddress: "scsi:0:0" },
        { label: "Hard disk 2", keepOnRemove: false, size: 200, unitNumber: 1, thinProvisioned: true, eagerlyScrub: false, datastoreId: "datastore-11", path: "test-storage1/test-storage1_1.vmdk", uuid: "6000C29a-0002", key: 2001, deviceAddress: "scsi:0:1" },
    ];
    /** Labels the provider's DiskDiffOperation would delete (or re-create) going from olds to news. */
    function diskChanges(olds: { label: string; size: number }[], news: { label: string; size: number }[]): string[] {
        const changes = olds.filter((o) => !news.some((n) => n.label === o.label)).map((o) => `delete ${o.label}`);
        changes.push(...news.filter((n) => !olds.some((o) => o.label === n.label)).map((n) => `create ${n.label}`));
        changes.push(...news.filter((n) => olds.some((o) => o.label === n.label && o.size !== n.size)).map((n) => `resize ${n.label}`));
        return changes;
    }

    it("item 2: adopting the retained storage VM keeps its disks: the diffed inputs carry the imported disks unchanged", async () => {
        const adoptPath = "/Datacenter/vm/k8s-platform-dev/test-storage1";
        const s = await synthStack("dev", (raw: any) => (raw.infra.vsphere.adopt = { "test-storage1": adoptPath }), {
            mocks: { state: (type, name) => (type === VM && name === "vms-test-storage1" ? { disks: importedDisks } : undefined) },
        });
        const storage = byType(s, VM).find((r) => r.options.import === adoptPath)!;
        const olds = { ...storage.inputs, disks: importedDisks };
        const diffed = inputsAfterIgnoreChanges(storage.inputs, olds, storage.options.ignoreChanges ?? []) as any;
        assert.deepEqual(diskChanges(importedDisks, diffed.disks), [], "no disk deleted, relabelled or resized");
        assert.deepEqual(diffed.disks, importedDisks);
        // Without the ignored path the program's disk0 would replace "Hard disk 1" (the VMDK with the data).
        assert.deepEqual(diskChanges(importedDisks, (storage.inputs as any).disks), ["delete Hard disk 1", "delete Hard disk 2", "create disk0"]);
    });

    // The schema sits in ../shared next to the main checkout (SHARED_SCHEMAS points elsewhere), as in vsphereSchema.test.ts.
    const schemaFile = path.join(process.env.SHARED_SCHEMAS ?? path.resolve(__dirname, "..", "..", "shared", "schemas"), "pulumi-vsphere-4.17.0.json");
    it("item 2: the ignored path is the provider's own property (pulumi-vsphere 4.17.0 schema: VirtualMachine input `disks`)", { skip: fs.existsSync(schemaFile) ? false : `${schemaFile} is absent` }, () => {
        const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
        const disks = schema.resources[VM].inputProperties.disks;
        assert.equal(disks.type, "array");
        assert.equal(disks.items.$ref, "#/types/vsphere:index/VirtualMachineDisk:VirtualMachineDisk");
        for (const key of Object.keys(importedDisks[0])) {
            assert.ok(key in schema.types["vsphere:index/VirtualMachineDisk:VirtualMachineDisk"].properties, `the modelled state uses the schema's ${key}`);
        }
    });

    it("item 2: a template with fewer disks removes no disk of a running node", async () => {
        const created = [
            { label: "disk0", unitNumber: 0, size: 50, thinProvisioned: true, eagerlyScrub: false },
            { label: "disk1", unitNumber: 1, size: 100, thinProvisioned: true, eagerlyScrub: false },
        ];
        const s = await synthStack("dev", undefined, withTemplate({ disks: [{ label: "Hard disk 1", size: 20, thinProvisioned: true, eagerlyScrub: false, unitNumber: 0 }] }));
        const node = named(s, "vms-test-node1");
        const diffed = inputsAfterIgnoreChanges(node.inputs, { ...node.inputs, disks: created }, node.options.ignoreChanges ?? []) as any;
        assert.deepEqual(diskChanges(created, diffed.disks), []);
    });

    it("item 2: a larger configured disk on a running VM is refused with the procedure, not silently skipped", async () => {
        const running: MockOverrides = {
            state: (type, name, inputs) => (type === VM && name === "vms-test-node1" ? { disks: [{ ...(inputs.disks as any[])[0], size: 50 }] } : undefined),
        };
        await assert.doesNotReject(synthStack("dev", (raw: any) => (raw.nodes[1].diskGb = 40), { mocks: running }));
        await assert.rejects(
            synthStack("dev", (raw: any) => (raw.nodes[1].diskGb = 80), { mocks: running }),
            /disk size of test-node1 .* changed from 50 GB to 80 GB, but the program never changes the disks of a running VM.*grow the disk in vCenter/,
        );
    });
});

describe("issue 18 item 12: a recreated machine is prepared and joined again", () => {
    const recreated = (stackVm: string, host: string, field: string, type: string): MockOverrides => ({
        state: (t, name) => (t === type && name === `${stackVm}-${host}` ? { [field]: "recreated-machine-id" } : undefined),
    });
    const cases = [
        { stack: "dev", vms: "vms", cluster: "cluster", host: "test-node1", field: "uuid", type: VM },
        { stack: "azure", vms: "vms", cluster: "cluster", host: "k8s-node1", field: "vmId", type: "azure-native:compute:VirtualMachine" },
    ];
    for (const c of cases) {
        it(`${c.stack}: a new ${c.field} re-runs every create step on that machine and nothing elsewhere; no delete step runs`, async () => {
            const before = await synthStack(c.stack);
            const after = await synthStack(c.stack, undefined, { mocks: recreated(c.vms, c.host, c.field, c.type) });
            const onHost = (s: Synthesis) => commandsByName(s);
            const [b, a] = [onHost(before), onHost(after)];
            const changed = [...b.keys()].filter((name) => JSON.stringify(b.get(name)!.create) !== JSON.stringify(a.get(name)!.create)).sort();
            assert.deepEqual(changed, [`${c.cluster}-${c.host}-hosts`, `${c.cluster}-${c.host}-join`, `${c.cluster}-${c.host}-prepare`, `registry-trust-${c.host}-containerd`].sort());
            for (const name of changed) {
                assert.match(String(unwrapSecrets(a.get(name)!.create)), /^export MACHINE_ID='recreated-machine-id'$/m, name);
                assert.deepEqual(a.get(name)!.delete, b.get(name)!.delete, `${name}: an input change, not a replacement: the delete step (kubeadm reset) does not run`);
                assert.deepEqual(a.get(name)!.triggers, undefined);
            }
            // The same machine: identical commands (nothing re-runs on an unchanged `up`).
            const again = commandsByName(await synthStack(c.stack));
            assert.deepEqual([...again.entries()].map(([n, i]) => [n, i.create]), [...b.entries()].map(([n, i]) => [n, i.create]));
        });
    }
});

function commandsByName(s: Synthesis): Map<string, Record<string, unknown>> {
    return new Map(byType(s, "command:remote:Command").map((c) => [c.name, c.inputs]));
}
