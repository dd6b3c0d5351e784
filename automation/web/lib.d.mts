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
}

export declare function permissions(role: string | undefined): Permissions;
export declare function isTerminal(state: string): boolean;
export declare function stateLabel(state: unknown): { text: string; tone: "ok" | "busy" | "bad" | "neutral" };
export declare function stackStates(stack: { state?: string; repair?: { needed?: boolean } } | undefined): string[];
export declare function resourceName(urn: unknown): string;

export interface DiffInput { path: string; kind: string; old?: unknown; new?: unknown }
export interface StepInput { urn?: string; type?: string; op?: string; diffs?: DiffInput[]; replaceReasons?: string[] }
export interface SummaryInput {
    counts?: Record<string, number>;
    steps?: StepInput[];
}
export interface DiffLine { kind: string; text: string }

export declare function summaryTable(summary: SummaryInput | undefined | null): {
    countRows: Array<{ op: string; count: number }>;
    stepRows: Array<{ op: string; type: string; name: string; urn: string; changes: DiffLine[] }>;
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

export interface ApprovalRecord {
    approvals?: Array<{ decision: string; by: string; operation?: string; comment?: string; at?: string }>;
    update?: { required: number; approvedBy: string[]; rejectedBy: string[]; satisfied: boolean };
    latest?: boolean;
    appliedBy?: { jobId: string; op?: string; finishedAt?: string };
}

export declare function relativeTime(iso: string | undefined, now?: number): string;
export declare function myDecision(record: ApprovalRecord | undefined | null, me: string | undefined): { decision: string; by: string; at?: string } | undefined;
export declare function approvalSummary(record: ApprovalRecord | undefined | null): { needed: boolean; open: boolean; text: string; decisions: string[] };

export declare function collectLogPages(
    fetchPage: (cursor: number) => Promise<{ lines: Array<{ text: string }>; nextCursor: number }>,
    cursor?: number,
    options?: { pageSize?: number; maxPages?: number },
): Promise<{ lines: string[]; cursor: number; more: boolean }>;
