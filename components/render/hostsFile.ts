/**
 * The block of /etc/hosts lines `npm run hosts` manages: between marker comments naming the stack,
 * replaced in place on every run, never duplicated; every other line is kept as it was.
 */

export const beginMarker = (stack: string) => `# BEGIN k8s-platform ${stack}`;
export const endMarker = (stack: string) => `# END k8s-platform ${stack}`;

export function replaceHostsBlock(existing: string, stack: string, lines: string): string {
    const begin = beginMarker(stack);
    const end = endMarker(stack);
    const kept: string[] = [];
    let inside = false;
    let insertAt = -1;
    for (const line of existing.split("\n")) {
        if (line === begin) {
            inside = true;
            insertAt = insertAt === -1 ? kept.length : insertAt;
            continue;
        }
        if (inside) {
            inside = line !== end;
            continue;
        }
        kept.push(line);
    }
    while (kept.length > 0 && kept[kept.length - 1] === "") {
        kept.pop();
    }
    const block = [begin, ...lines.split("\n").filter((l) => l.trim() !== ""), end];
    if (insertAt === -1 || insertAt > kept.length) {
        kept.push(...block);
    } else {
        kept.splice(insertAt, 0, ...block);
    }
    return kept.join("\n") + "\n";
}

/** "IP name…" lines, one per address. */
export function hostsLines(entries: { ip: string; names: string[] }[]): string {
    return entries.map((e) => `${e.ip}\t${e.names.join(" ")}`).join("\n") + "\n";
}
