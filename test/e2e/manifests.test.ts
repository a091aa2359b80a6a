/**
 * Every Kubernetes object the program declares, checked by the real `kubectl-validate` (built from
 * sigs.k8s.io/kubectl-validate): the API server's own OpenAPI validation, strict (unknown and
 * duplicate fields are errors), against the Kubernetes 1.35 schemas.
 *
 * The newest kubectl-validate the Go module proxy serves here (v0.0.4) carries built-in schemas up to
 * 1.30 only (`--version 1.35` makes it fetch them from GitHub), so the 1.35 OpenAPI v3 documents
 * come from ../shared/schemas/k8s-1.35 through --local-schemas (its layout: apis/<group>/<version>.json,
 * api/v1.json — pkg/openapiclient/local_schemas.go at v0.0.4) and the MetalLB CRDs through
 * --local-crds. It still loads the 1.30 built-ins for `--version 1.30`, but local schemas come first
 * and win (pkg/cmd/validate.go: NewComposite(local schemas, local CRDs, built-ins);
 * groupversion/composite.go keeps the first definition of each schema component). So that nothing
 * is checked against 1.30 alone, every object must be of a kind Kubernetes 1.35 serves (served.json)
 * with its group-version's 1.35 schema present locally, or of a shared CRD.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { listStacks, unwrapSecrets } from "../../tools/mockRuntime";
import { manifestOf } from "../../tools/synth";
import { RawConfig, synthStack } from "../helpers";
import { IMAGES } from "../../config";
import { kubeVipManifestFor, renderKubeVipManifest } from "../../components/render/kubeVip";
import { run, SHARED_SCHEMAS, skipUnless } from "./tools";

const K8S_SCHEMAS = path.join(SHARED_SCHEMAS, "k8s-1.35");
const CRDS = path.join(SHARED_SCHEMAS, "crds");
const skip = skipUnless("kubectl-validate") || (fs.existsSync(K8S_SCHEMAS) ? false : `no schemas at ${K8S_SCHEMAS}`);

/**
 * ../shared/schemas/k8s-1.35/<group>__<version>.json ({ source, schemas }: the components.schemas
 * of the release's api/openapi-spec/v3 document for that group-version) laid out as the OpenAPI v3
 * documents kubectl-validate reads. Given the bare file, it finds no components and silently falls
 * back to its built-ins: the "1.35-only field" case below guards against that.
 */
function schemaDir(into: string): void {
    for (const file of fs.readdirSync(K8S_SCHEMAS)) {
        const match = /^(?:(.+)__)?(v[^_]+)\.json$/.exec(file);
        if (!match) {
            continue; // served.json: an index, not a schema
        }
        const [, group, version] = match;
        const dir = group ? path.join(into, "apis", group) : path.join(into, "api");
        const { schemas } = JSON.parse(fs.readFileSync(path.join(K8S_SCHEMAS, file), "utf8")) as { schemas: Record<string, unknown> };
        assert.ok(schemas && Object.keys(schemas).length > 0, `${file}: no schemas`);
        const document = { openapi: "3.0.0", info: { title: "Kubernetes", version: "v1.35" }, paths: {}, components: { schemas } };
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `${version}.json`), JSON.stringify(document));
    }
}

/** "apiVersion/kind" → where its 1.35 schema comes from, for every kind the local schemas cover. */
function knownKinds(schemas: string): Map<string, string> {
    const known = new Map<string, string>();
    const served = JSON.parse(fs.readFileSync(path.join(K8S_SCHEMAS, "served.json"), "utf8")) as Record<string, { apiVersion: string }>;
    for (const [key, { apiVersion }] of Object.entries(served)) {
        const file = apiVersion.includes("/") ? path.join(schemas, "apis", `${apiVersion}.json`) : path.join(schemas, "api", `${apiVersion}.json`);
        if (fs.existsSync(file)) {
            known.set(key, file);
        }
    }
    for (const file of fs.readdirSync(CRDS).filter((f) => /\.ya?ml$/.test(f))) {
        for (const doc of parseAllDocuments(fs.readFileSync(path.join(CRDS, file), "utf8"))) {
            const crd = doc.toJSON() as { spec?: { group: string; names: { kind: string }; versions: { name: string; served: boolean }[] } };
            for (const version of crd?.spec?.versions.filter((v) => v.served) ?? []) {
                known.set(`${crd.spec!.group}/${version.name}/${crd.spec!.names.kind}`, path.join(CRDS, file));
            }
        }
    }
    return known;
}

interface Verdict {
    readonly status: string;
    readonly message?: string;
}

