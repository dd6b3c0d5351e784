import { Router } from "express";
import { z } from "zod";
import { invalidInput, stackBusy } from "../errors";
import type { JobService } from "../jobs/service";
import type { RecoveryService } from "../recovery/service";
import { callerOf } from "../security/middleware";
import { StackName, parse } from "./schemas";
import { caseSensitiveRouter, type AuthDeps } from "./router";

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
        res.json(await recovery.health(stack));
    });
    r.post("/stacks/:stack/repair", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const stack = parse(StackName, req.params.stack, "path.stack");
        service.assertStack(stack);
        const body = parse(RepairBody, req.body, "body");
        const principal = callerOf(res);
        // Repair edits the checkpoint: never beside a job of this service on the same stack.
        if ((await service.stacks.state(stack)) !== "idle") throw stackBusy(stack);
        res.json(await recovery.repair(stack, body.method ?? "strip", principal, req.ip ?? "unknown", { overrideFence: body.overrideFence }));
    });
    r.post("/stacks/:stack/unlock", auth.authenticate, auth.requireRole("admin"), async (req, res) => {
        const stack = parse(StackName, req.params.stack, "path.stack");
        service.assertStack(stack);
        const { confirm, overrideFence } = parse(UnlockBody, req.body ?? {}, "body");
        if (confirm !== stack) throw invalidInput(`Unlocking "${stack}" needs {"confirm": "${stack}"} in the body.`, { problems: [{ field: "body.confirm", problem: `must equal "${stack}"` }] });
        const principal = callerOf(res);
        // The lock of this service's own running job is never an override's business.
        if ((await service.stacks.state(stack)) === "running") throw stackBusy(stack);
        res.json(await recovery.unlock(stack, principal, req.ip ?? "unknown", { overrideFence }));
    });
    return r;
}
