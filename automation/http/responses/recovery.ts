// The answers of GET/POST /v1/stacks/{stack}/repair and POST /v1/stacks/{stack}/unlock, and the
// findings crash recovery reports (also in a stack's status).
import { z } from "zod";
import type { RepairResult, StackHealth, UnlockResult } from "../../recovery/service";
import { component, fits } from "./registry";

const d = (description: string) => ({ description });
export const instant = () => z.string().meta({ format: "date-time" });

const LockSchema = z.strictObject({
    file: z.string().meta(d("The lock's file or key in the backend.")),
    pid: z.int(),
    username: z.string(),
    hostname: z.string(),
    timestamp: z.string(),
});
const PendingOperationSchema = z.strictObject({ type: z.string(), urn: z.string() });

export const FindingSchema = component(
    "Finding",
    z
        .discriminatedUnion("kind", [
            z.strictObject({ kind: z.literal("stale-lock"), lock: LockSchema, cleared: z.boolean().meta(d("Whether recovery removed it (its process is gone).")) }),
            z.strictObject({ kind: z.literal("live-lock"), lock: LockSchema }),
            z.strictObject({ kind: z.literal("foreign-lock"), lock: LockSchema }),
            z.strictObject({ kind: z.literal("unreadable-lock"), file: z.string() }),
            z.strictObject({ kind: z.literal("pending-operations"), operations: z.array(PendingOperationSchema) }),
        ])
        .meta(d("What a run that did not finish left behind: a lock (stale: its process is gone; live: it runs; foreign: another host's) or pending operations.")),
);
export type Finding = z.infer<typeof FindingSchema>;

export const StackHealthSchema = component(
    "StackHealth",
    z.strictObject({
        stack: z.string(),
        state: z.enum(["ok", "needs-repair"]),
        findings: z.array(FindingSchema),
        checkedAt: instant().optional().meta(d("When recovery last looked; absent when it never has.")),
    }),
);
export type StackHealthAnswer = z.infer<typeof StackHealthSchema>;

export const RepairResultSchema = component(
    "RepairResult",
    z.strictObject({
        stack: z.string(),
        method: z.enum(["strip", "refresh"]),
        backup: z.string().meta(d("Where the exported state was saved before the repair.")),
        clearedLocks: z.array(z.string()),
        droppedOperations: z.array(PendingOperationSchema).meta(d("A pending create may have made a resource Pulumi no longer tracks: import it.")),
        after: StackHealthSchema,
    }),
);
export type RepairAnswer = z.infer<typeof RepairResultSchema>;

export const UnlockResultSchema = component(
    "UnlockResult",
    z.strictObject({
        stack: z.string(),
        removedLocks: z.array(LockSchema).meta(d("The locks found just before they were removed (file://, postgres:// and s3:// backends; others cannot be listed).")),
        after: StackHealthSchema,
    }),
);
export type UnlockAnswer = z.infer<typeof UnlockResultSchema>;

// The recovery service's types must fit the schemas: a field typed otherwise there fails
// typecheck here (one the schema lacks fails where the route sends it).
fits<StackHealth, StackHealthAnswer>();
fits<RepairResult, RepairAnswer>();
fits<UnlockResult, UnlockAnswer>();
