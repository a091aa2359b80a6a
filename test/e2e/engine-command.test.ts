/**
 * command:remote:Command under the real engine (test/e2e/engine.ts) against a real sshd on
 * 127.0.0.1 (test/e2e/sshd.ts), through the same @pulumi/command SDK the program uses: what runs
 * on create, on a changed input, on a changed trigger, on removal and on destroy; stdin; secrets
 * in state; host key pinning; addPreviousOutputInEnv. The remote commands append to a log file,
 * which is the record of what ran.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { EngineStack, engineSkipReason, isSecret } from "./engine";
import { Sshd, sshdSkipReason, startSshd } from "./sshd";

const skip = engineSkipReason(["command"]) || sshdSkipReason();

interface CommandSpec {
    readonly create?: string;
    readonly update?: string;
    readonly delete?: string;
    readonly stdin?: pulumi.Input<string>;
    readonly triggers?: unknown[];
    readonly addPreviousOutputInEnv?: boolean;
    readonly logging?: "none";
    readonly secretOutput?: boolean;
    readonly hostKey?: string;
}

/** An inline program of remote commands; `spec` is read at every run, so a test edits it between runs. */
function commandsProgram(sshd: () => Sshd, spec: () => Record<string, CommandSpec>) {
    return async () => {
        const outputs: Record<string, pulumi.Output<string>> = {};
        for (const [name, c] of Object.entries(spec())) {
            const s = sshd();
            const cmd = new command.remote.Command(
                name,
                {
                    connection: {
                        host: s.host,
                        port: s.port,
                        user: s.user,
                        privateKey: pulumi.secret(s.privateKey),
                        hostKey: c.hostKey ?? s.hostKey,
                        dialErrorLimit: 1,
                        perDialTimeout: 5,
                    },
                    create: c.create,
                    update: c.update,
                    delete: c.delete,
                    stdin: c.stdin,
                    triggers: c.triggers,
                    addPreviousOutputInEnv: c.addPreviousOutputInEnv,
                    logging: c.logging,
                },
                c.secretOutput ? { additionalSecretOutputs: ["stdout", "stderr"] } : {},
            );
            outputs[name] = cmd.stdout;
        }
        return outputs;
    };
}

