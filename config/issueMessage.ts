import { z } from "zod";
import { describeValue, quoteHint, show } from "./schema";

/**
 * The message of a zod issue whose schema has no message of its own (`z.boolean()`, a plain
 * `z.string().regex(…)`, …): the bad value and what is allowed, never zod's "Invalid input".
 * zod 4.6.7 tries a schema's own `error` first and this context map next (core/util.js
 * `finalizeIssue`: `inst._zod.def.error` → `ctx.error` → locale), so the schemas' own wording wins.
 */
export const describeIssue: z.core.$ZodErrorMap = (iss) => {
    const value = iss.input;
    switch (iss.code) {
        case "invalid_type":
            if (value === undefined) {
                return "is required";
            }
            return `expected ${expectedType(iss.expected)}, got ${describeValue(value)}${iss.expected === "string" ? quoteHint(value) : ""}`;
        case "invalid_format":
            return iss.format === "regex" && "pattern" in iss
                ? `${show(value)} does not have the allowed form (the pattern ${String(iss.pattern)})`
                : `${show(value)} is not a valid ${iss.format}`;
        case "too_small":
            return typeof value === "string" && iss.minimum === 1 ? "must not be empty" : `${show(value)} is below the minimum ${String(iss.minimum)}`;
        case "too_big":
            return `${show(value)} is above the maximum ${String(iss.maximum)}`;
        case "invalid_value":
            return `${show(value)} is not allowed; allowed values: ${iss.values.map((v) => String(v)).join(", ")}`;
        case "invalid_union":
            return `${describeValue(value)} matches none of the allowed forms`;
        default:
            return undefined;
    }
};

function expectedType(expected: string): string {
    switch (expected) {
        case "boolean":
            return "true or false";
        case "string":
            return "a string";
        case "number":
        case "int":
            return "a number";
        case "array":
            return "a list";
        case "object":
            return "a map of keys";
        default:
            return expected;
    }
}
