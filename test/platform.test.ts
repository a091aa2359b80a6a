import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { containsSecret, DeclaredResource, Synthesis } from "../tools/mockRuntime";
import { renderHaproxyConfig } from "../components/render/haproxy";
import { byType, commands, envOf, Manifest, manifests, named, scriptOf, synthStack, validateManifest } from "./helpers";

const find = (ms: Manifest[], kind: string, namespace: string | undefined, name: string) =>
    ms.find((m) => m.kind === kind && m.metadata.name === name && (m.metadata.namespace ?? undefined) === namespace);
const validate = validateManifest;

const CUSTOM_RESOURCES = new Set(["metallb.io/v1beta1"]);

for (const stack of ["dev", "lab"]) {
    describe(`${stack} stack: the platform`, () => {
        let s: Synthesis;
        let ms: Manifest[];
        before(async () => {
            s = await synthStack(stack);
            ms = manifests(s);
        });

        it("declares objects that all validate against the Kubernetes OpenAPI schema", async () => {
            const builtIn = ms.filter((m) => !CUSTOM_RESOURCES.has(m.apiVersion));
            assert.ok(builtIn.length >= 15, `only ${builtIn.length} objects`);
            for (const m of builtIn) {
                await assert.doesNotReject(validate(m), `${m.kind} ${m.metadata.namespace ?? ""}/${m.metadata.name}`);
            }
        });

        it("the schema check is live: a broken object is refused", async () => {
            const deployment = structuredClone(ms.find((m) => m.kind === "Deployment")!);
            deployment.spec.replicas = "three";
            await assert.rejects(validate(deployment), /replicas must be integer/);
        });

        it("routes every Ingress to a Service and port that exist", () => {
            const ingresses = ms.filter((m) => m.kind === "Ingress");
            assert.deepEqual(ingresses.map((i) => i.spec.rules[0].host).sort(), ["registry.localtest.com", "share-storage.localtest.com"]);
            for (const ing of ingresses) {
                assert.equal(ing.spec.ingressClassName, "nginx");
                for (const rule of ing.spec.rules) {
                    for (const p of rule.http.paths) {
                        const svc = find(ms, "Service", ing.metadata.namespace, p.backend.service.name);
                        assert.ok(svc, `${ing.metadata.name}: no Service ${p.backend.service.name}`);
                        assert.ok(svc.spec.ports.some((port: { port: number }) => port.port === p.backend.service.port.number), `${ing.metadata.name}: port ${p.backend.service.port.number}`);
                    }
                }
            }
        });

        it("selects pods with every Service, on a port the pods expose", () => {
            for (const svc of ms.filter((m) => m.kind === "Service")) {
                const matching = ms.filter(
                    (m) =>
                        m.kind === "Deployment" &&
                        m.metadata.namespace === svc.metadata.namespace &&
                        Object.entries(svc.spec.selector).every(([k, v]) => m.spec.template.metadata.labels[k] === v),
                );
                assert.equal(matching.length, 1, `Service ${svc.metadata.name} selects ${matching.length} Deployments`);
                const ports = matching[0].spec.template.spec.containers.flatMap((c: any) => c.ports.map((p: any) => p.name));
                for (const port of svc.spec.ports) {
                    assert.ok(ports.includes(port.targetPort), `${svc.metadata.name} → ${port.targetPort}`);
                }
                assert.deepEqual(matching[0].spec.selector.matchLabels, svc.spec.selector);
            }
        });

        it("binds each claim to its own NFS volume, and keeps the data when either goes", () => {
            const claims = ms.filter((m) => m.kind === "PersistentVolumeClaim");
            assert.equal(claims.length, 2);
            for (const pvc of claims) {
                const pv = find(ms, "PersistentVolume", undefined, pvc.spec.volumeName)!;
                assert.ok(pv, `${pvc.metadata.name}: no volume ${pvc.spec.volumeName}`);
                assert.deepEqual(pv.spec.claimRef, { namespace: pvc.metadata.namespace, name: pvc.metadata.name });
                assert.equal(pv.spec.storageClassName, "");
                assert.equal(pvc.spec.storageClassName, "");
                assert.deepEqual(pv.spec.accessModes, ["ReadWriteMany"]);
                assert.deepEqual(pvc.spec.accessModes, pv.spec.accessModes);
                assert.equal(pv.spec.capacity.storage, pvc.spec.resources.requests.storage);
                assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
            }
            const registryPv = ms.find((m) => m.kind === "PersistentVolume" && m.spec.nfs.path.endsWith("/docker_registry"))!;
            const appPv = ms.find((m) => m.kind === "PersistentVolume" && m.spec.nfs.path.endsWith("/test_service"))!;
            assert.equal(registryPv.spec.capacity.storage, "10Gi");
            assert.equal(appPv.spec.capacity.storage, "1Gi");
        });

        it("mounts each claim in the pods that use it", () => {
            for (const d of ms.filter((m) => m.kind === "Deployment")) {
                for (const v of d.spec.template.spec.volumes.filter((v: any) => v.persistentVolumeClaim)) {
                    assert.ok(find(ms, "PersistentVolumeClaim", d.metadata.namespace, v.persistentVolumeClaim.claimName), `${d.metadata.name}: ${v.persistentVolumeClaim.claimName}`);
                }
            }
        });

        it("autoscales the test app: the HPA's target exists and requests CPU", () => {
            const hpa = ms.find((m) => m.kind === "HorizontalPodAutoscaler")!;
            assert.equal(hpa.apiVersion, "autoscaling/v2");
            assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 30]);
            assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 50);
            const target = find(ms, hpa.spec.scaleTargetRef.kind, hpa.metadata.namespace, hpa.spec.scaleTargetRef.name)!;
            assert.ok(target);
            for (const c of target.spec.template.spec.containers) {
                assert.ok(c.resources.requests.cpu, `${c.name} requests CPU`);
                assert.ok(c.resources.limits.cpu, `${c.name} has a CPU limit`);
            }
            const metrics = byType(s, "kubernetes:helm.sh/v4:Chart").find((c) => c.inputs.chart === "metrics-server")!;
            assert.deepEqual((metrics.inputs.values as any).args, ["--kubelet-insecure-tls"]);
        });

        it("serves the seed's test page from the shared volume, with probes and a pinned image", () => {
            const tomcat = find(ms, "Deployment", "test-app", "tomcat")!;
            const page = find(ms, "ConfigMap", "test-app", "tomcat-test-page")!;
            for (const field of ["getId()", "getCreationTime()", "getLastAccessedTime()", "isNew()", "getMaxInactiveInterval()", "getRemoteAddr()", "getLocalAddr()", "getLocalPort()"]) {
                assert.ok(page.data["test.jsp"].includes(field), field);
            }
            const [init] = tomcat.spec.template.spec.initContainers;
            assert.match(init.command.join(" "), /cp \/page\/test\.jsp \/webapps\/ROOT\/test\.jsp/);
            const [container] = tomcat.spec.template.spec.containers;
            assert.deepEqual(container.volumeMounts[0], { name: "webapps", mountPath: "/usr/local/tomcat/webapps" });
            // Probes must not hit test.jsp: every request there opens a session that lives 30 minutes.
            const probePath = container.readinessProbe.httpGet.path;
            assert.notEqual(probePath, "/test.jsp");
            assert.ok(init.command.join(" ").includes(`/webapps/ROOT${probePath}`), "the init container places the probed file");
            assert.ok(container.livenessProbe);
            for (const d of ms.filter((m) => m.kind === "Deployment")) {
                for (const c of [...d.spec.template.spec.containers, ...(d.spec.template.spec.initContainers ?? [])]) {
                    assert.match(c.image, /:[0-9][^:]*$/, `${c.image} is pinned`);
                    assert.doesNotMatch(c.image, /:latest$/);
                }
            }
        });

        it("runs a TLS registry with htpasswd auth, unlimited body size and a pull secret for the app", () => {
            const ing = find(ms, "Ingress", "registry", "registry")!;
            assert.equal(ing.metadata.annotations!["nginx.ingress.kubernetes.io/proxy-body-size"], "0");
            assert.deepEqual(ing.spec.tls, [{ hosts: ["registry.localtest.com"], secretName: "registry-tls" }]);
            const registry = find(ms, "Deployment", "registry", "registry")!;
            assert.match(registry.spec.template.spec.containers[0].image, /^registry:3\./);
            const env = Object.fromEntries(registry.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
            assert.equal(env.REGISTRY_AUTH, "htpasswd");
            const pull = find(ms, "Secret", "test-app", "registry-credentials")!;
            assert.equal((pull as any).type, "kubernetes.io/dockerconfigjson");
            assert.ok(JSON.parse((pull as any).stringData[".dockerconfigjson"]).auths["registry.localtest.com"]);
            const tomcat = find(ms, "Deployment", "test-app", "tomcat")!;
            assert.deepEqual(tomcat.spec.template.spec.imagePullSecrets, [{ name: "registry-credentials" }]);
            assert.ok(containsSecret(named(s, `platform-registry-pull-secret-0`).inputs.stringData), "the pull secret's data is a Pulumi secret");
            assert.ok(containsSecret(named(s, `platform-registry-htpasswd`).inputs.stringData), "the htpasswd is a Pulumi secret");
            assert.equal(s.outputs.registryCredentials.secret, true);
        });

        it("makes every node trust the registry and resolve it to the ingress address", () => {
            const trust = commands(s).filter((c) => scriptOf(c) === "registry-trust");
            assert.equal(trust.length, 4);
            for (const c of trust) {
                assert.equal(envOf(c, "REGISTRY_HOST"), "registry.localtest.com");
                assert.equal(envOf(c, "REGISTRY_MODE"), "tls");
                assert.match(envOf(c, "REGISTRY_CA")!, /^-----BEGIN CERTIFICATE-----/);
            }
            const blocks = commands(s).filter((c) => scriptOf(c) === "hosts-block");
            assert.equal(blocks.length, 4);
            for (const c of blocks) {
                assert.ok(envOf(c, "HOSTS_LINES")!.split("\n").includes(`${s.outputs.ingressAddress.value}\tregistry.localtest.com`), c.name);
            }
        });

        it("exports the ingress address, URLs and hosts lines for the platform's names", () => {
            const address = String(s.outputs.ingressAddress.value);
            assert.match(String(s.outputs.hostsFile.value), new RegExp(`^${address.replace(/\./g, "\\.")}\\tregistry\\.localtest\\.com share-storage\\.localtest\\.com$`, "m"));
            assert.deepEqual(s.outputs.urls.value, { testApp: "http://share-storage.localtest.com/test.jsp", registry: "https://registry.localtest.com" });
        });
    });
}

