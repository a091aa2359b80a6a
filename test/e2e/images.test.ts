/**
 * `npm run images` lists kubeadm's images from config/versions.ts KUBEADM_IMAGES: the real kubeadm
 * of each supported minor (built from k8s.io/kubernetes by build-tools.sh) must print the same list
 * for its version, and, with an `images` mirror, the same list for the ClusterConfiguration the
 * program renders. (kubeadm-config.test.ts checks the same on the program's rendered init configs.)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { KUBEADM_IMAGES, SUPPORTED_KUBERNETES_MINORS } from "../../config";
import { kubeadmImages, kubeadmRepositoriesOf } from "../../tools/images";
import { envOf, named, synthStack } from "../helpers";
import { KUBEADM_TOOLS, run, skipUnless } from "./tools";

for (const minor of SUPPORTED_KUBERNETES_MINORS) {
    const kubeadm = KUBEADM_TOOLS[minor];
    describe(`kubeadm ${minor}'s image list (${kubeadm})`, { skip: skipUnless(kubeadm) }, () => {
        it("is what `kubeadm config images list` prints for the version kubeadm was built at", () => {
            const version = run(kubeadm, ["version", "-o", "short"]).stdout.trim().replace(/^v/, "");
            assert.match(version, new RegExp(`^${minor.replace(".", "\\.")}\\.\\d+$`));
            const real = run(kubeadm, ["config", "images", "list", "--kubernetes-version", `v${version}`]);
            assert.equal(real.status, 0, real.output);
            assert.deepEqual(kubeadmImages(version).map((l) => l.image), real.stdout.trim().split("\n"));
        });

        it("with images.registry: what kubeadm lists for the rendered init configuration, every image under the mirror", async () => {
            const version = run(kubeadm, ["version", "-o", "short"]).stdout.trim().replace(/^v/, "");
            const s = await synthStack("lab", (raw) => {
                raw.images = { registry: "harbor.example.com/mirror" };
                raw.kubernetes = { ...(raw.kubernetes as object), version };
            });
            const config = envOf(named(s, "cluster-init"), "KUBEADM_CONFIG")!
                .replaceAll("@BOOTSTRAP_TOKEN@", "abcdef.0123456789abcdef")
                .replaceAll("@CERTIFICATE_KEY@", "0".repeat(63) + "1")
                .replaceAll("@KUBERNETES_VERSION@", `v${version}`);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-images-"));
            try {
                fs.writeFileSync(path.join(dir, "init.yaml"), config);
                const real = run(kubeadm, ["config", "images", "list", "--config", path.join(dir, "init.yaml")]);
                assert.equal(real.status, 0, real.output);
                const listed = kubeadmImages(version, kubeadmRepositoriesOf(s)).map((l) => l.image);
                assert.deepEqual(listed, real.stdout.trim().split("\n"));
                assert.ok(listed.every((i) => i.startsWith("harbor.example.com/mirror/")), listed.join("\n"));
                assert.ok(listed.includes(`harbor.example.com/mirror/coredns/coredns:${KUBEADM_IMAGES[minor].coredns}`), "CoreDNS keeps registry.k8s.io's layout");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
}
