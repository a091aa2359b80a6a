/**
 * `npx tsx tools/stripScripts.ts <dir>`: writes every scripts/*.sh as the program sends it to a
 * host, without comments and blank lines (components/render/script.ts stripScriptComments), into
 * <dir>. For running the real-root tier on exactly that text:
 *   K8SP_SCRIPTS_DIR=<dir> npm run test:realroot
 */
import * as fs from "fs";
import * as path from "path";
import { SCRIPTS_DIR, stripScriptComments } from "../components/render/script";

const out = process.argv[2];
if (!out) {
    console.error("usage: npx tsx tools/stripScripts.ts <dir>");
    process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
for (const file of fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh"))) {
    fs.writeFileSync(path.join(out, file), stripScriptComments(fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8")), { mode: 0o755 });
}
console.log(`stripped scripts written to ${out}`);
