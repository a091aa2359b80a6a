/**
 * A control-plane host's kubelet and container runtime, for real: the kubelet (k8s.io/kubernetes
 * v1.35.4, test/e2e/tools/kubelet), containerd v2.2.0 with its runc shim and ctr
 * (test/e2e/tools/containerd), Debian's runc. They run in the host's network namespace (one of
 * kubeVipHosts.ts), in a mount and pid namespace of their own:
 *  - /etc, /var/lib and /var/log are overlays over the machine's (the writes land in the node's
 *    directory), /run a tmpfs; so /etc/kubernetes/manifests/kube-vip.yaml and
 *    /etc/kubernetes/admin.conf are at the paths the program writes and the manifest mounts, and
 *    what the kubelet and containerd write at fixed paths (/var/lib/kubelet/device-plugins,
 *    /var/log/containers, /run/containerd/runc) stays in the node;
 *  - everything else they write is under the node's directory (containerd's root, state and
 *    socket, the kubelet's root dir, pod logs);
 *  - the pid namespace's init is the shell that starts them: SIGKILL to `unshare --kill-child`
 *    ends it, and the kernel kills every process of the namespace with it (kubelet, containerd,
 *    shims, containers), whose mounts go with the mount namespace;
 *  - the pods' cgroups are under the kubelet's cgroupRoot, /<namespace name>, in every cgroup
 *    hierarchy (this machine: v1 controllers, and an empty cgroup2 at /sys/fs/cgroup/unified where
 *    runc puts the same paths); stop() removes that tree in each.
 * No image is pulled: the test imports the images it builds (oci-image) with `ctr images import`.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Cluster, TOKEN, ns, sh, sleep } from "./kubeVipHosts";
import { onPath } from "./tools";

/** The machine's cgroup hierarchies of `types` (mount points), from /proc/self/mounts. */
function cgroupMounts(...types: ("cgroup" | "cgroup2")[]): string[] {
    return fs
        .readFileSync("/proc/self/mounts", "utf8")
        .split("\n")
        .map((line) => line.split(" "))
        .filter((f) => (types as string[]).includes(f[2]))
        .map((f) => f[1]);
}

/** Removes a cgroup directory tree, deepest first (a cgroup directory is removed with rmdir only). */
function removeCgroupTree(dir: string): void {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) removeCgroupTree(path.join(dir, entry.name));
    }
    fs.rmdirSync(dir);
}

/**
 * The node's script, run as its pid namespace's init: the overlays, containerd, the images, the
 * kubelet. $1 is the node's directory, $2 the kubelet's flags file.
 */
const NODE_SCRIPT = `set -eu
d="$1"
for dir in /etc /var/lib /var/log; do
  name=$(echo "$dir" | tr / _)
  mkdir -p "$d/overlay/$name.upper" "$d/overlay/$name.work"
  [ ! -d "$d/seed/$name" ] || cp -a "$d/seed/$name/." "$d/overlay/$name.upper/"
  mount -t overlay overlay -o "lowerdir=$dir,upperdir=$d/overlay/$name.upper,workdir=$d/overlay/$name.work" "$dir"
done
mount -t tmpfs tmpfs /run
echo "starting containerd"
containerd --config "$d/containerd.toml" >"$d/containerd.log" 2>&1 &
i=0
until [ -S "$d/containerd.sock" ]; do
  i=$((i + 1)); [ "$i" -le 60 ] || { echo "containerd did not open its socket in 60 s"; exit 1; }
  sleep 1
done
for image in "$d"/images/*.tar; do
  echo "importing $image"
  ctr -a "$d/containerd.sock" -n k8s.io images import "$image"
done
echo "starting the kubelet"
kubelet $(cat "$2") >"$d/kubelet.log" 2>&1 &
wait
`;

export interface KubeletNodeFiles {
    /** Image archives to import (into containerd's k8s.io namespace, the CRI's). */
    readonly images: string[];
    /** The sandbox (pause) image's name, containerd's pinned sandbox image. */
    readonly sandboxImage: string;
    /** Files of the node's /etc at start: path under /etc → content. */
    readonly etc: Record<string, string>;
}

export class KubeletNode {
    readonly dir: string;
    /** The kubelet's cgroupRoot: the pods' cgroups go under it, in every hierarchy. */
    readonly cgroupRoot: string;
    private proc?: ChildProcess;

    constructor(
        private readonly cluster: Cluster,
        readonly host: { name: string; ip: string },
    ) {
        this.dir = path.join(cluster.dir, `node-${host.name}`);
        this.cgroupRoot = `/${ns(host.name)}`;
    }