describe("lab: MetalLB in front of ingress (seed 002)", () => {
    let s: Synthesis;
    before(async () => {
        s = await synthStack("lab");
    });

    it("gives the controller a LoadBalancer Service with the pool's first address", () => {
        const chart = byType(s, "kubernetes:helm.sh/v4:Chart").find((c) => c.inputs.chart === "ingress-nginx")!;
        const service = (chart.inputs.values as any).controller.service;
        assert.equal(service.type, "LoadBalancer");
        assert.equal(service.annotations["metallb.io/loadBalancerIPs"], "192.168.1.11");
        assert.equal(s.outputs.ingressAddress.value, "192.168.1.11");
    });

    it("declares the pool and L2 advertisement after the chart (its webhook), namespace privileged", () => {
        const pool = named(s, "platform-metallb-pool");
        assert.deepEqual((pool.inputs.spec as any).addresses, ["192.168.1.11-192.168.1.13"]);
        assert.deepEqual(pool.dependsOn, ["platform-metallb-chart"]);
        assert.deepEqual(named(s, "platform-metallb-l2").dependsOn, ["platform-metallb-chart"]);
        assert.equal((named(s, "platform-metallb-namespace").inputs.metadata as any).labels["pod-security.kubernetes.io/enforce"], "privileged");
    });

    it("serves NFS from m-k8s at /nfs_shared to the node network only, after its node preparation", () => {
        const nfs = commands(s).find((c) => scriptOf(c) === "nfs-server")!;
        assert.equal(envOf(nfs, "EXPORT_PATH"), "/nfs_shared");
        assert.equal(envOf(nfs, "EXPORT_NETWORK"), "192.168.1.0/24");
        assert.equal(envOf(nfs, "VOLUME_DIRS"), "docker_registry test_service");
        assert.deepEqual(nfs.dependsOn, ["cluster-m-k8s-prepare"]);
        assert.equal(commands(s).filter((c) => scriptOf(c) === "haproxy").length, 0);
    });
});

