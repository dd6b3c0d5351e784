import { ERROR_CODES } from "../errorCodes";
import { z } from "zod";
import { JobSchema } from "../jobs/types";
import { apiReferenceOpenApiPaths } from "./apiReference";
import { approvalsOpenApiPaths } from "./approvals";
import { auditOpenApiPaths } from "./audit";
import { notificationsOpenApiPaths } from "./notifications";
import { opsOpenApiPaths } from "./ops";
import { errorResponse } from "./openapiParts";
import { repairOpenApiPaths } from "./repair";
import { responseComponents } from "./responses";
import { signInOpenApiPaths } from "./signIn";
import { stacksAndJobsOpenApiPaths } from "./stacksAndJobs";
import { tokensOpenApiPaths } from "./tokens";
import { webhooksOpenApiPaths } from "./webhooks";
import { whoamiOpenApiPaths } from "./whoami";

// The document is put together from each router's own part (its …OpenApiPaths(), next to the
// routes it describes) and the shared schemas below. Request bodies and queries come from the
// zod schemas the routes validate with (openapiParts.ts), and the answers from the zod schemas
// the routes' answers are typed with (http/responses/), so neither can drift from the service.

/** The OpenAPI 3.0 description of the /v1 API, served at /v1/openapi.json. */
export function openApiDocument(): Record<string, unknown> {
    return withPathParameterRefusals({
        openapi: "3.0.3",
        info: {
            title: "todobackend automation service",
            version: "1",
            description: "Runs Pulumi previews, updates, refreshes and destroys of this project's stacks as queued jobs. Bearer tokens for machines, or a person's session cookie from sign-in (/auth/login; changes also carry X-CSRF-Token); roles viewer < operator < approver < admin. Every error code: docs/errors.md.",
        },
        components: {
            securitySchemes: {
                bearer: { type: "http", scheme: "bearer" },
                session: { type: "apiKey", in: "cookie", name: "__Host-automation-session", description: "A person signed in through the identity provider; every change made with it repeats the session's CSRF token in X-CSRF-Token (GET /v1/whoami gives it)." },
            },
            schemas: {
                Error: {
                    type: "object",
                    required: ["error"],
                    properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string", enum: Object.keys(ERROR_CODES), description: "Stable, for machines; each is explained in docs/errors.md." }, message: { type: "string" }, details: { type: "object" } } } },
                },
                Job: jobDocumentSchema(),
                ...responseComponents(),
            },
        },
        security: [{ bearer: [] }, { session: [] }],
        paths: {
            ...stacksAndJobsOpenApiPaths(),
            ...approvalsOpenApiPaths(),
            ...repairOpenApiPaths(),
            ...auditOpenApiPaths(),
            ...notificationsOpenApiPaths(),
            ...webhooksOpenApiPaths(),
            ...whoamiOpenApiPaths(),
            ...signInOpenApiPaths(),
            ...tokensOpenApiPaths(),
            ...apiReferenceOpenApiPaths(),
            ...opsOpenApiPaths(),
        },
    });
}

/**
 * Every operation with a path parameter answers 422 INVALID_INPUT for a malformed one (a stack
 * name outside the pattern, an id that is not a UUID) before it looks anything up.
 */
function withPathParameterRefusals(doc: Record<string, unknown>): Record<string, unknown> {
    for (const item of Object.values(doc.paths as Record<string, Record<string, { parameters?: Array<{ in?: string }>; responses?: Record<string, unknown> }>>)) {
        for (const op of Object.values(item)) {
            if (op.parameters?.some((p) => p.in === "path") && op.responses && !op.responses["422"]) {
                op.responses["422"] = errorResponse("A malformed path parameter (INVALID_INPUT).");
            }
        }
    }
    return doc;
}

/**
 * The Job schema, generated from the zod schema the job's TypeScript type is inferred from, with
 * what a force-cancel's answer adds. Closed (no undeclared field), as the answers are.
 */
function jobDocumentSchema(): Record<string, unknown> {
    const answer = JobSchema.extend({
        leavesBehind: z
            .object({
                inFlight: z.array(z.object({ urn: z.string(), op: z.string() })),
                needsRepair: z.boolean(),
                message: z.string(),
            })
            .optional()
            .meta({ description: "Only in the answer to a force-cancel (or its dryRun): the resource operations the kill cuts off and whether the stack then needs repair." }),
    });
    const { $schema: _, ...schema } = z.toJSONSchema(answer, { target: "openapi-3.0", io: "output" }) as Record<string, unknown>;
    return schema;
}
