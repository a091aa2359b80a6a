import { configKey as k, duplicates, Problems } from "../errors";
import { cidrContains, ipToNumber, isIpv4, networkAddress, parseCidr, parseIpRange, rangeContains } from "../net";
import { HostRef, NodeRole, Raw, show } from "../schema";
import { AddonHost, DEFAULT_SIZES, HostSpec, KubernetesConfig, MachineSize, NodeSpec } from "../types";

/** The machines of a stack: cluster nodes and the add-on hosts, each checked on its own and together. */
export interface Topology {
    /** Control planes first, in config order. */
    readonly nodes: NodeSpec[];
    readonly controlPlanes: NodeSpec[];
    /** Every machine the program reaches: nodes, then dedicated add-on hosts. */
    readonly hosts: HostSpec[];
    readonly haproxyHost?: AddonHost;
    readonly nfsHost?: AddonHost;
    /** With several control planes HAProxy fronts the API server (and is the endpoint). */
    readonly haproxyFrontsApi: boolean;
    /** host:port of the API server ("" on AKS). */
    readonly controlPlaneEndpoint: string;
    /** What answers at the endpoint (see KubernetesConfig.endpointMode). */
    readonly endpointMode: KubernetesConfig["endpointMode"];
    /** kube-vip's VIP and interface, in mode "kube-vip". */
    readonly kubeVip?: KubernetesConfig["kubeVip"];
    /** The control plane that runs `kubeadm init` ("" on AKS). */
    readonly bootstrapNode: string;
}

/** SSH user of machines that name none: Azure VMs are created with the admin user (root logins are off there). */
export function defaultSshUser(raw: Raw): string {
    return raw.infra.provider === "azure" && raw.infra.azure ? raw.infra.azure.adminUser : raw.ssh.user;
}

export function resolveTopology(raw: Raw, problems: Problems): Topology {
    const provider = raw.infra.provider;
    const managed = provider === "aks";
    const defaultUser = defaultSshUser(raw);
    const nodes = resolveNodes(raw, defaultUser);
    const controlPlanes = nodes.filter((n) => n.role === "control-plane");
    if (managed) {
        // No kubeadm nodes to check.
    } else if (controlPlanes.length === 0) {
        problems.push(`${k("nodes")}: needs at least one node with role "control-plane" (got ${nodes.length} node(s), none control-plane)`);
    }
    // An even count of control planes is checked against the recorded ones (config/controlPlanes.ts):
    // refused for a new stack, allowed on the way down (replacing a control plane whose host is gone).
    if (!managed && controlPlanes.length > 0 && controlPlanes.length === nodes.length) {
        // kubeadm init and join --control-plane taint every control plane
        // node-role.kubernetes.io/control-plane:NoSchedule (kubeadm's mark-control-plane phase), and
        // the platform's pods (ingress, registry, test app, metrics-server, MetalLB) tolerate none.
        problems.push(
            `${k("nodes")}: no node with role "worker" (got ${nodes.length} control-plane node(s)); kubeadm taints control planes ` +
                `node-role.kubernetes.io/control-plane:NoSchedule, so no platform pod would schedule: add a node with role "worker"`,
        );
    }

    const hosts: HostSpec[] = [...nodes];
    const hostKeys = new Map<HostSpec, string>(nodes.map((n, i) => [n, k(`nodes[${i}].ip`)]));
    const addonHost = (key: "haproxy" | "nfs", ref: HostRef | undefined, sizeDefault: MachineSize): AddonHost | undefined => {
        const resolved = resolveAddonHost(raw, key, ref, sizeDefault, nodes, defaultUser, problems);
        if (resolved?.kind === "dedicated" && !hosts.some((h) => h.name === resolved.host.name)) {
            hosts.push(resolved.host);
            hostKeys.set(resolved.host, k(`${key}.host.ip`));
        }
        return resolved;
    };
    const vsphereSizes = raw.infra.vsphere;
    const lbSize = { ...DEFAULT_SIZES.loadBalancer, ...stripUndefined(vsphereSizes?.loadBalancerSize) };
    const storageSize = { ...DEFAULT_SIZES.storage, ...stripUndefined(vsphereSizes?.storageSize) };
    const haproxyHost = raw.haproxy.enabled ? addonHost("haproxy", raw.haproxy.host, lbSize) : undefined;
    const nfsHost = raw.nfs.enabled ? addonHost("nfs", raw.nfs.host, storageSize) : undefined;

    checkHosts(raw, hosts, hostKeys, problems);
    const haproxyFrontsApi = frontsApiServer(raw, controlPlanes, haproxyHost);
    const endpoint = resolveEndpoint(raw, controlPlanes, haproxyHost, haproxyFrontsApi, problems);
    if (endpoint.kubeVip) {
        checkKubeVipAddress(raw, hosts, endpoint.kubeVip.address, problems);
    }
    return {
        nodes: [...controlPlanes, ...nodes.filter((n) => n.role === "worker")],
        controlPlanes,
        hosts,
        haproxyHost,
        nfsHost,
        haproxyFrontsApi,
        ...endpoint,
        bootstrapNode: resolveBootstrapNode(raw, controlPlanes, problems),
    };
}