describe("dev: HAProxy on test-master (seed 000 §13)", () => {
    let s: Synthesis;
    let config: string;
    before(async () => {
        s = await synthStack("dev");
        config = envOf(commands(s).find((c) => scriptOf(c) === "haproxy")!, "HAPROXY_CONFIG")!;
    });

    it("drops root: user and group haproxy in global (issue #8, 13)", () => {
        const global = config.split(/\n(?=\S)/).find((b) => b.startsWith("global\n"))!;
        assert.match(global, /\n {4}user haproxy\n/);
        assert.match(global, /\n {4}group haproxy\n/);
    });

    it("runs on test-master with a config haproxy -c accepts", () => {
        const cmd = commands(s).find((c) => scriptOf(c) === "haproxy")!;
        assert.deepEqual(cmd.dependsOn, ["cluster-test-master-prepare"]);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-")), "haproxy.cfg");
        fs.writeFileSync(file, config);
        execFileSync("haproxy", ["-c", "-f", file], { stdio: "pipe" });
    });

    it("sends 80 to the HTTP node port and 443 (TCP, TLS passed through) to the HTTPS one, on every worker", () => {
        const backend = (name: string) => config.split(/\n(?=\S)/).find((b) => b.startsWith(`backend ${name}\n`))!;
        assert.match(config, /frontend http-in\n {4}bind \*:80\n[\s\S]*?default_backend ingress-http/);
        assert.match(config, /frontend https-in\n {4}bind \*:443\n {4}mode tcp\n[\s\S]*?default_backend ingress-https/);
        for (const [name, ip] of [["test-node1", "192.168.111.172"], ["test-node2", "192.168.111.173"], ["test-node3", "192.168.111.170"]]) {
            assert.match(backend("ingress-http"), new RegExp(`server ${name} ${ip}:30080 check`));
            assert.match(backend("ingress-https"), new RegExp(`server ${name} ${ip}:30443 check`));
        }
        assert.match(backend("ingress-http"), /balance roundrobin/);
        assert.match(backend("ingress-https"), /mode tcp/);
        assert.doesNotMatch(config, /6443/, "one control plane: the API is not behind HAProxy");
        const chart = byType(s, "kubernetes:helm.sh/v4:Chart").find((c) => c.inputs.chart === "ingress-nginx")!;
        assert.deepEqual((chart.inputs.values as any).controller.service.nodePorts, { http: 30080, https: 30443 });
        assert.equal((chart.inputs.values as any).controller.service.type, "NodePort");
    });

    it("fronts the API servers when there are several control planes", () => {
        const ha = renderHaproxyConfig({
            httpNodePort: 30080,
            httpsNodePort: 30443,
            workers: [{ name: "w1", ip: "10.0.0.11" }],
            apiServers: [{ name: "m1", ip: "10.0.0.1" }, { name: "m2", ip: "10.0.0.2" }, { name: "m3", ip: "10.0.0.3" }],
        });
        assert.match(ha, /frontend kube-apiserver\n {4}bind \*:6443\n {4}mode tcp/);
        assert.match(ha, /server m3 10\.0\.0\.3:6443 check/);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-")), "haproxy.cfg");
        fs.writeFileSync(file, ha);
        execFileSync("haproxy", ["-c", "-f", file], { stdio: "pipe" });
    });

    it("haproxy -c really checks: a broken config is refused", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-")), "haproxy.cfg");
        fs.writeFileSync(file, config.replace("balance roundrobin", "balance sideways"));
        assert.throws(() => execFileSync("haproxy", ["-c", "-f", file], { stdio: "pipe" }));
    });

    it("keeps the storage VM (and the share's data) when the stack is destroyed", () => {
        const storageVm = named(s, "vms-test-storage1");
        assert.equal(storageVm.inputs.numCpus, 1);
        const nfs = commands(s).find((c) => scriptOf(c) === "nfs-server")!;
        assert.equal(envOf(nfs, "EXPORT_PATH"), "/share_storage");
        assert.equal(envOf(nfs, "EXPORT_NETWORK"), "192.168.111.0/24");
        assert.deepEqual(nfs.dependsOn, ["vms-test-storage1"]);
        assert.equal(nfs.inputs.delete, undefined, "removing the NFS server never deletes files");
    });
});

