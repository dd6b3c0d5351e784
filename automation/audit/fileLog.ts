import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { ChainVerifier, entryHash, GENESIS, TRUNCATED } from "./chain";
import { capStrings, recordedApproval, type AuditEntry, type AuditPage, type AuditQuery, type AuditRecord, type AuditTrail, type RecordedApproval, type VerifyResult } from "./trail";
import { makeDirs } from "../lib/dirs";

/** The non-empty lines of `file`, read in chunks: a log of any size never sits whole in memory. */
export function* readLines(file: string, chunkBytes = 1 << 16): Generator<string> {
    // A rotated file is kept compressed; it is at most maxBytes when plain.
    if (file.endsWith(".gz")) {
        if (!fs.existsSync(file)) return;
        for (const line of zlib.gunzipSync(fs.readFileSync(file)).toString("utf8").split("\n")) if (line) yield line;
        return;
    }
    let fd: number;
    try {
        fd = fs.openSync(file, "r");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        throw e;
    }
    try {
        const buf = Buffer.alloc(chunkBytes);
        let carry = Buffer.alloc(0);
        for (;;) {
            const n = fs.readSync(fd, buf, 0, buf.length, null);
            if (n === 0) break;
            let data = Buffer.concat([carry, buf.subarray(0, n)]);
            let nl: number;
            while ((nl = data.indexOf(0x0a)) >= 0) {
                if (nl > 0) yield data.subarray(0, nl).toString("utf8");
                data = data.subarray(nl + 1);
            }
            carry = Buffer.from(data);
        }
        if (carry.length) yield carry.toString("utf8");
    } finally {
        fs.closeSync(fd);
    }
}

/** The last non-empty line of `file`, read from its end. */
function lastLine(file: string): string | undefined {
    if (!fs.existsSync(file)) return undefined;
    if (file.endsWith(".gz")) {
        let last: string | undefined;
        for (const line of readLines(file)) last = line;
        return last;
    }
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, "r");
    try {
        let tail = Buffer.alloc(0);
        for (let end = size; end > 0; ) {
            const start = Math.max(0, end - (1 << 16));
            const buf = Buffer.alloc(end - start);
            fs.readSync(fd, buf, 0, buf.length, start);
            tail = Buffer.concat([buf, tail]);
            const trimmed = tail.subarray(0, tail[tail.length - 1] === 0x0a ? tail.length - 1 : tail.length);
            const nl = trimmed.lastIndexOf(0x0a);
            if (nl >= 0 || start === 0) return trimmed.subarray(nl + 1).toString("utf8") || undefined;
            end = start;
        }
        return undefined;
    } finally {
        fs.closeSync(fd);
    }
}

export interface AuditLogOptions {
    /** Applied to every record before it is written; the service passes its redactor. */
    redact?: <T>(value: T) => T;
    now?: () => Date;
    /**
     * Size after which the file is rotated: renamed to `<file>.<n>` (n = 1, 2, ... oldest
     * first) and a new one begun, the chain going on across files. @default 64 MiB
     */
    maxBytes?: number;
}

/**
 * Append-only, hash-chained JSON Lines file. Each append is written with one `write` and
 * fsync'd before it returns, so an acknowledged entry survives a crash or power loss; one
 * process (the service) writes it. Past `maxBytes` the file is rotated; the chain runs on
 * through the rotated files, which verification and paging read oldest first, line by line.
 * The chain cannot show lines cut from its end, so the head (last seq and hash) is also kept in
 * memory and in `<file>.head`, written after the fsync: `verify` compares the log with the
 * head, and a start-up that finds the log shorter than the head records an `audit.truncated`
 * entry, which verification then reports.
 *
 * A separate file rather than a table in the job store, because it must outlive and be
 * checkable without the service (`jq`, `sha256sum`), can be shipped to write-once storage
 * line by line, and an UPDATE in SQLite leaves no trace.
 */
