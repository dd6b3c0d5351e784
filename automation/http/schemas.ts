import { z } from "zod";
import { invalidInput } from "../errors";
import { JOB_STATES } from "../jobs/types";
import { STACK_NAME_PATTERN } from "../pulumi/stacks";

/** Stack names as Pulumi allows them; anything else is refused before the allow-list lookup. */
export const StackName = z.string().regex(new RegExp(`^${STACK_NAME_PATTERN}$`), "must be 1-100 letters, digits, '.', '_' or '-'");
export const JobId = z.uuid({ message: "must be a job id (UUID)" });

const common = {
    /** Refuse with 409 STACK_BUSY instead of waiting when the stack has work. */
    noQueue: z.boolean().optional(),
    message: z.string().max(500).optional(),
};

export const PreviewBody = z.strictObject({
    ...common,
    mode: z.enum(["plan"]).optional(),
    /** Read the state from the cloud first (`--refresh`): the preview then shows what putting drift right changes; an update applying it refreshes too. */
    refresh: z.boolean().optional(),
});
export const UpdateBody = z.strictObject({ ...common, previewId: JobId.optional() });
export const RefreshBody = z.strictObject({ ...common, mode: z.enum(["preview", "apply"]).optional() });
export const DestroyBody = z.strictObject({ ...common, confirm: z.string(), previewId: JobId.optional() });

export const JobsQuery = z.object({
    stack: StackName.optional(),
    state: z.enum(JOB_STATES).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
});
export const LogQuery = z.object({
    cursor: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** Parses or throws 422 INVALID_INPUT naming each offending field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
    const r = schema.safeParse(value ?? {});
    if (r.success) return r.data;
    const problems = r.error.issues.map((i) => ({ field: [where, ...i.path.map(String)].join("."), problem: i.message }));
    throw invalidInput(`Invalid ${where}: ${problems.map((p) => `${p.field} ${p.problem}`).join("; ")}.`, { problems });
}

/**
 * A cancel; `force` (admins) kills a job already cancelling without waiting for its running
 * steps, and with `dryRun` only says what that would leave behind.
 */
export const CancelBody = z.strictObject({ force: z.boolean().optional(), dryRun: z.boolean().optional() });