    get socket(): string {
        return path.join(this.dir, "containerd.sock");
    }

    /** Writes the node's configuration and starts containerd and the kubelet. */
    start(files: KubeletNodeFiles): void {
        const d = this.dir;
        fs.mkdirSync(path.join(d, "images"), { recursive: true });
        for (const image of files.images) fs.copyFileSync(image, path.join(d, "images", path.basename(image)));
        for (const [file, content] of Object.entries(files.etc)) {
            const target = path.join(d, "seed", "_etc", file);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.writeFileSync(target, content, { mode: 0o600 });
        }
        fs.writeFileSync(path.join(d, "containerd.toml"), this.containerdConfig(files.sandboxImage));
        fs.writeFileSync(path.join(d, "kubelet.yaml"), this.kubeletConfig());
        fs.writeFileSync(path.join(d, "kubelet.conf"), this.kubeletKubeconfig(), { mode: 0o600 });
        fs.writeFileSync(
            path.join(d, "kubelet.flags"),
            [`--config=${d}/kubelet.yaml`, `--kubeconfig=${d}/kubelet.conf`, `--root-dir=${d}/kubelet`, `--cert-dir=${d}/kubelet/pki`,
                `--hostname-override=${this.host.name}`, `--node-ip=${this.host.ip}`].join("\n"),
        );
        // The kubelet only checks that cgroupRoot exists in every hierarchy (pkg/kubelet/cm/
        // container_manager_linux.go NewContainerManager: "we need to check that the cgroup root
        // actually exists for each subsystem"); it creates the pods' cgroups below it.
        for (const mount of cgroupMounts("cgroup")) fs.mkdirSync(path.join(mount, this.cgroupRoot), { recursive: true });
        const out = fs.openSync(path.join(d, "node.log"), "a");
        // nsenter joins the host's network namespace and execs unshare (no fork): this child is unshare.
        this.proc = spawn(
            onPath("nsenter")!,
            [`--net=/run/netns/${ns(this.host.name)}`, onPath("unshare")!, "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
                "sh", "-c", NODE_SCRIPT, "node", d, path.join(d, "kubelet.flags")],
            { stdio: ["ignore", out, out], env: { PATH: process.env.PATH, HOME: "/root" } },
        );
        fs.closeSync(out);
    }

    /**
     * containerd 2.x's CRI configuration (version 3, the program's own in scripts/prepare-node.sh,
     * with what this machine needs in place of the host's):
     *  - everything under the node's directory (root, state, socket, the opt plugin's path);
     *  - the sandbox image pinned as the program pins it (`pinned_images.sandbox`);
     *  - SystemdCgroup = false: no systemd runs here, so the kubelet's cgroupDriver is cgroupfs too
     *    (the program sets both to systemd on real hosts);
     *  - restrict_oom_score_adj = true: this machine's bounding set lacks CAP_SYS_RESOURCE, so no
     *    process here may lower its oom_score_adj; runc 1.1.5 does that for every container
     *    (libcontainer/nsenter/nsexec.c update_oom_score_adj: `bail("failed to update
     *    /proc/self/oom_score_adj")`, seen as "runc create failed: unable to start container
     *    process: can't get final child's PID from pipe: EOF"). The option limits the score to
     *    containerd's own (internal/cri/config/config.go RestrictOOMScoreAdj: "useful when the
     *    containerd does not have permission to decrease OOMScoreAdj");
     *  - NRI off (its socket is at a fixed path under /var/run).
     * No CNI: hostNetwork sandboxes set up no pod network (internal/cri/server/sandbox_run.go
     * "Setup the network namespace if host networking wasn't requested"), and the kubelet syncs a
     * hostNetwork pod while the runtime's network is not ready (pkg/kubelet/kubelet.go SyncPod:
     * `if err := kl.runtimeState.networkErrors(); err != nil && !kubecontainer.IsHostNetworkPod(pod)`).
     */
    private containerdConfig(sandboxImage: string): string {
        const d = this.dir;
        return `version = 3
root = "${d}/containerd/root"
state = "${d}/containerd/state"

[grpc]
  address = "${d}/containerd.sock"

[plugins.'io.containerd.internal.v1.opt']
  path = "${d}/containerd/opt"

[plugins.'io.containerd.nri.v1.nri']
  disable = true

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = false

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = '${sandboxImage}'
`;
    }

