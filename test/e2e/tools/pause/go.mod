// The e2e tier's own pod sandbox (pause) program: test/e2e/kube-vip-kubelet.test.ts puts it in the
// image containerd is configured to start every pod's sandbox from (no image can be pulled here).
module k8s-platform.test/e2e/tools/pause

go 1.25.0
