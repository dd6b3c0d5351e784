import { createHash } from "node:crypto";
import { canonicalJson } from "../lib/canonicalJson";
import type { AuditEntry, VerifyResult } from "./trail";

// The hash chain both trails keep, and its verification: an entry edited, removed, inserted or
// cut from the end breaks it.

export const GENESIS = "0".repeat(64);

export function entryHash(entry: Omit<AuditEntry, "hash">): string {
    return createHash("sha256").update(entry.prev).update("\n").update(canonicalJson(entry)).digest("hex");
}

/** The action of the entry recording, at start-up, that entries were cut from the log's end. */
export const TRUNCATED = "audit.truncated";

/**
 * Checks lines one at a time, as they are read: parseable, consecutive seq, linked to the
 * previous hash, hash matching, and no entry saying the end of the log was cut off (the chain
 * resumes after such a cut). Nothing but the last hash is kept, so a log of any size verifies
 * in constant memory.
 */
export class ChainVerifier {
    private prev = GENESIS;
    private expectedSeq = 1;
    private line = 0;
    private bad: VerifyResult["firstBad"];

    /** Feeds the next line; false once the chain is broken (the rest need not be read). */
    feed(text: string): boolean {
        if (this.bad) return false;
        const line = ++this.line;
        let e: AuditEntry;
        try {
            e = JSON.parse(text) as AuditEntry;
        } catch {
            this.bad = { line, reason: "not valid JSON" };
            return false;
        }
        const { hash, ...rest } = e;
        if (e.seq !== this.expectedSeq) this.bad = { line, seq: e.seq, reason: `seq ${e.seq} where ${this.expectedSeq} was expected (entry removed or inserted)` };
        else if (e.prev !== this.prev) this.bad = { line, seq: e.seq, reason: "prev does not match the hash of the entry before it" };
        else if (entryHash(rest) !== hash) this.bad = { line, seq: e.seq, reason: "content does not match its hash (entry edited)" };
        else if (e.action === TRUNCATED) {
            const missing = e.details?.missing as { fromSeq: number; toSeq: number } | undefined;
            this.bad = { line, seq: e.seq, reason: `entries ${missing?.fromSeq}–${missing?.toSeq} were cut from the end of the log while the service was down` };
        }
        if (this.bad) return false;
        this.prev = hash;
        this.expectedSeq++;
        return true;
    }

    /** The verdict; `entries` counts the lines read, which is every line unless the chain broke. */
    result(totalLines = this.line): VerifyResult {
        return this.bad ? { ok: false, entries: totalLines, firstBad: this.bad } : { ok: true, entries: this.line };
    }

    get lastSeq(): number {
        return this.expectedSeq - 1;
    }

    get lastHash(): string {
        return this.prev;
    }
}