/** Names of the resources under `root` (itself included), following parents. */
function subtree(s: Synthesis, root: string): Set<string> {
    const names = new Set([root]);
    let grew = true;
    while (grew) {
        grew = false;
        for (const r of s.resources) {
            if (r.parent && names.has(r.parent) && !names.has(r.name)) {
                names.add(r.name);
                grew = true;
            }
        }
    }
    return names;
}

function removedBy(base: Synthesis, after: Synthesis): Set<string> {
    return new Set(base.resources.filter((r: DeclaredResource) => !after.resources.some((x) => x.name === r.name)).map((r) => r.name));
}

describe("switching an add-on off removes exactly its resources", () => {
    const cases: [string, string, (raw: any) => void, string[]][] = [
        ["lab", "MetalLB", (raw) => (raw.metallb = { enabled: false }), ["platform-metallb"]],
        ["dev", "HAProxy", (raw) => (raw.haproxy = { enabled: false }), ["lb"]],
        ["lab", "the registry", (raw) => (raw.registry = { enabled: false }), ["platform-registry", "registry-trust"]],
        ["lab", "metrics-server and the HPA", (raw) => { raw.metricsServer = { enabled: false }; raw.autoscaling = { enabled: false }; }, ["platform-metrics-server", "platform-test-app-hpa"]],
    ];
    for (const [stack, addon, edit, roots] of cases) {
        it(`${stack}: ${addon}`, async () => {
            const base = await synthStack(stack);
            const off = await synthStack(stack, edit);
            const expected = new Set(roots.flatMap((root) => [...subtree(base, root)]));
            assert.ok(expected.size > 1);
            assert.deepEqual([...removedBy(base, off)].sort(), [...expected].sort());
            assert.equal(off.resources.filter((r) => !base.resources.some((x) => x.name === r.name)).length, 0, "nothing new appears");
        });
    }
});

