// The house rules of the code's shape, checked on the sources themselves (TypeScript's parser):
// layers in one direction (index.ts → stacks/ → components/ → config/), one ComponentResource per
// component file, and no function over 150 lines.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const MAX_FUNCTION_LINES = 150;

function sources(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(dir, e.name);
        return e.isDirectory() ? sources(rel) : e.name.endsWith(".ts") ? [rel] : [];
    });
}

function parse(file: string): ts.SourceFile {
    return ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.ES2022, true);
}

/** Top-level folder of each relative import ("config", "components", …); packages are skipped. */
function importedLayers(file: string): string[] {
    const layers: string[] = [];
    parse(file).forEachChild((node) => {
        if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
            const spec = node.moduleSpecifier.text;
            if (spec.startsWith(".")) {
                const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec));
                layers.push(target.split(path.sep)[0]);
            }
        }
    });
    return layers;
}

const ALLOWED: Record<string, string[]> = {
    config: ["config"],
    components: ["components", "config"],
    stacks: ["stacks", "components", "config"],
};

for (const [layer, allowed] of Object.entries(ALLOWED)) {
    test(`${layer}/ imports only from ${allowed.join(", ")}`, () => {
        const offences = sources(layer).flatMap((f) => importedLayers(f).filter((l) => !allowed.includes(l)).map((l) => `${f} → ${l}/`));
        assert.deepEqual(offences, []);
    });
}

test("index.ts only hands over to stacks/", () => {
    assert.deepEqual([...new Set(importedLayers("index.ts"))], ["stacks"]);
});

test("each component file holds at most one ComponentResource", () => {
    const crowded = sources("components")
        .filter((f) => !f.includes(`${path.sep}render${path.sep}`))
        .filter((f) => (fs.readFileSync(path.join(ROOT, f), "utf8").match(/extends pulumi\.ComponentResource\b/g) ?? []).length > 1);
    assert.deepEqual(crowded, []);
});

test(`no function of the program or its tools is longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const tooLong: string[] = [];
    for (const file of ["index.ts", ...["config", "components", "stacks", "tools"].flatMap(sources)]) {
        const sf = parse(file);
        const visit = (node: ts.Node): void => {
            if (ts.isFunctionLike(node) && "body" in node && node.body) {
                const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
                const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
                if (last - first + 1 > MAX_FUNCTION_LINES) {
                    const name = (node as ts.FunctionLikeDeclaration).name?.getText(sf) ?? (ts.isConstructorDeclaration(node) ? "constructor" : "<anonymous>");
                    tooLong.push(`${file}:${first + 1} ${name} (${last - first + 1} lines)`);
                }
            }
            ts.forEachChild(node, visit);
        };
        visit(sf);
    }
    assert.deepEqual(tooLong, []);
});
