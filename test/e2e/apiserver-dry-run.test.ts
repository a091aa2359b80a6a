/**
 * Every Kubernetes object every stack declares, sent to a real kube-apiserver 1.35 (with etcd, on
 * loopback) as a server-side apply with dryRun=All and fieldValidation=Strict: the API server's own
 * decoding, defaulting, validation and admission, beyond what an OpenAPI schema can say (e.g. a
 * Service port range, selector/label agreement, immutable-field rules). The MetalLB CRDs from
 * ../shared/schemas/crds are installed first, so their objects are checked too.
 *
 * Pod Security admission is on, as in a real cluster (the PodSecurity plugin is enabled by
 * default): the program's namespaces are created with their own labels, and each workload's pod
 * template is also sent as a Pod (dry-run), which the namespace's enforced level admits or refuses
 * (a Deployment itself is only warned about, never refused).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { listStacks, unwrapSecrets } from "../../tools/mockRuntime";
import { manifestOf } from "../../tools/synth";
import { RawConfig, synthStack } from "../helpers";
import { ApiServer } from "./apiserver";
import { onPath, SHARED_SCHEMAS } from "./tools";

const CRDS = path.join(SHARED_SCHEMAS, "crds");
const SERVED = path.join(SHARED_SCHEMAS, "k8s-1.35", "served.json");
const missing = ["kube-apiserver", "etcd", "openssl"].filter((t) => !onPath(t));
const skip =
    missing.length > 0
        ? `not on PATH: ${missing.join(", ")} (npm run test:e2e builds them with test/e2e/build-tools.sh)`
        : fs.existsSync(SERVED)
          ? false
          : `no ${SERVED}`;

interface Kind {
    readonly resource: string;
    readonly namespaced: boolean;
}

type Manifest = {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec: unknown } };
};

/** The Pod a workload's controller would create from its template. */
const podOf = (m: Manifest): Manifest => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${m.metadata.name}-pod`, namespace: m.metadata.namespace, labels: m.spec!.template!.metadata?.labels },
    spec: m.spec!.template!.spec as Manifest["spec"],
});
const WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet", "Job"];

describe("server-side dry-run apply on a real kube-apiserver 1.35", { skip }, () => {
    let api: ApiServer;
    const kinds = new Map<string, Kind>();

    const apply = (m: Manifest) => {
        const kind = kinds.get(`${m.apiVersion}/${m.kind}`);
        assert.ok(kind, `${m.apiVersion}/${m.kind} is neither served by Kubernetes 1.35 nor a shared CRD`);
        const base = m.apiVersion.includes("/") ? `/apis/${m.apiVersion}` : `/api/${m.apiVersion}`;
        const scope = kind.namespaced ? `/namespaces/${m.metadata.namespace ?? "default"}` : "";
        if (m.kind === "Pod") {
            // Created (dry-run), not applied: Pod Security admission judges pod creation.
            return api.request("POST", `${base}${scope}/${kind.resource}?dryRun=All&fieldValidation=Strict`, m);
        }
        const query = "dryRun=All&fieldManager=k8s-platform-e2e&fieldValidation=Strict&force=true";
        return api.request("PATCH", `${base}${scope}/${kind.resource}/${m.metadata.name}?${query}`, m, "application/apply-patch+yaml");
    };
    const message = (body: string) => {
        try {
            return (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
            return body;
        }
    };

    before(async () => {
        for (const [key, v] of Object.entries(JSON.parse(fs.readFileSync(SERVED, "utf8")) as Record<string, Kind>)) {
            kinds.set(key, { resource: v.resource, namespaced: v.namespaced });
        }
        api = await ApiServer.start();
        for (const file of fs.existsSync(CRDS) ? fs.readdirSync(CRDS).filter((f) => /\.ya?ml$/.test(f)) : []) {
            for (const doc of parseAllDocuments(fs.readFileSync(path.join(CRDS, file), "utf8"))) {
                const crd = doc.toJSON() as { spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean }[] } };
                const created = await api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
                assert.equal(created.status, 201, message(created.body));
                for (const v of crd.spec.versions.filter((x) => x.served)) {
                    kinds.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, { resource: crd.spec.names.plural, namespaced: crd.spec.scope === "Namespaced" });
                }
            }
        }
        // A CRD serves once Established; its group's discovery answers then.
        for (const group of new Set([...kinds.keys()].filter((k) => k.startsWith("metallb.io/")).map((k) => k.split("/").slice(0, 2).join("/")))) {
            for (let i = 0; i < 60 && (await api.request("GET", `/apis/${group}`)).status !== 200; i++) {
                await new Promise((r) => setTimeout(r, 500));
            }
        }
    });
    after(async () => api?.stop());

    /** The namespace's "default" ServiceAccount, which kube-controller-manager (not run here) makes:
     * without it the ServiceAccount admission plugin refuses every pod before Pod Security sees it. */
    const defaultServiceAccount = async (ns: string) => {
        const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: ns } };
        const created = await api.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, sa);
        assert.ok([201, 409].includes(created.status), message(created.body));
    };

    it("Pod Security admission is in force: a baseline namespace refuses an added capability, a restricted one a pod that may escalate", async () => {
        for (const level of ["baseline", "restricted"]) {
            const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: `psa-${level}`, labels: { "pod-security.kubernetes.io/enforce": level } } };
            const created = await api.request("POST", "/api/v1/namespaces", ns);
            assert.ok([201, 409].includes(created.status), message(created.body));
            await defaultServiceAccount(`psa-${level}`);
        }
        const pod = (ns: string, securityContext: object) => ({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "p", namespace: ns },
            spec: { containers: [{ name: "c", image: "x:1", securityContext }] },
        });
        const post = (ns: string, securityContext: object) => api.request("POST", `/api/v1/namespaces/${ns}/pods?dryRun=All`, pod(ns, securityContext));
        const netAdmin = await post("psa-baseline", { capabilities: { add: ["NET_ADMIN"] } });
        assert.equal(netAdmin.status, 403, netAdmin.body);
        assert.match(message(netAdmin.body), /violates PodSecurity "baseline:latest": non-default capabilities/);
        const plain = await post("psa-restricted", {});
        assert.equal(plain.status, 403, plain.body);
        assert.match(message(plain.body), /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
        // What the program's own containers declare passes restricted when non-root.
        const hardened = await post("psa-restricted", { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } });
        assert.equal(hardened.status, 201, hardened.body);
    });

    it("rejects what it should (the check can fail): an unknown field, a port out of range", async () => {
        const unknown = await apply({ apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: 80 }], selectr: {} } } as Manifest);
        // Server-side apply answers an undeclared field with 500 "failed to create typed patch object".
        assert.ok(unknown.status >= 400, unknown.body);
        assert.match(message(unknown.body), /spec\.selectr: field not declared in schema/);
        const range = await apply({ apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: 70000 }] } } as Manifest);
        assert.equal(range.status, 422, range.body);
        assert.match(message(range.body), /spec\.ports\[0\]\.port/);
    });

    // Every committed stack, and lab with Traefik as the ingress controller (its Ingress objects).
    const variants: [string, string, ((raw: RawConfig) => void) | undefined][] = [
        ...listStacks().map((stack): [string, string, undefined] => [stack, stack, undefined]),
        ["lab-traefik", "lab", (raw) => (raw.ingress = { ...(raw.ingress as object), controller: "traefik" })],
    ];
    for (const [label, stack, edit] of variants) {
        it(`${label}: every object is accepted`, async () => {
            const synthesis = await synthStack(stack, edit);
            const manifests: { name: string; manifest: Manifest }[] = [];
            for (const resource of synthesis.resources) {
                const masked = manifestOf(resource);
                if (masked) {
                    // The values the program sends (mock secrets included), not "[secret]" masks.
                    const manifest = { ...(unwrapSecrets(resource.inputs) as object), apiVersion: masked.apiVersion, kind: masked.kind } as Manifest;
                    manifests.push({ name: resource.name, manifest });
                }
            }
            assert.ok(manifests.length > 0, `${stack} declares no Kubernetes objects`);
            // Namespaces really exist before their objects (a dry-run creates nothing), with the
            // program's own labels (Pod Security levels) where it declares them. Replaced when
            // there already (another stack's run), so this stack's labels are in force.
            for (const ns of new Set(manifests.map((m) => m.manifest.metadata.namespace).filter((n): n is string => !!n))) {
                const declared = manifests.find((m) => m.manifest.kind === "Namespace" && m.manifest.metadata.name === ns)?.manifest;
                const body = { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: declared?.metadata.labels ?? {} } };
                const created = await api.request("POST", "/api/v1/namespaces", body);
                if (created.status === 409) {
                    const applied = await api.request("PATCH", `/api/v1/namespaces/${ns}?fieldManager=k8s-platform-e2e&force=true`, body, "application/apply-patch+yaml");
                    assert.equal(applied.status, 200, message(applied.body));
                } else {
                    assert.equal(created.status, 201, message(created.body));
                }
                await defaultServiceAccount(ns);
            }
            for (const { name, manifest } of manifests.filter((m) => WORKLOADS.includes(m.manifest.kind))) {
                manifests.push({ name: `${name} (its pod)`, manifest: podOf(manifest) });
            }
            const failures: string[] = [];
            for (const { name, manifest } of manifests) {
                const result = await apply(manifest);
                if (result.status !== 200 && result.status !== 201) {
                    failures.push(`${name} (${manifest.kind}): ${result.status} ${message(result.body)}`);
                }
            }
            assert.deepEqual(failures, [], failures.join("\n"));
        });
    }
});