describe("registry insecure mode (seed 000's way, opt-in)", () => {
    it("serves plain HTTP without auth and tells containerd so", async () => {
        const s = await synthStack("lab", (raw: any) => (raw.registry = { mode: "insecure" }));
        const ms = manifests(s);
        const ing = find(ms, "Ingress", "registry", "registry")!;
        assert.equal(ing.spec.tls, undefined);
        assert.equal(ing.metadata.annotations!["nginx.ingress.kubernetes.io/ssl-redirect"], "false");
        assert.equal(ing.metadata.annotations!["nginx.ingress.kubernetes.io/proxy-body-size"], "0");
        assert.ok(!ms.some((m) => m.kind === "Secret" && m.metadata.namespace === "registry"), "no TLS or htpasswd secret");
        const env = find(ms, "Deployment", "registry", "registry")!.spec.template.spec.containers[0].env;
        assert.deepEqual(env, []);
        const trust = commands(s).filter((c) => scriptOf(c) === "registry-trust");
        assert.ok(trust.every((c) => envOf(c, "REGISTRY_MODE") === "insecure" && envOf(c, "REGISTRY_CA") === undefined));
        assert.equal((s.outputs.urls.value as any).registry, "http://registry.localtest.com");
        assert.equal(s.outputs.registryCredentials.value, undefined);
    });
});