describe("command:remote:Command under the real engine, against a real sshd", { skip }, () => {
    let sshd: Sshd;
    let stack: EngineStack;
    let spec: Record<string, CommandSpec> = {};
    const logFile = () => path.join(sshd.scratch, "ran.log");
    const ran = () => (fs.existsSync(logFile()) ? fs.readFileSync(logFile(), "utf8").trim().split("\n") : []);
    const record = (what: string) => `echo ${what} >> ${logFile()}`;

    before(async () => {
        sshd = await startSshd({ acceptEnv: ["PULUMI_COMMAND_STDOUT", "PULUMI_COMMAND_STDERR"] });
        stack = await EngineStack.create(
            "commands",
            commandsProgram(
                () => sshd,
                () => spec,
            ),
        );
    });
    after(async () => {
        await sshd?.stop();
        stack?.remove();
    });

    it("up runs each create once, captures stdout, feeds stdin", async () => {
        spec = {
            a: { create: `${record("create-a")}; echo out-a`, delete: record("delete-a") },
            t: { create: `${record("create-t")}; echo out-t`, delete: record("delete-t"), triggers: ["one"] },
            stdin: { create: "cat", stdin: pulumi.secret("stdin-secret-value"), secretOutput: true },
            // The command's text is a plain input: the secret appears only in its output.
            secret: { create: "echo c3Rkb3V0LXNlY3JldC12YWx1ZQ== | base64 -d", secretOutput: true, logging: "none" },
            prevOff: { create: 'echo "prev=${PULUMI_COMMAND_STDOUT-unset}"', addPreviousOutputInEnv: false },
            prevOn: { create: 'echo "prev=${PULUMI_COMMAND_STDOUT-unset}"' },
        };
        const up = await stack.up();
        assert.deepEqual(ran().sort(), ["create-a", "create-t"]);
        assert.equal(up.outputs.a.value, "out-a");
        assert.equal(up.outputs.stdin.value, "stdin-secret-value");
        assert.equal(up.outputs.stdin.secret, true);
        assert.equal(up.outputs.prevOn.value, "prev=unset");
        assert.equal(up.outputs.secret.value, "stdout-secret-value");
        assert.equal(up.outputs.secret.secret, true);
    });

    it("a second up runs nothing, and preview --expect-no-changes passes", async () => {
        const up = await stack.up();
        assert.deepEqual(ran().sort(), ["create-a", "create-t"]);
        assert.equal(up.summary.resourceChanges?.update, undefined);
        await stack.expectNoChanges();
    });

    it("a changed input without an update command re-runs create, in place (no delete)", async () => {
        spec = {
            ...spec,
            a: { ...spec.a, create: `${record("create-a2")}; echo out-a2` },
            prevOff: { ...spec.prevOff, create: 'echo "prev=${PULUMI_COMMAND_STDOUT-unset} v2"' },
            prevOn: { ...spec.prevOn, create: 'echo "prev=${PULUMI_COMMAND_STDOUT-unset} v2"' },
        };
        const up = await stack.up();
        assert.deepEqual(ran().sort(), ["create-a", "create-a2", "create-t"]);
        assert.equal(up.outputs.a.value, "out-a2");
        assert.equal(up.summary.resourceChanges?.update, 3);
        // addPreviousOutputInEnv false sends nothing; by default the previous stdout arrives.
        assert.equal(up.outputs.prevOff.value, "prev=unset v2");
        assert.equal(up.outputs.prevOn.value, "prev=prev=unset v2");
    });

    it("with an update command, a changed input runs update instead", async () => {
        spec = { ...spec, a: { ...spec.a, update: record("update-a") } };
        await stack.up();
        assert.deepEqual(ran().sort(), ["create-a", "create-a2", "create-t", "update-a"]);
    });

    it("a changed trigger replaces: create of the new one, then delete of the old one", async () => {
        spec = { ...spec, t: { ...spec.t, triggers: ["two"] } };
        const preview = await stack.previewSummary();
        assert.equal(preview.replace, 1, JSON.stringify(preview));
        const before = ran().length;
        await stack.up();
        assert.deepEqual(ran().slice(before), ["create-t", "delete-t"]);
    });

    it("stack export holds no secret in plain text, ids included", async () => {
        const text = await stack.exportText();
        for (const secret of ["stdin-secret-value", "stdout-secret-value", sshd.privateKey.split("\n")[1]]) {
            assert.ok(!text.includes(secret), `stack export holds ${secret.slice(0, 12)}… in plain text`);
        }
        const resources = (await stack.resources()).filter((r) => r.type === "command:remote:Command");
        assert.equal(resources.length, 6);
        for (const r of resources) {
            assert.ok(isSecret(r.outputs?.connection), `${r.urn}: connection not secret`);
            assert.match(r.id ?? "", /^[a-zA-Z]+[0-9a-f]{8}$/, `${r.urn}: id ${r.id} is not name + 8 hex`);
        }
        const secretOut = resources.find((r) => r.urn.endsWith("::secret"));
        assert.ok(isSecret(secretOut?.outputs?.stdout), "additionalSecretOutputs: stdout not secret");
    });

    it("removing a command runs its delete", async () => {
        const { a: _removed, ...rest } = spec;
        spec = rest;
        const before = ran().length;
        await stack.up();
        assert.deepEqual(ran().slice(before), ["delete-a"]);
    });

    it("destroy runs the remaining deletes", async () => {
        const before = ran().length;
        await stack.destroy();
        assert.deepEqual(ran().slice(before), ["delete-t"]);
    });
});

describe("command:remote:Command host key pinning under the real engine", { skip }, () => {
    let sshd: Sshd;
    let stack: EngineStack;
    let hostKey = "";

    before(async () => {
        sshd = await startSshd();
        stack = await EngineStack.create(
            "hostkey",
            commandsProgram(
                () => sshd,
                () => ({ pinned: { create: `touch ${path.join(sshd.scratch, "ran")}`, hostKey } }),
            ),
        );
    });
    after(async () => {
        await sshd?.stop();
        stack?.remove();
    });

    it("refuses a host whose key is not the pinned one, and runs nothing", async () => {
        // Another server's key: an ed25519 key that is not this sshd's.
        const other = await startSshd();
        hostKey = other.hostKey;
        await other.stop();
        await assert.rejects(stack.up(), /host key mismatch|ssh: handshake failed/);
        assert.equal(fs.existsSync(path.join(sshd.scratch, "ran")), false);
    });

    it("connects with the right key", async () => {
        hostKey = sshd.hostKey;
        await stack.up();
        assert.equal(fs.existsSync(path.join(sshd.scratch, "ran")), true);
        await stack.destroy();
    });
});
