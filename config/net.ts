import * as ipaddr from "ipaddr.js";

/** IPv4 address and CIDR arithmetic for config validation, on top of ipaddr.js. */

/** True for a dotted-quad IPv4 address (no shorthand forms such as "10.1"). */
export function isIpv4(value: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(value);
}

export interface Cidr {
    readonly address: ipaddr.IPv4;
    readonly prefix: number;
    readonly text: string;
}

/** Parses "a.b.c.d/n"; undefined when malformed. */
export function parseCidr(value: string): Cidr | undefined {
    const [addr, bits, ...rest] = value.split("/");
    if (rest.length > 0 || bits === undefined || !/^\d{1,2}$/.test(bits) || !isIpv4(addr)) {
        return undefined;
    }
    const prefix = Number(bits);
    if (prefix > 32) {
        return undefined;
    }
    return { address: ipaddr.IPv4.parse(addr), prefix, text: value };
}

/** The network address of a CIDR ("10.244.0.5/16" → "10.244.0.0"). */
export function networkAddress(cidr: Cidr): string {
    return ipaddr.IPv4.networkAddressFromCIDR(cidr.text).toString();
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
    return isIpv4(ip) && ipaddr.IPv4.parse(ip).match(cidr.address, cidr.prefix);
}

/** Two CIDR blocks overlap when either contains the other's network address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    return cidrContains(a, networkAddress(b)) || cidrContains(b, networkAddress(a));
}

export function ipToNumber(ip: string): number {
    return ipaddr.IPv4.parse(ip).toByteArray().reduce((acc, byte) => acc * 256 + byte, 0);
}

export function numberToIp(value: number): string {
    const bytes = [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
    return bytes.join(".");
}

/** Parses "first-last" (both IPv4, first <= last); undefined when malformed. */
export function parseIpRange(value: string): { first: string; last: string } | undefined {
    const parts = value.split("-").map((part) => part.trim());
    if (parts.length !== 2 || !isIpv4(parts[0]) || !isIpv4(parts[1])) {
        return undefined;
    }
    if (ipToNumber(parts[0]) > ipToNumber(parts[1])) {
        return undefined;
    }
    return { first: parts[0], last: parts[1] };
}

export function rangeContains(range: { first: string; last: string }, ip: string): boolean {
    if (!isIpv4(ip)) {
        return false;
    }
    const n = ipToNumber(ip);
    return n >= ipToNumber(range.first) && n <= ipToNumber(range.last);
}

/** The n-th host address of a CIDR (n = 1 is the first usable address). */
export function hostAddress(cidr: Cidr, n: number): string {
    return numberToIp(ipToNumber(networkAddress(cidr)) + n);
}

/**
 * Whether kubeadm accepts `value` in apiServer.certSANs. Its ValidateCertSANs
 * (cmd/kubeadm/app/apis/kubeadm/validation/validation.go, identical at v1.35.4 and v1.37.2) is
 *     if errs := validation.IsDNS1123Subdomain(altname); len(errs) != 0 {
 *         if errs2 := validation.IsWildcardDNS1123Subdomain(altname); len(errs2) != 0 {
 *             if netutils.ParseIPSloppy(altname) == nil {
 *                 allErrs = append(allErrs, field.Invalid(fldPath, altname, "altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards: ..."))
 * and kubeadm refuses the whole config on it, `kubeadm init phase certs apiserver` included. The
 * three tests (k8s.io/apimachinery v0.35.4 and v0.37.2 pkg/util/validation/validation.go,
 * k8s.io/utils net/parse.go), restated here:
 *   - IsDNS1123Subdomain: at most 253 characters, `[a-z0-9]([-a-z0-9]*[a-z0-9])?` labels joined by
 *     "." (no per-label length limit);
 *   - IsWildcardDNS1123Subdomain: "*." and such a subdomain, at most 253 characters in all;
 *   - ParseIPSloppy: Go's net.ParseIP that also takes leading zeros in IPv4 parts (no zone, no brackets).
 */
export function isKubeadmCertSan(value: string): boolean {
    const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    if (value.length <= 253 && (subdomain.test(value) || (value.startsWith("*.") && subdomain.test(value.slice(2))))) {
        return true;
    }
    return isIpSloppy(value);
}

/**
 * An endpoint kubeadm accepts as ClusterConfiguration.controlPlaneEndpoint: ValidateHostPort →
 * kubeadmutil.ParseHostPort (cmd/kubeadm/app/util/endpoint.go at v1.35.4 and v1.37.2): the port,
 * when given, "must be a valid number between 1 and 65535, inclusive"; the host "must be a valid IP
 * address or a valid RFC-1123 DNS subdomain" (ParseIPSloppy, IsDNS1123Subdomain: lowercase only).
 * Only the forms this program takes: no brackets (it has no IPv6 endpoint).
 */
export function isKubeadmHostPort(value: string): boolean {
    const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(value);
    if (!match) {
        return false;
    }
    const [, host, port] = match;
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
        return false;
    }
    const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    return isIpSloppy(host) || (host.length <= 253 && subdomain.test(host));
}

/** ParseIPSloppy's verdict: the first "." or ":" says IPv4 or IPv6, as in Go's net.ParseIP. */
function isIpSloppy(value: string): boolean {
    const separator = /[.:]/.exec(value);
    if (!separator) {
        return false;
    }
    return separator[0] === "." ? isIpv4Sloppy(value) : isIpv6Sloppy(value);
}

/** Four decimal parts up to 255, leading zeros allowed. */
function isIpv4Sloppy(value: string): boolean {
    const parts = value.split(".");
    return parts.length === 4 && parts.every((part) => /^[0-9]+$/.test(part) && Number(part) <= 255);
}

/** Eight hexadecimal groups up to ffff, at most one "::" standing for one or more of them, the
 * last two of them optionally written as an IPv4 address. */
function isIpv6Sloppy(value: string): boolean {
    const halves = value.split("::");
    if (halves.length > 2) {
        return false;
    }
    const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")));
    let count = 0;
    for (const [index, group] of groups.entries()) {
        if (group.includes(".")) {
            // Only at the very end: Go parses the rest of the string as the IPv4 address.
            if (index !== groups.length - 1 || !value.endsWith(group) || !isIpv4Sloppy(group)) {
                return false;
            }
            count += 2;
        } else if (/^[0-9a-fA-F]+$/.test(group) && parseInt(group, 16) <= 0xffff) {
            count += 1;
        } else {
            return false;
        }
    }
    return halves.length === 2 ? count < 8 : count === 8;
}