/**
 * The control plane that runs `kubeadm init`: named by kubernetes.bootstrapNode, or the first
 * control plane in the list. The cluster component pins it in state (see KubeadmCluster), so
 * re-ordering nodes later never moves init to another machine.
 */
function resolveBootstrapNode(raw: Raw, controlPlanes: NodeSpec[], problems: Problems): string {
    const named = raw.kubernetes.bootstrapNode;
    if (raw.infra.provider === "aks") {
        if (named) {
            problems.push(`${k("kubernetes.bootstrapNode")}: AKS has no kubeadm bootstrap node; remove the key`);
        }
        return "";
    }
    if (named && !controlPlanes.some((n) => n.name === named)) {
        problems.push(
            `${k("kubernetes.bootstrapNode")}: ${show(named)} is not a control-plane node (control planes: ${controlPlanes.map((n) => n.name).join(", ") || "none"})`,
        );
    }
    return named ?? controlPlanes[0]?.name ?? "";
}

function resolveNodes(raw: Raw, defaultUser: string): NodeSpec[] {
    const vsphereSizes = raw.infra.vsphere;
    const sizeFor = (role: NodeRole, node: { cpus?: number; memoryMb?: number; diskGb?: number }): MachineSize => {
        const roleDefault = role === "control-plane" ? DEFAULT_SIZES.controlPlane : DEFAULT_SIZES.worker;
        const roleConfig = role === "control-plane" ? vsphereSizes?.controlPlaneSize : vsphereSizes?.workerSize;
        return {
            cpus: node.cpus ?? roleConfig?.cpus ?? roleDefault.cpus,
            memoryMb: node.memoryMb ?? roleConfig?.memoryMb ?? roleDefault.memoryMb,
            diskGb: node.diskGb ?? roleConfig?.diskGb ?? roleDefault.diskGb,
        };
    };
    return raw.nodes.map((n) => ({
        name: n.name,
        ip: n.ip,
        role: n.role,
        sshUser: n.sshUser ?? defaultUser,
        sshPort: n.sshPort ?? raw.ssh.port,
        ...(n.hostKey ? { hostKey: n.hostKey } : {}),
        size: sizeFor(n.role, n),
    }));
}

/** An add-on's host: a cluster node by name, or a machine of its own (created on vSphere or existing). */
function resolveAddonHost(
    raw: Raw,
    key: "haproxy" | "nfs",
    ref: HostRef | undefined,
    sizeDefault: MachineSize,
    nodes: NodeSpec[],
    defaultUser: string,
    problems: Problems,
): AddonHost | undefined {
    if (!ref) {
        problems.push(`${k(`${key}.host`)}: is required when ${key}.enabled is true ({node: "<cluster node>"} or {name, ip})`);
        return undefined;
    }
    if ("node" in ref) {
        const node = nodes.find((n) => n.name === ref.node);
        if (!node) {
            problems.push(`${k(`${key}.host.node`)}: ${show(ref.node)} is not a node in k8s-platform:nodes (nodes: ${nodes.map((n) => n.name).join(", ")})`);
            return undefined;
        }
        return { kind: "node", host: node };
    }
    const host: HostSpec = {
        name: ref.name,
        ip: ref.ip,
        sshUser: ref.sshUser ?? defaultUser,
        sshPort: raw.ssh.port,
        ...(ref.hostKey ? { hostKey: ref.hostKey } : {}),
        size: { cpus: ref.cpus ?? sizeDefault.cpus, memoryMb: ref.memoryMb ?? sizeDefault.memoryMb, diskGb: ref.diskGb ?? sizeDefault.diskGb },
    };
    const provider = raw.infra.provider;
    const provision = ref.provision ?? (provider === "vsphere" ? "vm" : "existing");
    if (provision === "vm" && provider !== "vsphere") {
        problems.push(`${k(`${key}.host.provision`)}: "vm" needs infra.provider "vsphere" (got ${show(provider)}); use "existing"`);
    }
    return { kind: "dedicated", host, provision };
}

