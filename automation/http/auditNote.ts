import type { Response } from "express";
import type { AuditRecord } from "../audit/trail";

/** What a route says of its own request, in place of the audit middleware's plain entry. */
export type AuditNote = Pick<AuditRecord, "action"> & Partial<Pick<AuditRecord, "stack" | "jobId" | "details">>;

/**
 * A route's own name for what its request did, with what matters of it, recorded in place of
 * the plain `http.<method>` entry (e.g. `job.force-cancel` with the steps it cut off).
 */
export function auditAs(res: Response, note: AuditNote): void {
    res.locals.auditNote = note;
}

export const auditNoteOf = (res: Response): AuditNote | undefined => res.locals.auditNote as AuditNote | undefined;
