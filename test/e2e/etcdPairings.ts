/**
 * What the etcd tests (etcd-backup.test.ts, etcd-member.test.ts) share: each Kubernetes minor's
 * pairing of the etcd its kubeadm runs (KUBEADM_IMAGES[minor].etcd) with the etcdctl/etcdutl the
 * program installs on its control planes (ETCD_TOOLS[minor]), by the names build-tools.sh gives
 * them; a PATH directory with them under their plain names; kubeadm's etcd PKI.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ETCD_TOOLS, KUBEADM_IMAGES } from "../../config/versions";
import { onPath, skipUnless } from "./tools";

export interface EtcdPairing {
    readonly minor: string;
    readonly etcd: string;
    readonly etcdctl: string;
    readonly etcdutl: string;
}

/** 1.35: etcd v3.6.6 with tools of the same release; 1.37: etcd v3.7.0 with v3.6.14's tools. */
export const ETCD_PAIRINGS: readonly EtcdPairing[] = [
    { minor: "1.35", etcd: "etcd", etcdctl: "etcdctl", etcdutl: "etcdutl" },
    { minor: "1.37", etcd: "etcd-1.37", etcdctl: "etcdctl-1.37", etcdutl: "etcdutl-1.37" },
];

export function skipForPairing(p: EtcdPairing): string | false {
    return skipUnless(p.etcd) || skipUnless(p.etcdctl) || skipUnless(p.etcdutl) || skipUnless("openssl");
}

/** A new directory with the pairing's binaries under the names the scripts and kubeadm use. */
export function pairingBin(p: EtcdPairing): string {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-etcd-${p.minor}-bin-`));
    for (const [name, built] of [["etcd", p.etcd], ["etcdctl", p.etcdctl], ["etcdutl", p.etcdutl]]) {
        fs.symlinkSync(onPath(built)!, path.join(bin, name));
    }
    return bin;
}

/** Asserts that `bin` runs the minor's etcd and the program's tools for it (config/versions.ts). */
export function assertPairingVersions(p: EtcdPairing, bin: string): void {
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const out = (tool: string, args: string[]) => {
        const r = spawnSync(tool, args, { encoding: "utf8", env });
        assert.equal(r.status, 0, `${tool} ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
    };
    const literal = (v: string) => v.replace(/\./g, "\\.");
    assert.match(out("etcd", ["--version"]), new RegExp(`^etcd Version: ${literal(KUBEADM_IMAGES[p.minor].etcd.replace(/-\d+$/, ""))}$`, "m"));
    for (const tool of ["etcdctl", "etcdutl"]) {
        assert.match(out(tool, ["version"]), new RegExp(`^${tool} version: ${literal(ETCD_TOOLS[p.minor].version.replace(/^v/, ""))}$`, "m"));
    }
}

/** kubeadm's etcd CA, a server/peer certificate for 127.0.0.1 (CN `serverName`) and its healthcheck client. */
export function makeEtcdPki(dir: string, serverName: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const o = (args: string[]) => {
        const r = spawnSync("openssl", args, { encoding: "utf8", cwd: dir });
        assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
    };
    o(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=etcd-ca", "-days", "2"]);
    const leaf = (name: string, cn: string, ext: string) => {
        fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
        o(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
        o(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`]);
    };
    leaf("server", serverName, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
    leaf("healthcheck-client", "kube-etcd-healthcheck-client", "extendedKeyUsage=clientAuth\n");
}
