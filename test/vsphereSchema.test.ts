// Every vSphere input the program can declare, checked against the provider's own schema
// (pulumi-vsphere 4.17.0, ../shared/schemas/pulumi-vsphere-4.17.0.json): property names, types,
// required inputs, enum values (the schema's `enum`s and the values its descriptions list as
// "Can be one of …"), nested types through $ref. The mocks' answers to the data sources are checked
// against the functions' outputs the same way, so no test passes on a value the provider never gives.
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { MOCK_TEMPLATE, Synthesis, unwrapSecrets } from "../tools/mockRuntime";
import { RawConfig, synthStack } from "./helpers";

const SCHEMAS = path.resolve(__dirname, "..", "..", "shared", "schemas");
const FULL = path.join(SCHEMAS, "pulumi-vsphere-4.17.0.json");

type Node = {
    type?: string;
    $ref?: string;
    items?: Node;
    additionalProperties?: Node;
    properties?: Record<string, Node>;
    required?: string[];
    enum?: { value: unknown }[];
    description?: string;
};
interface Schema {
    types: Record<string, Node>;
    resources: Record<string, { inputProperties: Record<string, Node>; requiredInputs?: string[] }>;
    functions: Record<string, { inputs?: Node; outputs?: Node }>;
}

/** Values a description lists as "Can be one of a, b or c." (the schema has no `enum` for them). */
export function documentedValues(description: string | undefined): string[] | undefined {
    const match = /Can be one of ([^.]+)\./.exec(description ?? "");
    return match?.[1].split(/,\s*(?:or\s+)?|\s+or\s+/).map((v) => v.trim()).filter((v) => /^[a-z0-9-]+$/.test(v));
}

