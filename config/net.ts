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
