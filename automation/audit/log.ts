import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Who or what acted. API callers are token principals; GitHub deliveries act as "github";
 * start-up recovery and guards act as "system".
 */
export interface AuditActor {
    name: string;
    role?: string;
    via: "token" | "webhook" | "system";
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

export const GENESIS = "0".repeat(64);

/** JSON with keys sorted at every level, so the hash does not depend on property order. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}

export function entryHash(entry: Omit<AuditEntry, "hash">): string {
    return createHash("sha256").update(entry.prev).update("\n").update(canonicalJson(entry)).digest("hex");
}

export interface VerifyResult {
    ok: boolean;
    entries: number;
    /** The first entry that does not match the chain, by line number (1-based) and seq. */
    firstBad?: { line: number; seq?: number; reason: string };
}

/** The action of the entry recording, at start-up, that entries were cut from the log's end. */
export const TRUNCATED = "audit.truncated";

/**
 * Checks every line: parseable, consecutive seq, links to the previous hash, hash matches, and
 * no entry saying the end of the log was cut off (the chain resumes after such a cut).
 */
export function verifyLines(lines: readonly string[]): VerifyResult {
    let prev = GENESIS;
    let expectedSeq = 1;
    for (let i = 0; i < lines.length; i++) {
        const line = i + 1;
        let e: AuditEntry;
        try {
            e = JSON.parse(lines[i]) as AuditEntry;
        } catch {
            return { ok: false, entries: lines.length, firstBad: { line, reason: "not valid JSON" } };
        }
        const { hash, ...rest } = e;
        if (e.seq !== expectedSeq) return { ok: false, entries: lines.length, firstBad: { line, seq: e.seq, reason: `seq ${e.seq} where ${expectedSeq} was expected (entry removed or inserted)` } };
        if (e.prev !== prev) return { ok: false, entries: lines.length, firstBad: { line, seq: e.seq, reason: "prev does not match the hash of the entry before it" } };
        if (entryHash(rest) !== hash) return { ok: false, entries: lines.length, firstBad: { line, seq: e.seq, reason: "content does not match its hash (entry edited)" } };
        if (e.action === TRUNCATED) {
            const missing = e.details?.missing as { fromSeq: number; toSeq: number } | undefined;
            return { ok: false, entries: lines.length, firstBad: { line, seq: e.seq, reason: `entries ${missing?.fromSeq}–${missing?.toSeq} were cut from the end of the log while the service was down` } };
        }
        prev = hash;
        expectedSeq++;
    }
    return { ok: true, entries: lines.length };
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

export interface AuditLogOptions {
    /** Applied to every record before it is written; the service passes its redactor. */
    redact?: <T>(value: T) => T;
    now?: () => Date;
}

/**
 * Append-only, hash-chained JSON Lines file. Each append is written with one `write` and
 * fsync'd before it returns, so an acknowledged entry survives a crash or power loss; one
 * process (the service) writes it. The chain cannot show lines cut from its end, so the head
 * (last seq and hash) is also kept in memory and in `<file>.head`, written after the fsync:
 * `verify` compares the file with the head, and a start-up that finds the file shorter than
 * the head records an `audit.truncated` entry, which verification then reports.
 *
 * A separate file rather than a table in the job store, because it must outlive and be
 * checkable without the service (`jq`, `sha256sum`), can be shipped to write-once storage
 * line by line, and an UPDATE in SQLite leaves no trace.
 */
export class AuditLog {
    private fd: number;
    private seq = 0;
    private prev = GENESIS;
    private readonly redact: <T>(value: T) => T;
    private readonly now: () => Date;

    constructor(readonly file: string, options: AuditLogOptions = {}) {
        this.redact = options.redact ?? (<T>(v: T) => v);
        this.now = options.now ?? (() => new Date());
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tornBytes = this.dropTornTail();
        const lines = this.lines();
        let tailReadable = true;
        if (lines.length > 0) {
            try {
                const last = JSON.parse(lines[lines.length - 1]) as AuditEntry;
                this.seq = last.seq;
                this.prev = last.hash;
            } catch {
                // a tampered last line: keep appending after it; verify() reports it
                this.seq = lines.length;
                tailReadable = false;
            }
        }
        const head = this.readHead();
        this.fd = fs.openSync(file, "a", 0o600);
        if (head && tailReadable && (head.seq > this.seq || (head.seq === this.seq && head.hash !== this.prev))) {
            this.append({
                actor: { name: "audit", via: "system" },
                action: TRUNCATED,
                from: "local",
                result: "tampered",
                details: { missing: { fromSeq: Math.min(this.seq + 1, head.seq), toSeq: head.seq }, lastHash: head.hash },
            });
        }
        if (tornBytes > 0) {
            this.append({ actor: { name: "audit", via: "system" }, action: "audit.torn-tail-dropped", from: "local", result: "ok", details: { bytes: tornBytes } });
        }
    }

    /** A crash mid-write can leave a last line without its newline; it was never acknowledged. */
    private dropTornTail(): number {
        if (!fs.existsSync(this.file)) return 0;
        const buf = fs.readFileSync(this.file);
        if (buf.length === 0 || buf[buf.length - 1] === 0x0a) return 0;
        const keep = buf.lastIndexOf(0x0a) + 1;
        fs.truncateSync(this.file, keep);
        return buf.length - keep;
    }

    private get headFile(): string {
        return `${this.file}.head`;
    }

    private readHead(): { seq: number; hash: string } | undefined {
        try {
            const head = JSON.parse(fs.readFileSync(this.headFile, "utf8")) as { seq: unknown; hash: unknown };
            return typeof head.seq === "number" && typeof head.hash === "string" ? { seq: head.seq, hash: head.hash } : undefined;
        } catch {
            return undefined;
        }
    }

    private lines(): string[] {
        if (!fs.existsSync(this.file)) return [];
        return fs.readFileSync(this.file, "utf8").split("\n").filter((l) => l.length > 0);
    }

    append(record: AuditRecord): AuditEntry {
        const clean = this.redact(record);
        const body: Omit<AuditEntry, "hash"> = { ...clean, seq: this.seq + 1, at: this.now().toISOString(), prev: this.prev };
        const entry: AuditEntry = { ...body, hash: entryHash(body) };
        fs.writeSync(this.fd, JSON.stringify(entry) + "\n");
        fs.fsyncSync(this.fd);
        this.seq = entry.seq;
        this.prev = entry.hash;
        // After the fsync, so the head is never ahead of what the file durably holds.
        fs.writeFileSync(this.headFile, JSON.stringify({ seq: entry.seq, hash: entry.hash }) + "\n", { mode: 0o600 });
        return entry;
    }

    verify(): VerifyResult {
        const lines = this.lines();
        const result = verifyLines(lines);
        if (!result.ok || this.seq === 0) return result;
        const last = JSON.parse(lines[lines.length - 1] ?? "null") as AuditEntry | null;
        if (last?.seq !== this.seq || last.hash !== this.prev) {
            return { ok: false, entries: lines.length, firstBad: { line: lines.length + 1, seq: (last?.seq ?? 0) + 1, reason: `the log ends at seq ${last?.seq ?? 0}, but this service wrote up to seq ${this.seq} (entries cut from the end)` } };
        }
        return result;
    }

    page(query: AuditQuery = {}): AuditPage {
        const after = query.after ?? 0;
        const limit = Math.min(Math.max(query.limit ?? 100, 1), 500);
        const out: AuditEntry[] = [];
        let more = false;
        for (const line of this.lines()) {
            let e: AuditEntry;
            try {
                e = JSON.parse(line) as AuditEntry;
            } catch {
                continue;
            }
            if (e.seq <= after) continue;
            if (query.stack && e.stack !== query.stack) continue;
            if (query.action && e.action !== query.action && !e.action.startsWith(query.action + ".")) continue;
            if (out.length === limit) {
                more = true;
                break;
            }
            out.push(e);
        }
        return more ? { entries: out, next: out[out.length - 1].seq } : { entries: out };
    }

    close(): void {
        fs.closeSync(this.fd);
    }
}
