// The pieces every router's part of the OpenAPI document is made of: each router describes its
// own routes (its `…OpenApiPaths()`), and http/openapi.ts puts the parts together.
import { z } from "zod";
import { withArticle } from "../errors";
import { STACK_NAME_PATTERN } from "../pulumi/stacks";

// Request bodies come from the same zod schemas the routes validate with, so the document
// cannot drift from what the service accepts.
export const bodySchema = (schema: z.ZodType) => z.toJSONSchema(schema, { target: "openapi-3.0", io: "input" });

/** Query parameters from a zod object schema, one per field. */
export function queryParams(schema: z.ZodObject): Record<string, unknown>[] {
    const properties = (bodySchema(schema) as { properties?: Record<string, unknown> }).properties ?? {};
    return Object.entries(properties).map(([name, schema]) => ({ name, in: "query", schema }));
}
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: unknown) => ({ "application/json": { schema } });
export const errorResponse = (description: string) => ({ description, content: json(ref("Error")) });
export const stackPathParam = { name: "stack", in: "path", required: true, schema: { type: "string", pattern: `^${STACK_NAME_PATTERN}$` }, description: "A stack with a Pulumi.<stack>.yaml in the project." };
export const idPathParam = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };

export const common = {
    // Any /v1 request with a body: checked before its route (app.ts), whatever the operation.
    400: errorResponse("The body is not valid JSON (BAD_REQUEST)."),
    415: errorResponse("A body that is not JSON (UNSUPPORTED_MEDIA_TYPE)."),
    401: errorResponse("No or unknown bearer token or session (UNAUTHENTICATED), an expired token (TOKEN_EXPIRED), an ended session (SESSION_ENDED)."),
    403: errorResponse("The caller's role is too low (FORBIDDEN), a change made with the session cookie without its CSRF token (CSRF_TOKEN_INVALID), or a person with no role (NO_ROLE)."),
    429: errorResponse("Too many mutating or refused requests from this caller (RATE_LIMITED)."),
    // Any route that reads the store or the state backend, whatever it is for.
    503: errorResponse("The database or the state backend does not answer, or the service is stopping (STORE_UNAVAILABLE, BACKEND_UNAVAILABLE, SHUTTING_DOWN); Retry-After says when to retry where it can."),
};

export function startOp(op: string, role: string, body: z.ZodType, extra = "") {
    return {
        post: {
            summary: `Queue ${withArticle(op)}${extra}`,
            description: `Role: ${role}. Answers 202 with the job and its Location; the job runs when its stack is free.`,
            tags: ["jobs"],
            parameters: [
                stackPathParam,
                {
                    name: "Idempotency-Key",
                    in: "header",
                    required: false,
                    schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
                    description: "Send the same key when retrying: the same caller, path and body answer the job the first request created (Idempotent-Replayed: true), another body 409 IDEMPOTENCY_KEY_REUSED. A refused request keeps nothing. Kept 24 h.",
                },
            ],
            requestBody: { required: false, content: json(bodySchema(body)) },
            responses: {
                202: { description: "Queued.", headers: { Location: { schema: { type: "string" } } }, content: json(ref("Job")) },
                ...common,
                404: errorResponse("Unknown stack (STACK_NOT_FOUND)."),
                409: errorResponse("Stack busy with noQueue (STACK_BUSY), queue full (QUEUE_FULL), stack needs repair (NEEDS_REPAIR: see /v1/stacks/{stack}/repair), a guard refused (e.g. PLAN_STALE, FROZEN), or the Idempotency-Key was used for another request (IDEMPOTENCY_KEY_REUSED) or its first request is still being admitted (IDEMPOTENCY_IN_PROGRESS)."),
                413: errorResponse("Body too large (PAYLOAD_TOO_LARGE)."),
                422: errorResponse("Invalid input (INVALID_INPUT), or an approval the stack's policy needs is missing (APPROVAL_REQUIRED)."),
                503: errorResponse("The service is shutting down (SHUTTING_DOWN), or the stack's policy file has never validated (POLICY_INVALID)."),
            },
        },
    };
}
