/**
 * The tls and random resources the program uses, under the real engine (test/e2e/engine.ts) with
 * the providers build-tools.sh builds: a CA → CSR → locally signed certificate chain that openssl
 * verifies, random values that stay put across runs, and state that holds no secret in plain text.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { OutputMap } from "@pulumi/pulumi/automation";
import { EngineStack, engineSkipReason, isSecret } from "./engine";

const skip = engineSkipReason(["tls", "random"]) || (spawnSync("openssl", ["version"]).error ? "openssl is missing: install Debian's openssl" : false);

/** The same shapes as components/kubeadmCluster.ts and components/registry.ts. */
function program() {
    const caKey = new tls.PrivateKey("ca-key", { algorithm: "RSA", rsaBits: 2048 });
    const ca = new tls.SelfSignedCert("ca", {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        subject: { commonName: "e2e CA" },
        validityPeriodHours: 24,
        allowedUses: ["cert_signing", "key_encipherment", "digital_signature"],
    });
    const leafKey = new tls.PrivateKey("leaf-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = new tls.CertRequest("leaf-csr", {
        privateKeyPem: leafKey.privateKeyPem,
        subject: { commonName: "registry.e2e.test", organization: "e2e" },
        dnsNames: ["registry.e2e.test"],
    });
    const leaf = new tls.LocallySignedCert("leaf", {
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: 12,
        earlyRenewalHours: 1,
        allowedUses: ["server_auth", "digital_signature", "key_encipherment"],
    });
    const hostKey = new tls.PrivateKey("host-key", { algorithm: "ED25519" });
    const derived = tls.getPublicKeyOutput({ privateKeyOpenssh: hostKey.privateKeyOpenssh });
    const password = new random.RandomPassword("password", { length: 32, special: false });
    const tokenId = new random.RandomPassword("token-id", { length: 6, upper: false, special: false, lower: true, numeric: true });
    const suffix = new random.RandomString("suffix", { length: 6, special: false, upper: false });
    const pin = new random.RandomId("pin", { byteLength: 4, keepers: { node: "cp-1" } });
    const bytes = new random.RandomBytes("bytes", { length: 32 });
    return {
        caCertPem: ca.certPem,
        leafCertPem: leaf.certPem,
        leafKeyPem: leafKey.privateKeyPem,
        caKeyPem: caKey.privateKeyPem,
        hostPublicKey: hostKey.publicKeyOpenssh,
        derivedPublicKey: derived.publicKeyOpenssh,
        password: password.result,
        bcryptHash: password.bcryptHash,
        tokenId: tokenId.result,
        suffix: suffix.result,
        pin: pin.hex,
        bytesHex: bytes.hex,
        bytesBase64: bytes.base64,
    };
}

const values = (outputs: OutputMap) => Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value as string]));

describe("tls and random under the real engine", { skip }, () => {
    let stack: EngineStack;
    let first: OutputMap;
    let dir = "";

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-tls-"));
        stack = await EngineStack.create("tls-random", async () => program());
        first = (await stack.up()).outputs;
    });
    after(async () => {
        if (stack) {
            await stack.destroy();
            stack.remove();
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("CA → CSR → locally signed certificate verifies with openssl, with the CSR's name", () => {
        fs.writeFileSync(path.join(dir, "ca.pem"), first.caCertPem.value);
        fs.writeFileSync(path.join(dir, "leaf.pem"), first.leafCertPem.value);
        const verify = spawnSync("openssl", ["verify", "-CAfile", path.join(dir, "ca.pem"), path.join(dir, "leaf.pem")], { encoding: "utf8" });
        assert.equal(verify.status, 0, verify.stdout + verify.stderr);
        const text = spawnSync("openssl", ["x509", "-noout", "-text", "-in", path.join(dir, "leaf.pem")], { encoding: "utf8" }).stdout;
        assert.match(text, /DNS:registry\.e2e\.test/);
        assert.match(text, /TLS Web Server Authentication/);
        // The certificate carries the leaf key's public half.
        fs.writeFileSync(path.join(dir, "leaf.key"), first.leafKeyPem.value);
        const certPub = spawnSync("openssl", ["x509", "-noout", "-pubkey", "-in", path.join(dir, "leaf.pem")], { encoding: "utf8" }).stdout;
        const keyPub = spawnSync("openssl", ["pkey", "-pubout", "-in", path.join(dir, "leaf.key")], { encoding: "utf8" }).stdout;
        assert.equal(certPub, keyPub);
    });

    it("getPublicKey derives the key's own public half; secrets come back as secrets", () => {
        assert.equal(first.derivedPublicKey.value, first.hostPublicKey.value);
        for (const name of ["caKeyPem", "leafKeyPem", "password", "bcryptHash", "tokenId", "bytesHex"]) {
            assert.equal(first[name].secret, true, `${name} is not secret`);
        }
        assert.match(first.password.value, /^[A-Za-z0-9]{32}$/);
        assert.match(first.tokenId.value, /^[a-z0-9]{6}$/);
        assert.match(first.suffix.value, /^[a-z0-9]{6}$/);
        assert.match(first.pin.value, /^[0-9a-f]{8}$/);
    });

    it("a second up changes nothing and keeps every value; preview --expect-no-changes passes", async () => {
        const again = await stack.up();
        assert.deepEqual(values(again.outputs), values(first));
        assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"]);
        await stack.expectNoChanges();
    });

    it("stack export holds no secret in plain text, ids included (RandomBytes aside, see below)", async () => {
        const text = await stack.exportText();
        assert.doesNotMatch(text, /PRIVATE KEY/);
        for (const name of ["password", "bcryptHash", "tokenId", "bytesHex"]) {
            assert.ok(!text.includes(first[name].value), `stack export holds ${name} in plain text`);
        }
        const resources = await stack.resources();
        const byType = (t: string) => resources.filter((r) => r.type === t);
        for (const r of byType("tls:index/privateKey:PrivateKey")) {
            assert.ok(isSecret(r.outputs?.privateKeyPem), `${r.urn}: privateKeyPem not secret`);
        }
        for (const r of byType("random:index/randomPassword:RandomPassword")) {
            assert.equal(r.id, "none", "RandomPassword's id is upstream's constant");
            assert.ok(isSecret(r.outputs?.result) && isSecret(r.outputs?.bcryptHash));
        }
    });

    it("RandomBytes's id is its base64 value (pulumi-random's computeRandomBytesID): never use it for a secret", async () => {
        const resources = await stack.resources();
        const bytes = resources.find((r) => r.type === "random:index/randomBytes:RandomBytes");
        assert.equal(bytes?.id, first.bytesBase64.value);
        assert.ok(isSecret(bytes?.outputs?.base64));
    });
});

