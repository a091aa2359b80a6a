/**
 * Network security rules for kubeadm nodes on Azure. SSH and the API server only from the admin
 * networks (the whole internet only when the stack explicitly allows it), HTTP/HTTPS and the
 * ingress node ports the load balancer forwards to from anywhere, everything inside the subnet.
 *
 * Azure refuses service tags (Internet, VirtualNetwork, AzureLoadBalancer) and "*" in the plural
 * fields (`sourceAddressPrefixes`, `destinationPortRanges`): a single tag, "*" or a single value
 * goes into the singular field, lists of CIDRs or ports into the plural one.
 */

export interface SecurityRule {
    readonly name: string;
    readonly priority: number;
    readonly direction: "Inbound";
    readonly access: "Allow";
    readonly protocol: "Tcp" | "*";
    readonly sourceAddressPrefix?: string;
    readonly sourceAddressPrefixes?: string[];
    readonly sourcePortRange: "*";
    readonly destinationAddressPrefix: string;
    readonly destinationPortRange?: string;
    readonly destinationPortRanges?: string[];
}

export interface NodeRulesInput {
    /** Admin networks; "*" or 0.0.0.0/0 only when config allowed it explicitly. */
    readonly adminCidrs: string[];
    readonly subnetCidr: string;
    readonly httpNodePort: number;
    readonly httpsNodePort: number;
}

/** Values Azure takes only in the singular fields. */
export const SERVICE_TAGS = ["Internet", "VirtualNetwork", "AzureLoadBalancer", "*"] as const;
const isTag = (value: string) => (SERVICE_TAGS as readonly string[]).some((t) => t.toLowerCase() === value.toLowerCase());

/** `{single: value}` for one value, `{plural: values}` for a list; a tag inside a list is a bug here. */
function field<S extends string, P extends string>(single: S, plural: P, values: string[]): Record<S, string> | Record<P, string[]> {
    if (values.length === 1) {
        return { [single]: values[0] } as Record<S, string>;
    }
    const tag = values.find(isTag);
    if (tag !== undefined || values.length === 0) {
        throw new Error(`${plural}: Azure refuses ${tag === undefined ? "an empty list" : `the service tag or wildcard ${JSON.stringify(tag)} in a list`} (${values.join(", ")})`);
    }
    return { [plural]: values } as Record<P, string[]>;
}

export const rule = (name: string, priority: number, sources: string[], ports: string[], protocol: "Tcp" | "*" = "Tcp", destination = "*"): SecurityRule => ({
    name,
    priority,
    direction: "Inbound",
    access: "Allow",
    protocol,
    ...field("sourceAddressPrefix", "sourceAddressPrefixes", sources),
    sourcePortRange: "*",
    destinationAddressPrefix: destination,
    ...field("destinationPortRange", "destinationPortRanges", ports),
});

export function nodeSecurityRules(input: NodeRulesInput): SecurityRule[] {
    const admins = input.adminCidrs.map((c) => (c === "0.0.0.0/0" || c.toLowerCase() === "internet" || c.toLowerCase() === "any" ? "*" : c));
    // "*" among CIDRs means everyone: the rule is then "*" alone.
    const adminSources = admins.includes("*") ? ["*"] : admins;
    return [
        rule("allow-ssh-from-admins", 100, adminSources, ["22"]),
        rule("allow-apiserver-from-admins", 110, adminSources, ["6443"]),
        // The load balancer keeps the client's address: its rules land on the node ports.
        rule("allow-http-https", 120, ["Internet"], ["80", "443", String(input.httpNodePort), String(input.httpsNodePort)]),
        rule("allow-load-balancer-probes", 130, ["AzureLoadBalancer"], [String(input.httpNodePort), String(input.httpsNodePort)]),
        rule("allow-inside-subnet", 200, [input.subnetCidr], ["*"], "*", input.subnetCidr),
    ];
}

/**
 * The subnet NSG of an AKS cluster. AKS never edits a subnet NSG (it manages only the NSG of its
 * node resource group, on the NICs), so internet traffic to the ingress load balancer's backends
 * needs a rule here; traffic inside the VNet and Azure's probes stay allowed by the default rules
 * (AllowVnetInBound 65000, AllowAzureLoadBalancerInBound 65001), stated here explicitly.
 */
export function aksSecurityRules(): SecurityRule[] {
    return [
        rule("allow-http-https", 100, ["Internet"], ["80", "443"]),
        rule("allow-inside-vnet", 200, ["VirtualNetwork"], ["*"], "*", "VirtualNetwork"),
        rule("allow-load-balancer-probes", 210, ["AzureLoadBalancer"], ["*"], "*"),
    ];
}

export const sourcesOf = (r: SecurityRule): string[] => r.sourceAddressPrefixes ?? (r.sourceAddressPrefix !== undefined ? [r.sourceAddressPrefix] : []);
export const portsOf = (r: SecurityRule): string[] => r.destinationPortRanges ?? (r.destinationPortRange !== undefined ? [r.destinationPortRange] : []);

/** True when a rule lets the whole internet reach `port`. */
export function opensToInternet(r: SecurityRule, port: number): boolean {
    const everyone = sourcesOf(r).some((s) => s === "*" || s === "0.0.0.0/0" || s.toLowerCase() === "internet");
    const covers = portsOf(r).some((range) => {
        if (range === "*") return true;
        const [lo, hi] = range.split("-").map(Number);
        return port >= lo && port <= (hi ?? lo);
    });
    return everyone && covers;
}