/** Every machine: inside the node network, unique IPs and names, clear of the gateway. */
function checkHosts(raw: Raw, hosts: HostSpec[], hostKeys: Map<HostSpec, string>, problems: Problems): void {
    const nodeNet = parseCidr(raw.network.cidr)!;
    hosts.forEach((h) => {
        if (!cidrContains(nodeNet, h.ip)) {
            problems.push(`${hostKeys.get(h)}: IP ${show(h.ip)} of ${h.name} is outside network.cidr ${nodeNet.text}`);
        }
    });
    if (raw.infra.provider === "azure") {
        // Azure keeps the first four addresses and the last one of every subnet.
        const first = ipToNumber(networkAddress(nodeNet));
        const last = first + 2 ** (32 - nodeNet.prefix) - 1;
        hosts.filter((h) => isIpv4(h.ip) && (ipToNumber(h.ip) < first + 4 || ipToNumber(h.ip) === last)).forEach((h) =>
            problems.push(`${hostKeys.get(h)}: ${h.ip} is reserved by Azure in ${nodeNet.text} (the first four addresses and the last); pick another`),
        );
    }
    duplicates(hosts.map((h) => h.ip)).forEach((ip) =>
        problems.push(`${k("nodes")}: IP ${ip} is used by more than one host (${hosts.filter((h) => h.ip === ip).map((h) => h.name).join(", ")}); every host needs its own`),
    );
    duplicates(hosts.map((h) => h.name)).forEach((name) =>
        problems.push(`${k("nodes")}: host name ${show(name)} is used more than once; host names must be unique`),
    );
    if (raw.network.gateway && hosts.some((h) => h.ip === raw.network.gateway)) {
        problems.push(`${k("network.gateway")}: ${raw.network.gateway} is also a host's IP`);
    }
}

/** The endpoint key as written: a "host[:port]" string, or the {mode, …} form. */
type EndpointKey = Raw["kubernetes"]["controlPlaneEndpoint"];

/**
 * HAProxy fronts the API server on :6443 with several control planes, and also with one when
 * kubernetes.controlPlaneEndpoint names the HAProxy host (or is {mode: "haproxy"}): the stable
 * endpoint from the first `up` that lets control planes be added later without moving the
 * endpoint kubeadm init recorded. With kube-vip the control planes hold the endpoint themselves.
 */
function frontsApiServer(raw: Raw, controlPlanes: NodeSpec[], haproxyHost: AddonHost | undefined): boolean {
    const key: EndpointKey = raw.kubernetes.controlPlaneEndpoint;
    if (!haproxyHost || (typeof key === "object" && key.mode === "kube-vip")) {
        return false;
    }
    if (typeof key === "object") {
        return true;
    }
    const endpointHost = key?.replace(/:\d+$/, "");
    return controlPlanes.length > 1 || (endpointHost !== undefined && [haproxyHost.host.ip, haproxyHost.host.name].includes(endpointHost));
}

/** Control-plane endpoint: one control plane → its own address; several → a load balancer or kube-vip's VIP. */
function resolveEndpoint(
    raw: Raw,
    controlPlanes: NodeSpec[],
    haproxyHost: AddonHost | undefined,
    haproxyFrontsApi: boolean,
    problems: Problems,
): Pick<Topology, "controlPlaneEndpoint" | "endpointMode" | "kubeVip"> {
    const key: EndpointKey = raw.kubernetes.controlPlaneEndpoint;
    if (haproxyHost && haproxyFrontsApi && haproxyHost.kind === "node") {
        problems.push(
            `${k("haproxy.host")}: with ${controlPlanes.length > 1 ? `${controlPlanes.length} control-plane nodes` : "kubernetes.controlPlaneEndpoint naming it"} HAProxy fronts the API server on :6443 ` +
                `and must answer before kubeadm init; give it a host of its own ({name, ip}) instead of node ${haproxyHost.host.name}`,
        );
    }
    if (typeof key === "object") {
        return endpointOfMode(raw, key, haproxyHost, problems);
    }
    if (key) {
        const withPort = /:\d+$/.test(key) ? key : `${key}:6443`;
        const namesHaproxy = haproxyFrontsApi && haproxyHost !== undefined && [haproxyHost.host.ip, haproxyHost.host.name].includes(key.replace(/:\d+$/, ""));
        return { controlPlaneEndpoint: withPort, endpointMode: namesHaproxy ? "haproxy" : "external" };
    }
    if (raw.infra.provider === "aks") {
        return { controlPlaneEndpoint: "", endpointMode: "external" };
    }
    if (controlPlanes.length === 1) {
        return { controlPlaneEndpoint: `${controlPlanes[0].ip}:6443`, endpointMode: "node" };
    }
    if (haproxyFrontsApi && haproxyHost) {
        return { controlPlaneEndpoint: `${haproxyHost.host.ip}:6443`, endpointMode: "haproxy" };
    }
    if (controlPlanes.length > 1) {
        problems.push(
            `${k("kubernetes.controlPlaneEndpoint")}: is required with ${controlPlanes.length} control-plane nodes: ` +
                `{mode: "kube-vip", address: "<free IP in network.cidr>"} (a virtual IP the control planes hold), ` +
                `an L4 load balancer address in front of them, or enable haproxy on a host that is not a control plane`,
        );
    }
    return { controlPlaneEndpoint: "", endpointMode: "node" };
}

