/**
 * haproxy.cfg for the software load balancer of seed 000 §13. Port 80 goes to the ingress
 * controller's HTTP node port and 443 to its HTTPS node port (the seed had them swapped), on every
 * worker, round robin with health checks. 443 stays TCP: TLS passes through to the ingress
 * controller, which holds the certificates. With several control planes it also fronts the API
 * servers on 6443 (the control-plane endpoint).
 */

export interface Backend {
    readonly name: string;
    readonly ip: string;
}

export interface HaproxyConfigInput {
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
    /** Nodes running the ingress controller's node ports (the workers). */
    readonly workers: Backend[];
    /** Control-plane nodes, when HAProxy is the control-plane endpoint (default: none). */
    readonly apiServers?: Backend[];
}

function servers(backends: Backend[], port: number): string[] {
    return backends.map((b) => `    server ${b.name} ${b.ip}:${port} check inter 5s fall 3 rise 2`);
}

export function renderHaproxyConfig(input: HaproxyConfigInput): string {
    if (input.workers.length === 0) {
        throw new Error("HAProxy needs at least one worker to forward to");
    }
    const lines = [
        "# Managed by k8s-platform: rendered by the program; edits on the host are overwritten.",
        "global",
        "    log /dev/log local0",
        "    maxconn 4096",
        // Drop root once the ports are bound: the user and group the haproxy package creates
        // (Debian/Ubuntu and Rocky alike; `haproxy -c` refuses a user that does not exist).
        "    user haproxy",
        "    group haproxy",
        "",
        "defaults",
        "    log global",
        "    retries 3",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "",
        "frontend http-in",
        "    bind *:80",
        "    mode http",
        "    option httplog",
        "    option forwardfor",
        "    default_backend ingress-http",
        "",
        "frontend https-in",
        "    bind *:443",
        "    mode tcp",
        "    option tcplog",
        "    default_backend ingress-https",
        "",
        "backend ingress-http",
        "    mode http",
        "    balance roundrobin",
        ...servers(input.workers, input.httpNodePort),
        "",
        "backend ingress-https",
        "    mode tcp",
        "    balance roundrobin",
        ...servers(input.workers, input.httpsNodePort),
    ];
    if (input.apiServers && input.apiServers.length > 0) {
        lines.push(
            "",
            "frontend kube-apiserver",
            "    bind *:6443",
            "    mode tcp",
            "    option tcplog",
            "    default_backend kube-apiserver",
            "",
            "backend kube-apiserver",
            "    mode tcp",
            "    balance roundrobin",
            "    option tcp-check",
            ...servers(input.apiServers, 6443),
        );
    }
    return lines.join("\n") + "\n";
}

/** The ports HAProxy listens on (for the firewall). */
export function haproxyPorts(input: HaproxyConfigInput): number[] {
    return input.apiServers && input.apiServers.length > 0 ? [80, 443, 6443] : [80, 443];
}