    /**
     * The KubeletConfiguration: staticPodPath where kubeadm has it (the program's manifest path);
     * failCgroupV1 false, the only way a 1.35 kubelet starts on a cgroup v1 host
     * (pkg/kubelet/apis/config/validation/validation_linux.go: `if kc.FailCgroupV1 && isCgroup1`
     * → "kubelet is configured to not run on a host using cgroup v1"; v1beta1/defaults.go defaults
     * it to true); its servers on loopback (of the host's namespace); image garbage collection off
     * (the imported images cannot be pulled again); paths it would take outside under the node's
     * directory.
     */
    private kubeletConfig(): string {
        const d = this.dir;
        return [
            "apiVersion: kubelet.config.k8s.io/v1beta1",
            "kind: KubeletConfiguration",
            "failCgroupV1: false",
            "cgroupDriver: cgroupfs",
            `cgroupRoot: ${this.cgroupRoot}`,
            `containerRuntimeEndpoint: unix://${d}/containerd.sock`,
            "staticPodPath: /etc/kubernetes/manifests",
            "address: 127.0.0.1",
            "healthzBindAddress: 127.0.0.1",
            "readOnlyPort: 0",
            "authentication: {anonymous: {enabled: false}, webhook: {enabled: false}}",
            "authorization: {mode: AlwaysAllow}",
            "failSwapOn: false",
            "imageGCHighThresholdPercent: 100",
            "imageGCLowThresholdPercent: 99",
            `podLogsDir: ${d}/pod-logs`,
            `volumePluginDir: ${d}/volume-plugins`,
            "",
        ].join("\n");
    }

    /** The kubelet talks to its own host's API server (a system:masters token: test credentials). */
    private kubeletKubeconfig(): string {
        const ca = fs.readFileSync(path.join(this.cluster.dir, "ca.crt")).toString("base64");
        return [
            "apiVersion: v1", "kind: Config",
            "clusters:", "- name: local", "  cluster:", "    server: https://127.0.0.1:6443", `    certificate-authority-data: ${ca}`,
            "users:", "- name: kubelet", "  user:", `    token: ${TOKEN}`,
            "contexts:", "- name: kubelet", "  context: {cluster: local, user: kubelet}",
            "current-context: kubelet", "",
        ].join("\n");
    }

    /** ctr against this node's containerd, in the CRI's namespace. */
    ctr(...args: string[]): string {
        return sh(onPath("ctr")!, ["-a", this.socket, "-n", "k8s.io", ...args]);
    }

    /** The node's init (the shell in its pid namespace), as seen from here. */
    private initPid(): number {
        assert.ok(this.proc?.pid, "node not started");
        const children = fs.readFileSync(`/proc/${this.proc.pid}/task/${this.proc.pid}/children`, "utf8").trim().split(/\s+/);
        assert.ok(children[0], "the node's init is gone");
        return Number(children[0]);
    }

    /** Runs a command in the node's mount namespace (where its /etc overlay is). */
    inNode(cmd: string, args: string[], input?: string): string {
        return sh(onPath("nsenter")!, ["-t", String(this.initPid()), "-m", "--", cmd, ...args], { input });
    }

    log(name: "kubelet" | "containerd" | "node"): string {
        const file = path.join(this.dir, `${name}.log`);
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    }

    /**
     * Ends every process of the node (SIGKILL to unshare: util-linux's unshare ignores SIGTERM
     * while it waits for its child, and --kill-child sends the child SIGKILL), then removes the
     * pods' cgroups, retrying while the killed processes leave them (at most 30 s).
     */
    async stop(): Promise<void> {
        const proc = this.proc;
        if (proc && proc.exitCode === null && proc.signalCode === null) {
            const exited = new Promise((r) => proc.once("exit", r));
            proc.kill("SIGKILL");
            await exited;
        }
        const left: string[] = [];
        // The cgroup2 mount too: on this hybrid host runc also makes each container's cgroup in
        // the (controller-less) unified hierarchy, under the same path.
        for (const mount of cgroupMounts("cgroup", "cgroup2")) {
            const root = path.join(mount, this.cgroupRoot);
            let lastError: unknown;
            for (let i = 0; i < 30 && fs.existsSync(root); i++) {
                try {
                    removeCgroupTree(root);
                } catch (e) {
                    lastError = e;
                    await sleep(1000);
                }
            }
            if (fs.existsSync(root)) left.push(`${root}: ${lastError}`);
        }
        assert.deepEqual(left, [], "cgroups left behind");
    }
}
