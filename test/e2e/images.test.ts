/**
 * `npm run images` lists kubeadm's images from config/versions.ts KUBEADM_IMAGES: the real kubeadm
 * of each supported minor (built from k8s.io/kubernetes by build-tools.sh) must print the same list
 * for its version. (kubeadm-config.test.ts checks the same on the program's rendered init configs.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SUPPORTED_KUBERNETES_MINORS } from "../../config";
import { kubeadmImages } from "../../tools/images";
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
    });
}
