import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { writeSynthesis } from "../tools/synth";
import { synthStack } from "./helpers";

const ROOT = path.resolve(__dirname, "..");

describe("offline synthesis (npm run synth)", () => {
    it("writes resources, per-node commands, manifests, charts and masked outputs", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
        writeSynthesis("dev", await synthStack("dev"), out);
        const resources = fs.readFileSync(path.join(out, "resources.txt"), "utf8");
        assert.match(resources, /^command:remote:Command\s+cluster-test-node1-join\s+cluster-test-node1$/m);
        assert.match(resources, /^vsphere:index\/virtualMachine:VirtualMachine\s+vms-test-master\s+vms$/m);
        const join = fs.readFileSync(path.join(out, "commands", "cluster-test-node1-join.sh"), "utf8");
        assert.match(join, /^# cluster-test-node1-join: runs on root@192\.168\.111\.172:22$/m);
        assert.match(join, /^# standard input: \[secret\]$/m);
        assert.match(join, /^# output: kept in state and logged$/m);
        const init = fs.readFileSync(path.join(out, "commands", "cluster-init.sh"), "utf8");
        assert.match(init, /^# output: secret in state, not logged$/m, "the init's output (it printed the token) is secret");
        assert.match(fs.readFileSync(path.join(out, "commands", "cluster-test-node1-membership.sh"), "utf8"), /^# on create: nothing/m);
        assert.match(join, /^export NODE_NAME='test-node1'$/m);
        assert.match(fs.readFileSync(path.join(out, "commands", "cluster-test-node1-membership.delete.sh"), "utf8"), /^export ACTION='drain'$/m);
        const ns = parseYaml(fs.readFileSync(path.join(out, "manifests", "flannel-namespace.yaml"), "utf8"));
        assert.equal(ns.apiVersion, "v1");
        assert.equal(ns.kind, "Namespace");
        assert.equal(ns.metadata.name, "kube-flannel");
        assert.equal(parseYaml(fs.readFileSync(path.join(out, "charts", "flannel-chart.yaml"), "utf8")).values.podCidr, "10.244.0.0/16");
        const outputs = JSON.parse(fs.readFileSync(path.join(out, "outputs.json"), "utf8"));
        assert.equal(outputs.kubeconfig, "[secret]");
        assert.equal(outputs.apiEndpoint, "https://192.168.111.169:6443");
    });

    it("synthesizes every committed stack", async () => {
        for (const stack of ["dev", "lab", "azure", "aks"]) {
            const out = fs.mkdtempSync(path.join(os.tmpdir(), `synth-${stack}-`));
            writeSynthesis(stack, await synthStack(stack), out);
            const outputs = JSON.parse(fs.readFileSync(path.join(out, "outputs.json"), "utf8"));
            assert.equal(outputs.kubeconfig, "[secret]", stack);
            assert.ok(fs.readFileSync(path.join(out, "resources.txt"), "utf8").split("\n").length > 20, stack);
        }
    });

    it("runs from the command line for a stack, and explains its usage without one", () => {
        const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
        // --no-charts: rendering charts needs Helm built from its Go module (minutes, once); the
        // e2e tier covers it (test/e2e/helm-render.test.ts).
        const ok = spawnSync(tsx, ["tools/synth.ts", "lab", "--no-charts"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(ok.status, 0, ok.stderr);
        assert.match(ok.stdout, /^lab: \d+ resources \(\d+ remote commands\) written to out\/lab\/$/m);
        assert.ok(fs.existsSync(path.join(ROOT, "out", "lab", "commands", "cluster-init.sh")));
        const usage = spawnSync(tsx, ["tools/synth.ts"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(usage.status, 2);
        assert.match(usage.stderr, /usage: npm run synth -- <stack> \[--no-charts\] +\(stacks: aks, azure, dev, lab\)/);
        const unknown = spawnSync(tsx, ["tools/synth.ts", "nope"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(unknown.status, 1);
        assert.match(unknown.stderr, /no stack file Pulumi\.nope\.yaml; stacks: aks, azure, dev, lab/);
    });
});

describe("shellcheck", () => {
    it("passes on every node script", () => {
        const scripts = fs.readdirSync(path.join(ROOT, "scripts")).filter((f) => f.endsWith(".sh")).map((f) => path.join("scripts", f));
        assert.ok(scripts.length >= 7);
        execFileSync("shellcheck", ["-x", "-P", "SCRIPTDIR/..", ...scripts], { cwd: ROOT, stdio: "pipe" });
    });

    it("passes on every rendered remote command (what actually runs over SSH)", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "synth-"));
        writeSynthesis("lab", await synthStack("lab"), out);
        const files = fs.readdirSync(path.join(out, "commands")).map((f) => path.join(out, "commands", f));
        execFileSync("shellcheck", ["-s", "sh", ...files], { stdio: "pipe" });
    });

    it("does fail on a broken script (the check is live)", () => {
        const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sc-")), "bad.sh");
        fs.writeFileSync(bad, "#!/usr/bin/env bash\nrm -rf $DIR/*\n");
        assert.throws(() => execFileSync("shellcheck", [bad], { stdio: "pipe" }));
    });
});
