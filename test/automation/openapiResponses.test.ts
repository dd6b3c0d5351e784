// The answers' schemas in the OpenAPI document come from the zod schemas the routes' answers are
// typed with (automation/http/responses/): closed where the answer is fully known, and a route
// sending a field its schema lacks does not typecheck.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import * as ts from "typescript";
import { openApiDocument } from "../../automation/http/openapi";
import { StackStatusSchema } from "../../automation/http/responses/stacks";

const ROOT = path.resolve(__dirname, "../..");
/** Answers given as stored, not as the service builds them: declared, but open. */
const OPEN_BY_DESIGN = new Set(["AuditEntry"]);
const ANSWERS = ["StackStatus", "StackList", "Finding", "StackHealth", "RepairResult", "UnlockResult", "Approval", "ApprovalStatus", "ApprovalList", "ApprovalDecision", "AuditPage", "Token", "TokenList", "CreatedToken", "RevokedToken"];

const schemas = () => (openApiDocument().components as { schemas: Record<string, unknown> }).schemas;

/** Where under `schema` an object lists properties yet allows others (`$ref`s are not followed). */
function openObjects(schema: unknown, at = ""): string[] {
    if (!schema || typeof schema !== "object") return [];
    const o = schema as Record<string, unknown>;
    const here = o.type === "object" && o.properties && o.additionalProperties !== false ? [at || "/"] : [];
    return [...here, ...Object.entries(o).flatMap(([k, v]) => openObjects(v, `${at}/${k}`))];
}

/** The compiler's messages for each module of `sources`, compiled together with the project's options, by name. */
function typecheck(sources: Record<string, string>): Record<string, string[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "answer-types-"));
    try {
        const files = Object.entries(sources).map(([name, source]) => {
            const file = path.join(dir, `${name}.ts`);
            fs.writeFileSync(file, source);
            return [name, file] as const;
        });
        const { config } = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
        const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
        const program = ts.createProgram(files.map(([, file]) => file), { ...options, noEmit: true });
        const diagnostics = ts.getPreEmitDiagnostics(program);
        return Object.fromEntries(files.map(([name, file]) => [name, diagnostics.filter((d) => d.file?.fileName === file).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))]));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("the answers' schemas in the OpenAPI document", function () {
    this.timeout(120_000);

    it("describes a stack's status with exactly the fields of its zod schema", () => {
        const doc = schemas().StackStatus as { properties: Record<string, unknown>; additionalProperties: unknown };
        assert.deepEqual(Object.keys(doc.properties).sort(), Object.keys(StackStatusSchema.shape).sort());
        assert.equal(doc.additionalProperties, false);
    });

    it("refuses a stack status carrying a field its schema lacks, at the top or nested", () => {
        const ajv = new Ajv({ strict: false, validateFormats: false });
        ajv.addSchema(openApiDocument(), "openapi.json");
        const valid = ajv.compile({ $ref: "openapi.json#/components/schemas/StackStatus" });
        const status = { name: "dev", state: "idle", queued: 0, repair: { needed: true, findings: [{ kind: "live-lock", lock: { file: "l.json", pid: 7, username: "u", hostname: "h", timestamp: "t" } }] } };
        assert.equal(valid(status), true, JSON.stringify(valid.errors));
        assert.equal(valid({ ...status, owner: "x" }), false, "an undeclared top-level field");
        assert.equal(valid({ ...status, repair: { ...status.repair, findings: [{ ...status.repair.findings[0], cleared: true }] } }), false, "cleared belongs to a stale lock only");
    });

    it("closes every object of every answer schema but the audit entry's, which is answered as the log holds it", () => {
        const all = schemas();
        for (const name of ANSWERS) assert.ok(all[name], `components.schemas.${name} is missing`);
        const open = Object.entries(all)
            .filter(([name]) => ANSWERS.includes(name) && !OPEN_BY_DESIGN.has(name))
            .flatMap(([name, s]) => openObjects(s).map((at) => `${name}${at}`));
        assert.deepEqual(open, []);
    });

    it("fails typecheck where a route sends an answer with a field its schema lacks, naming the field", () => {
        // Outside the repository (nothing is written there), so every import is absolute.
        const at = (p: string) => path.join(ROOT, p);
        const probe = (extra: string) => `
            import type { Response } from "${at("node_modules/@types/express")}";
            import type { StackStatus } from "${at("automation/jobs/stackView")}";
            import { send } from "${at("automation/http/responses/registry")}";
            import { StackStatusSchema } from "${at("automation/http/responses/stacks")}";
            import { TokenSchema } from "${at("automation/http/responses/tokens")}";
            declare const res: Response;
            declare const status: StackStatus;
            send(res, StackStatusSchema, { ...status${extra} });
            send(res, TokenSchema, { name: "ci", role: "viewer", expired: false, lastUsedAt: null });
        `;
        const messages = typecheck({ declared: probe(""), undeclared: probe(", drift: { jobId: 'j', mode: 'apply' as const, drifted: 0, resources: [], cause: 'x' }") });
        assert.deepEqual(messages.declared, []);
        assert.equal(messages.undeclared.length, 1, messages.undeclared.join("\n"));
        assert.match(messages.undeclared[0], /fieldsTheSchemaLacks: "\.drift\.cause"/);
    });
});
