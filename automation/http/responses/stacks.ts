// The answers of GET /v1/stacks and GET /v1/stacks/{stack}: a stack's status, as the job
// service's StackView builds it with the schedules and dependencies the assembly adds.
import { z } from "zod";
import { JobSchema } from "../../jobs/types";
import { FindingSchema, instant } from "./recovery";
import type { StackStatus } from "../../jobs/stackView";
import { component, fits } from "./registry";

const d = (description: string) => ({ description });

const DriftedResourceSchema = z.strictObject({ urn: z.string(), op: z.string(), properties: z.array(z.string()) });

const ScheduleRunSchema = z
    .strictObject({
        at: z.string().meta(d("The moment the run was for.")),
        jobId: z.string().optional(),
        state: JobSchema.shape.state.optional(),
        drifted: z.array(DriftedResourceSchema).optional().meta(d("For a drift check that succeeded: the resources that drifted.")),
        note: z.string().optional().meta(d("Why no job started.")),
    })
    .meta(d("The schedule's last run."));

export const StackStatusSchema = component(
    "StackStatus",
    z.strictObject({
        name: z.string(),
        state: z.enum(["idle", "running", "queued"]),
        runningJob: z.string().optional(),
        queued: z.int(),
        lastJob: JobSchema.pick({ id: true, op: true, state: true, createdAt: true, finishedAt: true }).strict().optional().meta(d("The last job that ran (one cancelled while queued, or still waiting, says nothing of the stack).")),
        outputs: z.record(z.string(), z.unknown()).optional().meta(d("Outputs after the last successful update, refresh or destroy; secrets masked.")),
        repair: z
            .strictObject({ needed: z.boolean(), findings: z.array(FindingSchema), checkedAt: instant().optional() })
            .optional()
            .meta(d("Present when crash recovery runs (npm start). needed: a run that did not finish left pending operations or a lock nobody may clear; new jobs get 409 NEEDS_REPAIR until POST /v1/stacks/{stack}/repair clears it.")),
        drift: z
            .strictObject({
                checkedAt: instant().optional(),
                jobId: z.string(),
                mode: z.enum(["preview", "apply"]).meta(d("preview: reported only; apply: the state was updated to match.")),
                drifted: z.int().meta(d("How many resources drifted (changed or gone).")),
                resources: z.array(DriftedResourceSchema),
            })
            .optional()
            .meta(d("What the last successful refresh found.")),
        policy: z.string().optional().meta(d("Who may do what on the stack, in words.")),
        schedules: z
            .strictObject({
                driftCheck: z.strictObject({ cron: z.string(), remediate: z.boolean(), nextRun: instant(), last: ScheduleRunSchema.optional() }).optional(),
                destroy: z.strictObject({ ttlMinutes: z.int(), remindMinutesBefore: z.int(), nextRun: instant().optional(), last: ScheduleRunSchema.optional() }).optional(),
            })
            .optional()
            .meta(d("The stack's schedules (schedules: in its policy file), each with its next run and its last run.")),
        dependencies: z
            .strictObject({
                dependsOn: z.array(z.strictObject({ stack: z.string(), outputs: z.array(z.string()).optional(), run: z.enum(["preview", "update"]) })),
                references: z.array(z.string()).optional().meta(d("The stacks its program was last seen reading through a StackReference.")),
                warnings: z.array(z.string()).optional().meta(d("Where dependsOn and the references disagree.")),
            })
            .optional()
            .meta(d("The stacks this one follows (dependsOn in its policy file), the StackReferences its program was last seen making, and warnings where the two disagree.")),
    }),
);
export type StackStatusAnswer = z.infer<typeof StackStatusSchema>;

export const StackListSchema = component("StackList", z.strictObject({ stacks: z.array(StackStatusSchema) }));

// The stack's status as the job service builds it must fit the schema: a field typed otherwise in
// jobs/stackView.ts, schedules/service.ts or dependencies/service.ts fails typecheck here (one the
// schema lacks fails where the route sends it).
fits<StackStatus, StackStatusAnswer>();