/** Problems of `value` against a schema node, with paths like `disks[0].size`. */
export function check(schema: Schema, value: unknown, node: Node, where: string): string[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (node.$ref) {
        const ref = node.$ref.replace(/^#\/types\//, "");
        const type = schema.types[ref];
        return type ? check(schema, value, type, where) : [`${where}: unknown type ${node.$ref}`];
    }
    const problems: string[] = [];
    const kind = Array.isArray(value) ? "array" : typeof value;
    switch (node.type) {
        case "string":
            if (kind !== "string") return [`${where}: expected string, got ${JSON.stringify(value)}`];
            break;
        case "integer":
            if (!Number.isInteger(value)) return [`${where}: expected integer, got ${JSON.stringify(value)}`];
            break;
        case "number":
            if (kind !== "number") return [`${where}: expected number, got ${JSON.stringify(value)}`];
            break;
        case "boolean":
            if (kind !== "boolean") return [`${where}: expected boolean, got ${JSON.stringify(value)}`];
            break;
        case "array":
            if (kind !== "array") return [`${where}: expected array, got ${JSON.stringify(value)}`];
            (value as unknown[]).forEach((item, i) => problems.push(...check(schema, item, node.items ?? {}, `${where}[${i}]`)));
            return problems;
        case "object":
        case undefined: {
            if (kind !== "object") return [`${where}: expected object, got ${JSON.stringify(value)}`];
            const entries = Object.entries(value as Record<string, unknown>);
            if (node.properties) {
                for (const [key, v] of entries) {
                    const prop = node.properties[key];
                    problems.push(...(prop ? check(schema, v, prop, `${where}.${key}`) : [`${where}.${key}: no such property; allowed: ${Object.keys(node.properties).join(", ")}`]));
                }
                for (const key of node.required ?? []) {
                    if ((value as Record<string, unknown>)[key] === undefined) problems.push(`${where}.${key}: required`);
                }
            } else if (node.additionalProperties) {
                for (const [key, v] of entries) problems.push(...check(schema, v, node.additionalProperties, `${where}.${key}`));
            }
            return problems;
        }
    }
    const allowed = node.enum?.map((e) => e.value) ?? documentedValues(node.description);
    if (allowed && !allowed.includes(value)) {
        problems.push(`${where}: ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
    }
    return problems;
}

function resourceProblems(schema: Schema, s: Synthesis): string[] {
    return s.resources
        .filter((r) => r.type.startsWith("vsphere:") && r.custom)
        .flatMap((r) => {
            const spec = schema.resources[r.type];
            if (!spec) return [`${r.type}: not a resource of the provider`];
            const inputs = unwrapSecrets(r.inputs) as Record<string, unknown>;
            return check(schema, inputs, { properties: spec.inputProperties, required: spec.requiredInputs }, `${r.name}`);
        });
}

function invokeProblems(schema: Schema, s: Synthesis): string[] {
    return s.invokes
        .filter((i) => i.token.startsWith("vsphere:"))
        .flatMap((i) => {
            const fn = schema.functions[i.token];
            return fn ? check(schema, i.inputs, fn.inputs ?? {}, i.token) : [`${i.token}: not a function of the provider`];
        });
}

/** Config variants that together declare every vSphere property the program can set. */
const VARIANTS: Record<string, (raw: RawConfig) => void> = {
    "dev as committed": () => undefined,
    "linked clones": (raw: any) => (raw.infra.vsphere.linkedClone = true),
    "a resource pool, an existing folder, sizes per role": (raw: any) => {
        delete raw.infra.vsphere.computeCluster;
        raw.infra.vsphere.resourcePool = "Cluster/Resources/k8s";
        raw.infra.vsphere.folderExists = true;
        raw.infra.vsphere.workerSize = { cpus: 4, memoryMb: 8192, diskGb: 80 };
    },
    "no folder, HAProxy on a VM of its own, an adopted storage VM": (raw: any) => {
        delete raw.infra.vsphere.folder;
        raw.haproxy.host = { name: "test-lb1", ip: "192.168.111.178" };
        raw.infra.vsphere.adopt = { "test-storage1": "/Datacenter/vm/test-storage1" };
    },
};

describe("vSphere inputs against the provider schema (pulumi-vsphere 4.17.0)", { skip: fs.existsSync(FULL) ? false : `${FULL} is absent: schema checks skipped` }, () => {
    const schema = (fs.existsSync(FULL) ? JSON.parse(fs.readFileSync(FULL, "utf8")) : {}) as Schema;

    for (const [variant, edit] of Object.entries(VARIANTS)) {
        it(`${variant}: every resource input and data-source argument is in the schema`, async () => {
            const s = await synthStack("dev", edit);
            assert.ok(s.resources.some((r) => r.type === "vsphere:index/virtualMachine:VirtualMachine"));
            assert.deepEqual([...resourceProblems(schema, s), ...invokeProblems(schema, s)], []);
        });
    }

    it("the mocks answer every data source with the outputs the schema requires, of its types", async () => {
        const s = await synthStack("dev", VARIANTS["a resource pool, an existing folder, sizes per role"]);
        const tokens = new Set(s.invokes.filter((i) => i.token.startsWith("vsphere:")).map((i) => i.token));
        for (const token of [...(await synthStack("dev")).invokes.map((i) => i.token)].filter((t) => t.startsWith("vsphere:"))) tokens.add(token);
        assert.ok(tokens.size >= 6, [...tokens].join(", "));
        const { mockInvokeForTest } = await import("../tools/mockRuntime");
        for (const token of tokens) {
            const outputs = schema.functions[token].outputs!;
            const answer = mockInvokeForTest(token, { name: "x", datacenterId: "datacenter-x" });
            assert.deepEqual(check(schema, answer, outputs, token), [], token);
        }
        assert.deepEqual(Object.keys(MOCK_TEMPLATE.disks[0]).sort(), ["eagerlyScrub", "label", "size", "thinProvisioned", "unitNumber"]);
    });

    it("the check is live: a misspelt property, a wrong type, a missing required input and a value outside the list fail", () => {
        const vm = schema.resources["vsphere:index/virtualMachine:VirtualMachine"];
        const root = { properties: vm.inputProperties, required: vm.requiredInputs };
        const problems = check(schema, { disks: [{ label: "disk0", sizeGb: 20, size: "20" }], scsiType: "mixed", networkInterfaces: [{ adapterType: "vmxnet3" }] }, root, "vm");
        assert.ok(problems.includes("vm.disks[0].sizeGb: no such property; allowed: " + Object.keys(schema.types["vsphere:index/VirtualMachineDisk:VirtualMachineDisk"].properties!).join(", ")), problems.join("\n"));
        assert.ok(problems.includes('vm.disks[0].size: expected integer, got "20"'));
        assert.ok(problems.includes("vm.resourcePoolId: required"));
        assert.ok(problems.includes("vm.networkInterfaces[0].networkId: required"));
        assert.ok(problems.includes('vm.scsiType: "mixed" is not one of lsilogic, lsilogic-sas, pvscsi'), problems.join("\n"));
    });
});
