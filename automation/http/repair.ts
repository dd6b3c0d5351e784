import { Router } from "express";
import { z } from "zod";
import { invalidInput, stackBusy } from "../errors";
import type { JobService } from "../jobs/service";
import type { RecoveryService } from "../recovery/service";
import { callerOf } from "../security/middleware";
import { StackName, parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";
import { bodySchema, common, errorResponse, json, ref, stackPathParam } from "./openapiParts";
import { RepairResultSchema, StackHealthSchema, UnlockResultSchema } from "./responses/recovery";
import { send } from "./responses/registry";

export const RepairBody = z.strictObject({
    /** `strip` removes pending operations from the checkpoint; `refresh` reads resources back first. @default "strip" */
    method: z.enum(["strip", "refresh"]).optional(),
    /** The admin knows the process of a job interrupted on a gone instance is gone too (see FENCED). */
    overrideFence: z.boolean().optional(),
});

/** Unlocking is an override, so it is confirmed like a destroy. */
export const UnlockBody = z.strictObject({
    /** Must equal the stack's name. */
    confirm: z.string(),
    /** The admin knows the process of a job interrupted on a gone instance is gone too (see FENCED). */
    overrideFence: z.boolean().optional(),
});

/**
 * `POST /v1/stacks/:stack/repair` (admin), `GET /v1/stacks/:stack/repair` (viewer: the
 * findings) and `POST /v1/stacks/:stack/unlock` (admin: remove a lock nobody else may).
 */
export function repairRouter(recovery: RecoveryService, service: JobService, auth: AuthDeps): Router {
    const r = caseSensitiveRouter();
    r.get("/stacks/:stack/repair", auth.authenticate, auth.requireRole("viewer"), async (req, res) => {
        const stack = parse(StackName, req.params.stack, "path.stack");
        service.assertStack(stack);
        send(res, StackHealthSchema, await recovery.health(stack));
    });
    r.post("/stacks/:stack/repair", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const stack = parse(StackName, req.params.stack, "path.stack");
        service.assertStack(stack);
        const body = parse(RepairBody, req.body, "body");
        const principal = callerOf(res);
        // Repair edits the checkpoint: never beside a job of this service on the same stack.
        if ((await service.stacks.state(stack)) !== "idle") throw stackBusy(stack);
        send(res, RepairResultSchema, await recovery.repair(stack, body.method ?? "strip", principal, req.ip ?? "unknown", { overrideFence: body.overrideFence }));
    });
    r.post("/stacks/:stack/unlock", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const stack = parse(StackName, req.params.stack, "path.stack");
        service.assertStack(stack);
        const { confirm, overrideFence } = parse(UnlockBody, req.body ?? {}, "body");
        if (confirm !== stack) throw invalidInput(`Unlocking "${stack}" needs {"confirm": "${stack}"} in the body.`, { problems: [{ field: "body.confirm", problem: `must equal "${stack}"` }] });
        const principal = callerOf(res);
        // The lock of this service's own running job is never an override's business.
        if ((await service.stacks.state(stack)) === "running") throw stackBusy(stack);
        send(res, UnlockResultSchema, await recovery.unlock(stack, principal, req.ip ?? "unknown", { overrideFence }));
    });
    return r;
}

/** This router's routes in the OpenAPI document (put together by http/openapi.ts). */
export function repairOpenApiPaths(): Record<string, unknown> {
    return {
        "/v1/stacks/{stack}/repair": {
            get: {
                summary: "What crash recovery last found on the stack (role viewer)",
                tags: ["stacks"],
                parameters: [stackPathParam],
                responses: {
                    200: { description: "Findings.", content: json(ref("StackHealth")) },
                    ...common,
                    404: errorResponse("Unknown stack."),
                },
            },
            post: {
                summary: "Repair the stack (role admin): back up the exported state, then clear pending operations",
                description: "method strip (default) removes pending operations and imports the state; refresh runs refresh --clear-pending-creates first. Audited.",
                tags: ["stacks"],
                parameters: [stackPathParam],
                requestBody: { required: false, content: json(bodySchema(RepairBody)) },
                responses: {
                    200: {
                        description: "Repaired; lists what was dropped (a pending create may have made a resource Pulumi no longer tracks: import it).",
                        content: json(ref("RepairResult")),
                    },
                    ...common,
                    404: errorResponse("Unknown stack (STACK_NOT_FOUND)."),
                    409: errorResponse("A job of the stack runs (STACK_BUSY) or a live process holds its lock (STACK_LOCKED, with the holder)."),
                    422: errorResponse("Invalid body."),
                    500: errorResponse("The repair failed (REPAIR_FAILED); the state before it is backed up."),
                },
            },
        },
        "/v1/stacks/{stack}/unlock": {
            post: {
                summary: "Remove the stack's locks (role admin): the override for a lock the service may not clear itself",
                description:
                    'For a lock held by a live process or another host (repair answers 409 STACK_LOCKED), or on a backend the service cannot inspect. Runs pulumi cancel; does not stop the holder, so make sure it is gone. Needs {"confirm": "<stack>"}. Audited with the holders removed.',
                tags: ["stacks"],
                parameters: [stackPathParam],
                requestBody: { required: true, content: json(bodySchema(UnlockBody)) },
                responses: {
                    200: {
                        description: "Unlocked; the locks removed (file backends) and the stack's health after.",
                        content: json(ref("UnlockResult")),
                    },
                    ...common,
                    404: errorResponse("Unknown stack, or not in the backend (STACK_NOT_FOUND)."),
                    409: errorResponse("A job of this service runs on the stack (STACK_BUSY)."),
                    422: errorResponse("Missing or wrong confirm (INVALID_INPUT)."),
                    500: errorResponse("pulumi cancel failed (UNLOCK_FAILED)."),
                },
            },
        },
    };
}
