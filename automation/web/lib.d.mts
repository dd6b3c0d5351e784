// Types of lib.mjs for the TypeScript tests; the page itself loads lib.mjs without a build step.

export interface SseEvent {
    type: string;
    data: string;
    id: string;
}

export declare class SseParser {
    lastEventId: string;
    retry: number | undefined;
    push(chunk: string): SseEvent[];
}

export declare function eventPayload(event: SseEvent): unknown;

export interface ReadEventStreamOptions {
    url: string;
    token?: string;
    onEvent(event: SseEvent): void;
    isFinal(event: SseEvent): boolean;
    signal?: AbortSignal;
    fetchImpl?: typeof fetch;
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
    maxReconnects?: number;
    retryMs?: number;
}

export declare function readEventStream(options: ReadEventStreamOptions): Promise<{ lastEventId: string; reconnects: number }>;

export declare class ApiError extends Error {
    constructor(status: number, body: unknown);
    status: number;
    code: string | undefined;
}

export declare function apiErrorMessage(status: number, body: unknown): string;

export declare const ROLES: readonly ["viewer", "operator", "approver", "admin"];

export interface Permissions {
    preview: boolean;
    refresh: boolean;
    update: boolean;
    cancel: boolean;
    approve: boolean;
    destroy: boolean;
    forceCancel: boolean;
    repair: boolean;
    unlock: boolean;
    audit: boolean;
    notifications: boolean;
}

export declare function permissions(role: string | undefined): Permissions;

export interface RequestInitOptions { method?: string; body?: unknown; token?: string; csrfToken?: string }
export declare function requestInit(options?: RequestInitOptions): { method: string; headers: Record<string, string>; credentials: "same-origin"; body?: string };
export declare function signInOptions(auth: unknown): { oidc?: { href: string; label: string } };
export declare function readinessProblems(report: unknown): Array<{ name: string; detail: string }>;

export interface FindingInput { kind: string; lock?: { file?: string; pid: number; username?: string; hostname: string; timestamp?: string }; file?: string; cleared?: boolean; operations?: Array<{ type: string; urn: string }> }
export declare function recoveryActions(stack: { repair?: { needed?: boolean; findings?: FindingInput[] } } | undefined): { repair: boolean; unlock: boolean };
export declare function recoveryEffects(health: { stack?: string; findings?: FindingInput[] } | undefined, stack?: string): { repair: string[]; repairRefused?: string; unlock: string[] };
export declare function isTerminal(state: string): boolean;
export declare function stateLabel(state: unknown): { text: string; tone: "ok" | "busy" | "bad" | "neutral" };
export declare function stackStates(stack: { state?: string; repair?: { needed?: boolean; findings?: FindingInput[] } } | undefined): string[];
export declare function resourceName(urn: unknown): string;

export interface DiffInput { path: string; kind: string; old?: unknown; new?: unknown }
export interface StepInput { urn?: string; type?: string; op?: string; diffs?: DiffInput[]; replaceReasons?: string[]; drift?: boolean }
export interface SummaryInput {
    counts?: Record<string, number>;
    steps?: StepInput[];
}
export interface DiffLine { kind: string; text: string }

export declare function summaryTable(summary: SummaryInput | undefined | null): {
    countRows: Array<{ op: string; count: number }>;
    /** label: the operation, "(drift)" after a refresh's finding; key: the row's identity (a resource may have a drift row and a planned one). */
    stepRows: Array<{ op: string; drift: boolean; label: string; key: string; type: string; name: string; urn: string; changes: DiffLine[] }>;
};
export declare function diffLines(step: StepInput | undefined): DiffLine[];
export declare function driftBadge(stack: { drift?: { drifted?: number; mode?: string } } | undefined): { text: string; tone: "ok" | "bad" | "neutral" } | undefined;
export declare function automationLines(stack: Record<string, any> | undefined): Array<{ tone: "neutral" | "bad"; text: string }>;

export declare function jobsQuery(filters?: { stack?: string; state?: string }): string;
export declare function formatTime(iso: string | undefined | null): string;
export declare function durationText(startIso: string | undefined | null, endIso: string | undefined | null, now?: number): string;

export interface StreamedEvent {
    seq?: number;
    type: string;
    at?: string;
    data: unknown;
}

export declare function stripColour(text: unknown): string;
export declare function logLinesFromEvent(stored: StreamedEvent, steps?: Map<string, number>): Array<{ kind: "output" | "error" | "step" | "state"; text: string }>;
export declare function isFinalEvent(stored: StreamedEvent | undefined): boolean;

export interface ApprovalStatusInput { required: number; approvedBy: string[]; rejectedBy: string[]; satisfied: boolean }
export interface ApprovalRecord {
    previewId?: string;
    approvals?: Array<{ decision: string; by: string; operation?: string; comment?: string; at?: string }>;
    update?: ApprovalStatusInput;
    destroy?: ApprovalStatusInput;
    latest?: boolean;
    appliedBy?: { jobId: string; op?: string; finishedAt?: string };
    commit?: string;
    staleness?: { checkedAt?: string; stale?: boolean; changes?: Array<{ part: string; message: string }>; error?: string };
    resources?: Array<{ urn: string; type: string }>;
}

export declare function relativeTime(iso: string | undefined, now?: number): string;
export declare function myDecision(record: ApprovalRecord | undefined | null, me: string | undefined, operation?: "update" | "destroy"): { decision: string; by: string; at?: string } | undefined;
export declare function approvalSummary(record: ApprovalRecord | undefined | null, operation?: "update" | "destroy"): { needed: boolean; open: boolean; satisfied: boolean; text: string; decisions: string[] };
export declare function stalenessNote(record: ApprovalRecord | undefined | null): { tone: "ok" | "bad" | "neutral"; text: string } | undefined;
export declare function destroyPlan(stack: string, record: ApprovalRecord | undefined): { resources: string[]; note: string; previewId?: string; blocked?: string };

export declare function auditQuery(filters?: { after?: number | string; limit?: number | string; stack?: string; action?: string }): string;
export declare function verificationText(v: unknown): { tone: "ok" | "bad" | "neutral"; text: string };
export declare function auditRow(entry: unknown): { seq: number; at: string; who: string; action: string; stack: string; result: string; from: string; jobId?: string; previewId?: string; details: string };
export declare function deliveryText(delivery: unknown): string;

export declare function collectLogPages(
    fetchPage: (cursor: number) => Promise<{ lines: Array<{ text: string }>; nextCursor: number }>,
    cursor?: number,
    options?: { pageSize?: number; maxPages?: number },
): Promise<{ lines: string[]; cursor: number; more: boolean }>;
