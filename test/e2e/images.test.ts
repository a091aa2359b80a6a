/**
 * `npm run images` lists kubeadm's images from config/versions.ts KUBEADM_IMAGES: the real kubeadm
 * (built from k8s.io/kubernetes by build-tools.sh) must print the same list for its version.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { kubeadmImages } from "../../tools/images";
import { run, skipUnless } from "./tools";

describe("kubeadm's image list", { skip: skipUnless("kubeadm") }, () => {
    it("is what `kubeadm config images list` prints for the version kubeadm was built at", () => {
        const version = run("kubeadm", ["version", "-o", "short"]).stdout.trim().replace(/^v/, "");
        const real = run("kubeadm", ["config", "images", "list", "--kubernetes-version", `v${version}`]);
        assert.equal(real.status, 0, real.output);
        assert.deepEqual(kubeadmImages(version).map((l) => l.image), real.stdout.trim().split("\n"));
    });
});
