// The e2e tier's own OCI image archive writer (Go standard library only): test/e2e/kube-vip-kubelet.test.ts
// builds the kube-vip and pause images from binaries built here and imports them into containerd
// with `ctr images import` (no image can be pulled here).
module k8s-platform.test/e2e/tools/oci-image

go 1.25.0