/** Runs kubectl-validate on files; returns file → "Success" or its error message. */
function validate(files: string[], schemas: string): Map<string, string> {
    // KUBECONFIG=/dev/null: kubectl-validate asks a configured cluster first; never any here.
    const result = run("kubectl-validate", ["--version", "1.30", "--local-schemas", schemas, "--local-crds", CRDS, "-o", "json", ...files], {
        env: { ...process.env, KUBECONFIG: "/dev/null" },
    });
    assert.ok(result.stdout.trimStart().startsWith("{"), `kubectl-validate printed no JSON (exit ${result.status}):\n${result.output}`);
    const report = JSON.parse(result.stdout) as Record<string, Verdict | Verdict[]>;
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
    let known = new Map<string, string>();
    before(() => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "kubectl-validate-"));
        schemas = path.join(work, "schemas");
        schemaDir(schemas);
        known = knownKinds(schemas);
    });
    after(() => fs.rmSync(work, { recursive: true, force: true }));

    it("rejects what it should (the check can fail): an unknown field, a wrong type, a missing field", () => {
        const bad = {
            "unknown-field.yaml": { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { selectr: {} } },
            "wrong-type.yaml": { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "eighty" }] } },
            "missing-required.yaml": { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { template: {} } },
            "crd-wrong-type.yaml": { apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: "x" }, spec: { addresses: "10.0.0.1/32" } },
        };
        const files = Object.entries(bad).map(([name, doc]) => {
            const file = path.join(work, name);
            fs.writeFileSync(file, stringify(doc));
            return file;
        });
        const verdicts = validate(files, schemas);
        assert.match(verdicts.get(files[0]) ?? "", /spec\.selectr/);
        assert.match(verdicts.get(files[1]) ?? "", /spec\.ports\[0\]\.port/);
        assert.match(verdicts.get(files[2]) ?? "", /spec\.selector/);
        assert.match(verdicts.get(files[3]) ?? "", /spec\.addresses/);
    });

    it("validates against 1.35, not the 1.30 built-ins: pod-level resources (PodSpec.resources, new in 1.32) pass", () => {
        const file = path.join(work, "pod-level-resources.yaml");
        const labels = { app: "x" };
        const podSpec = { resources: { limits: { cpu: "1" } }, containers: [{ name: "c", image: "registry:3.0.0" }] };
        fs.writeFileSync(
            file,
            stringify({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } } }),
        );
        assert.equal(validate([file], schemas).get(file), "Success");
    });

    it("kube-vip's static pod, as the bootstrap node (super-admin.conf) and every other control plane (admin.conf) write it, is a valid 1.35 Pod; a broken one is not", () => {
        const manifest = renderKubeVipManifest({ address: "10.0.0.50", port: 6443, interface: "eth1", image: IMAGES.kubeVip });
        const files = (["/etc/kubernetes/super-admin.conf", "/etc/kubernetes/admin.conf"] as const).map((kubeconfig, i) => {
            const file = path.join(work, `kube-vip-${i}.yaml`);
            fs.writeFileSync(file, kubeVipManifestFor(manifest, kubeconfig));
            return file;
        });
        // The same check catches a slip in it: a misspelt field.
        const broken = path.join(work, "kube-vip-broken.yaml");
        fs.writeFileSync(broken, kubeVipManifestFor(manifest, "/etc/kubernetes/admin.conf").replace("hostAliases:", "hostAlias:"));
        const verdicts = validate([...files, broken], schemas);
        assert.deepEqual(files.map((f) => verdicts.get(f)), ["Success", "Success"]);
        assert.match(verdicts.get(broken) ?? "", /hostAlias/);
    });

    // Every stack as committed, and the variants whose objects differ: Traefik as the ingress
    // controller (its Ingress objects: class traefik, no nginx annotations; insecure registry too).
    const variants: [string, string, ((raw: RawConfig) => void) | undefined][] = [
        ...listStacks().map((stack): [string, string, undefined] => [stack, stack, undefined]),
        ["lab-traefik", "lab", (raw) => (raw.ingress = { ...(raw.ingress as object), controller: "traefik" })],
        ["dev-traefik-insecure", "dev", (raw) => {
            raw.ingress = { ...(raw.ingress as object), controller: "traefik" };
            raw.registry = { ...(raw.registry as object), mode: "insecure" };
        }],
    ];
    for (const [label, stack, edit] of variants) {
        it(`${label}: every manifest validates`, async () => {
            const synthesis = await synthStack(stack, edit);
            const dir = path.join(work, label);
            fs.mkdirSync(dir);
            const files: string[] = [];
            const unknown: string[] = [];
            for (const resource of synthesis.resources) {
                const masked = manifestOf(resource);
                if (!masked) {
                    continue;
                }
                // The values the program would send (mock secrets included), not "[secret]" masks.
                const manifest = { ...(unwrapSecrets(resource.inputs) as object), apiVersion: masked.apiVersion, kind: masked.kind };
                if (!known.has(`${masked.apiVersion}/${masked.kind}`)) {
                    unknown.push(`${resource.name}: ${masked.apiVersion}/${masked.kind}`);
                }
                const file = path.join(dir, `${resource.name}.yaml`);
                fs.writeFileSync(file, stringify(manifest));
                files.push(file);
            }
            assert.ok(files.length > 0, `${stack} declares no Kubernetes objects`);
            assert.deepEqual(unknown, [], "kinds without a Kubernetes 1.35 schema here (served.json, shared CRDs)");
            const verdicts = validate(files, schemas);
            const failures = files
                .filter((f) => verdicts.get(f) !== "Success")
                .map((f) => `${path.basename(f)}: ${verdicts.get(f) ?? "not reported"}`);
            assert.deepEqual(failures, [], failures.join("\n"));
        });
    }
});
