// The one catalogue of error codes against the source that raises them, the page that explains
// them and the OpenAPI document that promises them.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ERROR_CODES, errorCodesMarkdown, isErrorCode } from "../../automation/errorCodes";
import { openApiDocument } from "../../automation/http/openapi";

const ROOT = path.resolve(__dirname, "../..");

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? sourceFiles(p) : /\.(ts|js|mjs)$/.test(e.name) ? [p] : [];
    });
}

/** Every code the service's source raises or records: AppError's first argument, a `code:` field, a webhook rejection. */
function codesInSource(): Map<string, string> {
    const found = new Map<string, string>();
    for (const file of sourceFiles(path.join(ROOT, "automation"))) {
        if (file.endsWith("errorCodes.ts")) continue;
        const text = fs.readFileSync(file, "utf8");
        for (const re of [/new AppError\(\s*"([A-Z][A-Z_]+)"/g, /\bcode: "([A-Z][A-Z_]+)"/g, /this\.reject\(\s*"([A-Z][A-Z_]+)"/g]) {
            for (const m of text.matchAll(re)) found.set(m[1], path.relative(ROOT, file));
        }
        // A code chosen in an expression (`const code = cond ? "A" : "B"`): every capitalised literal on the line.
        for (const line of text.split("\n").filter((l) => /\b(const|let) code\b|\bcode = /.test(l))) {
            for (const m of line.matchAll(/"([A-Z][A-Z]+(?:_[A-Z]+)*)"/g)) found.set(m[1], path.relative(ROOT, file));
        }
    }
    return found;
}

describe("the catalogue of error codes", () => {
    it("holds every code the source raises or records, each with a meaning and where it shows", () => {
        const inSource = codesInSource();
        assert.ok(inSource.size >= 60, `found ${inSource.size} codes: the scan still sees the source`);
        const missing = [...inSource].filter(([code]) => !isErrorCode(code)).map(([code, file]) => `${code} (${file})`);
        assert.deepEqual(missing, []);
        for (const [code, info] of Object.entries(ERROR_CODES)) {
            assert.match(code, /^[A-Z][A-Z_]+$/);
            assert.ok(info.meaning.length >= 12 && info.where.length > 0, code);
            for (const s of info.statuses) assert.ok(s >= 400 && s < 600, `${code}: ${s}`);
        }
    });

    it("lists no code the service never uses", () => {
        const text = sourceFiles(path.join(ROOT, "automation")).filter((f) => !f.endsWith("errorCodes.ts")).map((f) => fs.readFileSync(f, "utf8")).join("\n");
        assert.deepEqual(Object.keys(ERROR_CODES).filter((code) => !text.includes(`"${code}"`)), []);
    });

    it("is what docs/errors.md says (regenerate with npm run docs:errors)", () => {
        assert.equal(fs.readFileSync(path.join(ROOT, "docs", "errors.md"), "utf8"), errorCodesMarkdown());
        for (const code of Object.keys(ERROR_CODES)) assert.match(errorCodesMarkdown(), new RegExp(`^\\| \`${code}\` \\|`, "m"));
    });

    it("is the set of codes the OpenAPI document's Error schema allows", () => {
        const doc = openApiDocument() as { components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } } };
        assert.deepEqual([...doc.components.schemas.Error.properties.error.properties.code.enum].sort(), Object.keys(ERROR_CODES).sort());
    });
});