export class AuditLog implements AuditTrail {
    private fd: number;
    private seq = 0;
    private prev = GENESIS;
    private bytes = 0;
    private readonly redact: <T>(value: T) => T;
    private readonly now: () => Date;
    private readonly maxBytes: number;
    /** Entries not yet durable (the disk refused them), in order. */
    private readonly waiting: { record: AuditRecord; at: string }[] = [];
    private writeError?: Error;
    private retryTimer?: NodeJS.Timeout;
    /** Approvals by preview, read from the whole chain on first use and kept up to date after. */
    private approvals?: Map<string, RecordedApproval[]>;

    constructor(readonly file: string, options: AuditLogOptions = {}) {
        this.redact = options.redact ?? (<T>(v: T) => v);
        this.now = options.now ?? (() => new Date());
        this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
        makeDirs(path.dirname(file));
        const tornBytes = this.dropTornTail();
        const files = this.files();
        const last = files.reduceRight<string | undefined>((found, f) => found ?? lastLine(f), undefined);
        let tailReadable = true;
        if (last !== undefined) {
            try {
                const entry = JSON.parse(last) as AuditEntry;
                this.seq = entry.seq;
                this.prev = entry.hash;
            } catch {
                // a tampered last line: keep appending after it; verify() reports it
                let n = 0;
                for (const f of files) for (const _ of readLines(f)) n++;
                this.seq = n;
                tailReadable = false;
            }
        }
        const head = this.readHead();
        this.fd = fs.openSync(file, "a", 0o600);
        this.bytes = fs.fstatSync(this.fd).size;
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

    /** The rotated files (`<file>.<n>.gz`, or `<file>.<n>` before it was compressed), oldest first, then the current one. */
    files(): string[] {
        const dir = path.dirname(this.file);
        const base = path.basename(this.file);
        const byNumber = new Map<number, string>();
        for (const f of fs.readdirSync(dir)) {
            const m = f.startsWith(`${base}.`) ? /^(\d+)(\.gz)?$/.exec(f.slice(base.length + 1)) : null;
            if (!m || Number(m[1]) < 1) continue;
            // A crash between compressing and removing the plain file leaves both: the plain one is read.
            if (!m[2] || !byNumber.has(Number(m[1]))) byNumber.set(Number(m[1]), path.join(dir, f));
        }
        const rotated = [...byNumber.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
        return [...rotated, this.file];
    }

    /** A crash mid-write can leave a last line without its newline; it was never acknowledged. */
    private dropTornTail(): number {
        if (!fs.existsSync(this.file)) return 0;
        const size = fs.statSync(this.file).size;
        if (size === 0) return 0;
        const fd = fs.openSync(this.file, "r");
        try {
            // Only the tail is read: the last newline lies within the last line's length.
            for (let end = size; end > 0; ) {
                const start = Math.max(0, end - (1 << 16));
                const buf = Buffer.alloc(end - start);
                fs.readSync(fd, buf, 0, buf.length, start);
                if (end === size && buf[buf.length - 1] === 0x0a) return 0;
                const nl = buf.lastIndexOf(0x0a);
                if (nl >= 0 || start === 0) {
                    const keep = nl >= 0 ? start + nl + 1 : 0;
                    fs.truncateSync(this.file, keep);
                    return size - keep;
                }
                end = start;
            }
            return 0;
        } finally {
            fs.closeSync(fd);
        }
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

    /** Every line of the log, rotated files first, read as a stream. */
    private *lines(): Generator<string> {
        for (const f of this.files()) yield* readLines(f);
    }

    /**
     * Appends an entry; returns it once it is durable. When the disk cannot take it (full, an
     * I/O error), nothing partial stays in the file (it is cut back to its last whole line), the
     * entry waits in order with any others, and is written with them on the next append, on
     * `flush`, or by a retry a second later; then this returns undefined. Never throws.
     */
    append(record: AuditRecord): AuditEntry | undefined {
        this.waiting.push({ record: capStrings(this.redact(record)), at: this.now().toISOString() });
        return this.drain();
    }

    /** Writes the waiting entries in order; the last one written, or undefined if one could not be. */
    private drain(): AuditEntry | undefined {
        let last: AuditEntry | undefined;
        while (this.waiting.length) {
            const { record, at } = this.waiting[0];
            const body: Omit<AuditEntry, "hash"> = { ...record, seq: this.seq + 1, at, prev: this.prev };
            const entry: AuditEntry = { ...body, hash: entryHash(body) };
            const line = Buffer.from(JSON.stringify(entry) + "\n");
            try {
                for (let written = 0; written < line.length; ) written += fs.writeSync(this.fd, line, written, line.length - written);
                fs.fsyncSync(this.fd);
            } catch (err) {
                // A short write must not glue half a line to the next entry.
                try {
                    fs.ftruncateSync(this.fd, this.bytes);
                } catch {
                    /* the next drain cuts it */
                }
                this.writeError = err as Error;
                this.retryTimer ??= setTimeout(() => {
                    this.retryTimer = undefined;
                    this.drain();
                }, 1000);
                this.retryTimer.unref();
                return undefined;
            }
            this.waiting.shift();
            this.writeError = undefined;
            this.seq = entry.seq;
            this.prev = entry.hash;
            this.bytes += line.length;
            this.index(entry);
            // After the fsync, so the head is never ahead of what the file durably holds.
            try {
                fs.writeFileSync(this.headFile, JSON.stringify({ seq: entry.seq, hash: entry.hash }) + "\n", { mode: 0o600 });
            } catch {
                /* behind by an entry until the next one: it only serves to detect a cut */
            }
            if (this.bytes >= this.maxBytes) this.rotate();
            last = entry;
        }
        return last;
    }

    /** Moves the full file aside as the next `<file>.<n>` and begins an empty one; the chain goes on. */
    private rotate(): void {
        fs.closeSync(this.fd);
        const rotated = `${this.file}.${this.files().length}`; // rotated files + the current one: the next number
        fs.renameSync(this.file, rotated);
        this.fd = fs.openSync(this.file, "a", 0o600);
        this.bytes = 0;
        // Never deleted, but kept small: the rotated file compressed, its lines (and so the chain) unchanged.
        const gz = `${rotated}.gz`;
        const fd = fs.openSync(`${gz}.tmp`, "w", 0o600);
        try {
            fs.writeSync(fd, zlib.gzipSync(fs.readFileSync(rotated)));
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(`${gz}.tmp`, gz);
        fs.rmSync(rotated);
    }

    /** Resolves once every entry appended so far is durable; rejects while the disk cannot take them. */
    async flush(): Promise<void> {
        this.drain();
        if (this.waiting.length) throw this.writeError ?? new Error("audit entries are waiting to be written");
    }

    private index(e: AuditEntry): void {
        const found = this.approvals && recordedApproval(e);
        if (!found) return;
        const list = this.approvals!.get(found.previewId) ?? [];
        list.push(found.approval);
        this.approvals!.set(found.previewId, list);
    }

    async recordedApprovals(previewId: string): Promise<RecordedApproval[]> {
        if (!this.approvals) {
            this.approvals = new Map();
            for (const line of this.lines()) {
                try {
                    this.index(JSON.parse(line) as AuditEntry);
                } catch {
                    /* a damaged line records nothing; verify() reports it */
                }
            }
        }
        return this.approvals.get(previewId) ?? [];
    }

    verify(): VerifyResult {
        const v = new ChainVerifier();
        let total = 0;
        let broken = false;
        for (const line of this.lines()) {
            total++;
            if (!broken && !v.feed(line)) broken = true;
        }
        const result = v.result(total);
        if (!result.ok || this.seq === 0) return result;
        if (v.lastSeq !== this.seq || v.lastHash !== this.prev) {
            return { ok: false, entries: total, firstBad: { line: total + 1, seq: v.lastSeq + 1, reason: `the log ends at seq ${v.lastSeq}, but this service wrote up to seq ${this.seq} (entries cut from the end)` } };
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
        clearTimeout(this.retryTimer);
        this.drain();
        fs.closeSync(this.fd);
    }
}
