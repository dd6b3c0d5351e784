import type { Via } from "../security/roles";

// What the service needs of an audit trail, whichever one it runs with: the file (fileLog.ts)
// or the Postgres table (postgresLog.ts). The chain both keep is chain.ts's.

/**
 * Who or what acted. API callers are token principals; GitHub deliveries act as "github";
 * start-up recovery and guards act as "system".
 */
export interface AuditActor {
    name: string;
    role?: string;
    via: Via;
}

/** What the caller records; the log adds seq, time and the chain. */
export interface AuditRecord {
    actor: AuditActor;
    /** Dotted verb, e.g. `job.create`, `approval.approve`, `stack.repair`, `auth.denied`. */
    action: string;
    /** Where the request came from: client address, `github:<delivery-id>`, or `local`. */
    from: string;
    /** `ok`, `denied`, `failed`, `stopped`, ... */
    result: string;
    stack?: string;
    jobId?: string;
    previewId?: string;
    approvalId?: string;
    details?: Record<string, unknown>;
}

export interface AuditEntry extends AuditRecord {
    seq: number;
    at: string;
    /** Hash of the previous entry (GENESIS for the first), which chains the log. */
    prev: string;
    /** SHA-256 over `prev` and the canonical JSON of this entry without `hash`. */
    hash: string;
}

export interface VerifyResult {
    ok: boolean;
    entries: number;
    /** The first entry that does not match the chain, by line number (1-based) and seq. */
    firstBad?: { line: number; seq?: number; reason: string };
}

/** Longest string kept in an entry; longer ones (a 14,000-character path) are cut with a note. */
export const MAX_AUDIT_STRING = 1024;

/** Cuts every string in a record to MAX_AUDIT_STRING characters. */
export function capStrings<T>(value: T): T {
    if (typeof value === "string") return (value.length > MAX_AUDIT_STRING ? `${value.slice(0, MAX_AUDIT_STRING)}…[${value.length - MAX_AUDIT_STRING} more characters]` : value) as T;
    if (Array.isArray(value)) return value.map(capStrings) as T;
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capStrings(v)])) as T;
    return value;
}

export interface AuditPage {
    entries: AuditEntry[];
    /** Pass as `after` to get the next page; absent on the last page. */
    next?: number;
}

export interface AuditQuery {
    /** Entries with seq greater than this. @default 0 */
    after?: number;
    /** Page size, 1..500. @default 100 */
    limit?: number;
    stack?: string;
    action?: string;
}

/**
 * What the service needs of an audit trail: the hash-chained file (AuditLog, one process) or
 * the same chain in a shared Postgres table (PostgresAuditLog, any number of instances).
 * `append` never makes its caller wait or fail: the trail orders and writes it.
 */
export interface AuditTrail {
    append(record: AuditRecord): void;
    /** Resolves once every append made so far is durable. */
    flush(): Promise<void>;
    verify(): VerifyResult | Promise<VerifyResult>;
    page(query?: AuditQuery): AuditPage | Promise<AuditPage>;
    /**
     * The decisions on `previewId` the chain records as made (`approval.approve` and
     * `approval.reject` entries with result `ok`): an approval row without one did not come
     * through the service.
     */
    recordedApprovals(previewId: string): Promise<RecordedApproval[]>;
    close(): void | Promise<void>;
}

/** An approval as its audit entry records it: what a stored approval row must match. */
export interface RecordedApproval {
    approvalId: string;
    by: string;
    decision: string;
    operation: unknown;
}

const APPROVAL_ACTIONS = new Set(["approval.approve", "approval.reject"]);

/** The approval an entry records, if it records one. */
export function recordedApproval(e: AuditEntry): { previewId: string; approval: RecordedApproval } | undefined {
    if (!APPROVAL_ACTIONS.has(e.action) || e.result !== "ok" || !e.previewId || !e.approvalId) return undefined;
    return { previewId: e.previewId, approval: { approvalId: e.approvalId, by: e.actor.name, decision: e.action.slice("approval.".length), operation: e.details?.operation } };
}
