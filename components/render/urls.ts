/** "https://host" or "https://host:port": the port only where it is not the scheme's default. */
export function withPort(scheme: "http" | "https", host: string, port: number): string {
    return port === (scheme === "http" ? 80 : 443) ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
}
