import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";

// A local command whose output goes into state: proves the command provider runs and is stable
// on re-run (no triggers, so `preview --expect-no-changes` must pass).
const hello = new command.local.Command("hello", { create: "echo e2e-smoke" });

// A generated private key: the tls provider marks privateKeyPem secret; the test checks that
// `pulumi stack export` holds it only encrypted.
const key = new tls.PrivateKey("key", { algorithm: "ED25519" });

export const helloStdout = hello.stdout;
export const publicKey = key.publicKeyOpenssh;