/** The {mode, …} form: "haproxy" needs the HAProxy host; "kube-vip" a VIP on a kubeadm provider with layer 2. */
function endpointOfMode(
    raw: Raw,
    key: Exclude<EndpointKey, string | undefined>,
    haproxyHost: AddonHost | undefined,
    problems: Problems,
): Pick<Topology, "controlPlaneEndpoint" | "endpointMode" | "kubeVip"> {
    const where = k("kubernetes.controlPlaneEndpoint");
    if (key.mode === "haproxy") {
        for (const extra of ["address", "interface"] as const) {
            if (key[extra] !== undefined) {
                problems.push(`${where}.${extra}: ${show(key[extra])} is not allowed with mode "haproxy" (the endpoint is the HAProxy host); remove it, or use mode "kube-vip"`);
            }
        }
        if (!haproxyHost) {
            problems.push(`${where}.mode: "haproxy" needs haproxy.enabled: true with haproxy.host: {name, ip} (a host of its own); or use mode "kube-vip"`);
            return { controlPlaneEndpoint: "", endpointMode: "haproxy" };
        }
        return { controlPlaneEndpoint: `${haproxyHost.host.ip}:6443`, endpointMode: "haproxy" };
    }
    const provider = raw.infra.provider;
    if (provider !== "vsphere" && provider !== "existing") {
        problems.push(
            `${where}.mode: "kube-vip" is not allowed with infra.provider ${show(provider)}; allowed: vsphere, existing. ` +
                (provider === "azure"
                    ? "An Azure virtual network delivers only the addresses it assigned to a NIC, so a VIP announced by ARP is unreachable: use an external load balancer's address as kubernetes.controlPlaneEndpoint"
                    : "AKS runs its own API endpoint"),
        );
    }
    if (!key.address) {
        problems.push(`${where}.address: is required with mode "kube-vip" (a free IPv4 address in network.cidr that no machine uses, e.g. the one before MetalLB's pool)`);
        return { controlPlaneEndpoint: "", endpointMode: "kube-vip" };
    }
    return {
        controlPlaneEndpoint: `${key.address}:6443`,
        endpointMode: "kube-vip",
        kubeVip: { address: key.address, ...(key.interface ? { interface: key.interface } : {}) },
    };
}

/**
 * kube-vip's address answers ARP on the node network for whichever control plane holds it: it must
 * be in network.cidr, and no machine, the gateway, the network or broadcast address nor MetalLB's
 * pool (whose speakers answer ARP for their own addresses) may have it.
 */
export function checkKubeVipAddress(raw: Raw, hosts: HostSpec[], address: string, problems: Problems): void {
    const where = k("kubernetes.controlPlaneEndpoint.address");
    const nodeNet = parseCidr(raw.network.cidr)!;
    if (!cidrContains(nodeNet, address)) {
        problems.push(`${where}: ${show(address)} is outside network.cidr ${nodeNet.text}; the VIP must be on the control planes' network (ARP reaches no further)`);
        return;
    }
    const first = ipToNumber(networkAddress(nodeNet));
    const last = first + 2 ** (32 - nodeNet.prefix) - 1;
    if (nodeNet.prefix < 31 && (ipToNumber(address) === first || ipToNumber(address) === last)) {
        problems.push(`${where}: ${show(address)} is the network or broadcast address of ${nodeNet.text}; pick a free host address`);
    }
    hosts.filter((h) => h.ip === address).forEach((h) =>
        problems.push(`${where}: ${show(address)} is the address of ${h.name}; the VIP must be an address no machine has`),
    );
    if (raw.network.gateway === address) {
        problems.push(`${where}: ${show(address)} is network.gateway; the VIP must be an address no machine has`);
    }
    const pool = raw.metallb.enabled && raw.metallb.addresses ? parseIpRange(raw.metallb.addresses) : undefined;
    if (pool && rangeContains(pool, address)) {
        problems.push(`${where}: ${show(address)} is inside metallb.addresses ${raw.metallb.addresses}; MetalLB would hand it to a Service: pick an address outside the pool`);
    }
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
    return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
