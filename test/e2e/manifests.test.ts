/**
 * Every Kubernetes object the program declares, checked by the real `kubectl-validate` (built from
 * sigs.k8s.io/kubectl-validate): the API server's own OpenAPI validation, strict (unknown and
 * duplicate fields are errors), against the Kubernetes 1.35 schemas.
 *
 * The newest kubectl-validate the Go module proxy serves here (v0.0.4) carries built-in schemas up to
 * 1.30 only, so the 1.35 OpenAPI v3 documents come from ../shared/schemas/k8s-1.35 through
 * --local-schemas (its layout: apis/<group>/<version>.json, api/v1.json — pkg/openapiclient/
 * local_schemas.go at v0.0.4) and the MetalLB CRDs through --local-crds.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { listStacks, unwrapSecrets } from "../../tools/mockRuntime";
import { manifestOf } from "../../tools/synth";
import { synthStack } from "../helpers";
import { run, SHARED_SCHEMAS, skipUnless } from "./tools";

const K8S_SCHEMAS = path.join(SHARED_SCHEMAS, "k8s-1.35");
const CRDS = path.join(SHARED_SCHEMAS, "crds");
const skip = skipUnless("kubectl-validate") || (fs.existsSync(K8S_SCHEMAS) ? false : `no schemas at ${K8S_SCHEMAS}`);

/** ../shared/schemas/k8s-1.35/<group>__<version>.json laid out as kubectl-validate reads it. */
function schemaDir(into: string): void {
    for (const file of fs.readdirSync(K8S_SCHEMAS)) {
        const match = /^(?:(.+)__)?(v[^_]+)\.json$/.exec(file);
        if (!match) {
            continue; // served.json: an index, not a schema
        }
        const [, group, version] = match;
        const dir = group ? path.join(into, "apis", group) : path.join(into, "api");
        fs.mkdirSync(dir, { recursive: true });
        fs.symlinkSync(path.join(K8S_SCHEMAS, file), path.join(dir, `${version}.json`));
    }
}

interface Verdict {
    readonly status: string;
    readonly message?: string;
}

/** Runs kubectl-validate on files; returns file → "Success" or its error message. */
function validate(files: string[], schemas: string): Map<string, string> {
    const result = run("kubectl-validate", ["--version", "1.35", "--local-schemas", schemas, "--local-crds", CRDS, "-o", "json", ...files]);
    const start = result.output.indexOf("{");
    assert.ok(start >= 0, `kubectl-validate printed no JSON (exit ${result.status}):\n${result.output}`);
    const report = JSON.parse(result.output.slice(start)) as Record<string, Verdict | Verdict[]>;
    const verdicts = new Map<string, string>();
    for (const [file, value] of Object.entries(report)) {
        const list = Array.isArray(value) ? value : [value];
        const bad = list.filter((v) => v.status !== "Success");
        verdicts.set(path.resolve(file), bad.length === 0 ? "Success" : bad.map((v) => v.message ?? v.status).join("; "));
    }
    return verdicts;
}

describe("kubectl-validate on every declared manifest (strict, Kubernetes 1.35)", { skip }, () => {
    let work = "";
    let schemas = "";
    before(() => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kubectl-validate-"));
        schemas = path.join(work, "schemas");
        schemaDir(schemas);
    });
    after(() => fs.rmSync(work, { recursive: true, force: true }));

    it("rejects what it should (the check can fail): an unknown field, a wrong type", () => {
        const file = path.join(work, "bad.yaml");
        fs.writeFileSync(
            file,
            stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "eighty" }], selectr: {} } }),
        );
        const verdict = validate([file], schemas).get(file) ?? "";
        assert.match(verdict, /selectr/);
        assert.match(verdict, /port/);
    });

    for (const stack of listStacks()) {
        it(`${stack}: every manifest validates`, async () => {
            const synthesis = await synthStack(stack);
            const dir = path.join(work, stack);
            fs.mkdirSync(dir);
            const files: string[] = [];
            for (const resource of synthesis.resources) {
                const masked = manifestOf(resource);
                if (!masked) {
                    continue;
                }
                // The values the program would send (mock secrets included), not "[secret]" masks.
                const manifest = { ...(unwrapSecrets(resource.inputs) as object), apiVersion: masked.apiVersion, kind: masked.kind };
                const file = path.join(dir, `${resource.name}.yaml`);
                fs.writeFileSync(file, stringify(manifest));
                files.push(file);
            }
            assert.ok(files.length > 0, `${stack} declares no Kubernetes objects`);
            const verdicts = validate(files, schemas);
            const failures = files
                .filter((f) => verdicts.get(f) !== "Success")
                .map((f) => `${path.basename(f)}: ${verdicts.get(f) ?? "not reported"}`);
            assert.deepEqual(failures, [], failures.join("\n"));
        });
    }
});
