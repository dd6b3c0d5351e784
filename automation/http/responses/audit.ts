// The answer of GET /v1/audit: a page of entries and the verification of the whole chain.
import { z } from "zod";
import type { VerifyResult } from "../../audit/trail";
import { VIAS } from "../../security/roles";
import { instant } from "./recovery";
import { component, fits } from "./registry";

const d = (description: string) => ({ description });

// An entry is answered as the log holds it, edited lines included (that is how the verification
// can point at one), so its fields are declared but not closed.
export const AuditEntrySchema = component(
    "AuditEntry",
    z.looseObject({
        seq: z.int(),
        at: instant(),
        prev: z.string().meta(d("Hash of the previous entry (GENESIS for the first), which chains the log.")),
        hash: z.string().meta(d("SHA-256 over prev and the canonical JSON of this entry without hash.")),
        actor: z.looseObject({ name: z.string(), role: z.string().optional(), via: z.enum(VIAS) }),
        action: z.string().meta(d("Dotted verb, e.g. job.create, approval.approve, stack.repair, auth.denied.")),
        from: z.string().meta(d("Where the request came from: client address, github:<delivery-id>, or local.")),
        result: z.string().meta(d("ok, denied, failed, stopped, rate-limited, …")),
        stack: z.string().optional(),
        jobId: z.string().optional(),
        previewId: z.string().optional(),
        approvalId: z.string().optional(),
        details: z.record(z.string(), z.unknown()).optional(),
    }),
);

const VerificationSchema = z.strictObject({
    ok: z.boolean(),
    entries: z.int(),
    firstBad: z
        .strictObject({ line: z.int().meta(d("1-based")), seq: z.int().optional(), reason: z.string() })
        .optional()
        .meta(d("The first line that does not match the chain: edited, removed or inserted.")),
});

export const AuditPageSchema = component(
    "AuditPage",
    z.strictObject({
        entries: z.array(AuditEntrySchema),
        next: z.int().optional().meta(d("Pass as after to get the next page; absent on the last page.")),
        verification: VerificationSchema,
    }),
);

fits<VerifyResult, z.infer<typeof VerificationSchema>>();
