/**
 * Network security rules for kubeadm nodes on Azure. SSH and the API server only from the admin
 * networks (the whole internet only when the stack explicitly allows it), HTTP/HTTPS and the
 * ingress node ports the load balancer forwards to from anywhere, everything inside the subnet.
 */

export interface SecurityRule {
    readonly name: string;
    readonly priority: number;
    readonly direction: "Inbound";
    readonly access: "Allow";
    readonly protocol: "Tcp" | "*";
    readonly sourceAddressPrefixes: string[];
    readonly sourcePortRange: "*";
    readonly destinationAddressPrefix: string;
    readonly destinationPortRanges: string[];
}

export interface NodeRulesInput {
    /** Admin networks; "*" or 0.0.0.0/0 only when config allowed it explicitly. */
    readonly adminCidrs: string[];
    readonly subnetCidr: string;
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
}

const rule = (name: string, priority: number, sources: string[], ports: string[], protocol: "Tcp" | "*" = "Tcp", destination = "*"): SecurityRule => ({
    name,
    priority,
    direction: "Inbound",
    access: "Allow",
    protocol,
    sourceAddressPrefixes: sources,
    sourcePortRange: "*",
    destinationAddressPrefix: destination,
    destinationPortRanges: ports,
});

export function nodeSecurityRules(input: NodeRulesInput): SecurityRule[] {
    const admins = input.adminCidrs.map((c) => (c === "0.0.0.0/0" ? "*" : c));
    return [
        rule("allow-ssh-from-admins", 100, admins, ["22"]),
        rule("allow-apiserver-from-admins", 110, admins, ["6443"]),
        // The load balancer keeps the client's address: its rules land on the node ports.
        rule("allow-http-https", 120, ["Internet"], ["80", "443", String(input.httpNodePort), String(input.httpsNodePort)]),
        rule("allow-load-balancer-probes", 130, ["AzureLoadBalancer"], [String(input.httpNodePort), String(input.httpsNodePort)]),
        rule("allow-inside-subnet", 200, [input.subnetCidr], ["*"], "*", input.subnetCidr),
    ];
}

/** True when a rule lets the whole internet reach `port`. */
export function opensToInternet(r: SecurityRule, port: number): boolean {
    const everyone = r.sourceAddressPrefixes.some((s) => s === "*" || s === "0.0.0.0/0" || s.toLowerCase() === "internet");
    const covers = r.destinationPortRanges.some((range) => {
        if (range === "*") return true;
        const [lo, hi] = range.split("-").map(Number);
        return port >= lo && port <= (hi ?? lo);
    });
    return everyone && covers;
}
