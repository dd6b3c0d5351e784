// Every answer the HTTP tests get is checked against the service's own OpenAPI document: the
// status must be one the operation documents, and a JSON body must validate against its schema.
// A test that gets an undocumented answer fails, so the document cannot drift from the service.
import Ajv, { type ValidateFunction } from "ajv";
import { openApiDocument } from "../../automation/http/openapi";

interface Operation { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }
type Paths = Record<string, Record<string, Operation>>;

let compiled: { ajv: Ajv; routes: Array<{ template: string; re: RegExp }>; paths: Paths } | undefined;
const validators = new Map<string, ValidateFunction>();

function documentOnce() {
    if (!compiled) {
        const doc = structuredClone(openApiDocument()) as { paths: Paths; components: { schemas: Record<string, unknown> } };
        // The job, the API's main record, is held to the fields the document declares, at every level.
        closeObjects(doc.components.schemas.Job);
        // OpenAPI 3.0 schemas: `nullable`, formats and examples are not JSON Schema's business here.
        const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
        ajv.addSchema(doc, "openapi.json");
        const routes = Object.keys(doc.paths)
            .map((template) => ({ template, re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`) }))
            // literal segments before parameters: /v1/stacks/{stack} must not take /v1/stacks/dev/previews
            .sort((a, b) => b.template.split("/").length - a.template.split("/").length || a.template.split("{").length - b.template.split("{").length);
        compiled = { ajv, routes, paths: doc.paths };
    }
    return compiled;
}

/** Marks every object schema under `schema` that lists its properties as allowing no others. */
function closeObjects(schema: unknown): void {
    if (!schema || typeof schema !== "object") return;
    const o = schema as Record<string, unknown>;
    if (o.type === "object" && o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
    for (const v of Object.values(o)) closeObjects(v);
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** Why `body` (status `status`) is not what the document promises for `method url`; undefined when it is, or when the path is not the API's. */
export function conformanceProblem(method: string, url: string, status: number, contentType: string | null, body: unknown): string | undefined {
    const path = new URL(url, "http://x").pathname;
    if (!path.startsWith("/v1/")) return undefined;
    const { ajv, routes, paths } = documentOnce();
    const m = method.toLowerCase();
    const route = routes.find((r) => r.re.test(path) && paths[r.template][m]);
    // A path or method the document has no operation for (a probe, a flood, garbage): whatever the
    // middleware answers must be an error, in the one error shape.
    if (!route) {
        if (status < 400) return `${method} ${path} answered ${status}, but the document has no such operation`;
        return contentType?.includes("application/json") ? schemaProblem(ajv, "openapi.json#/components/schemas/Error", body, `${method} ${path} (no such operation) answered ${status}`) : undefined;
    }
    const responses = paths[route.template][m].responses ?? {};
    const key = String(status) in responses ? String(status) : "default" in responses ? "default" : undefined;
    if (!key) return `${method} ${route.template} answered ${status}, which the document does not list (it lists ${Object.keys(responses).join(", ")})`;
    const schema = responses[key].content?.["application/json"]?.schema;
    if (!schema || !contentType?.includes("application/json")) return undefined;
    return schemaProblem(ajv, `openapi.json#/${pointer("paths", route.template, m, "responses", key, "content", "application/json", "schema")}`, body, `${method} ${route.template} answered ${status}`);
}

function schemaProblem(ajv: Ajv, id: string, body: unknown, what: string): string | undefined {
    let validate = validators.get(id);
    if (!validate) {
        validate = ajv.compile({ $ref: id });
        validators.set(id, validate);
    }
    if (validate(body)) return undefined;
    const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`);
    return `${what} with a body the document's schema refuses: ${errors.join("; ")}`;
}
