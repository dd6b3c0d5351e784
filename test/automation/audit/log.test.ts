import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { AuditLog, readLines } from "../../../automation/audit/fileLog";
import { MAX_AUDIT_STRING, type AuditRecord } from "../../../automation/audit/trail";
import { canonicalJson } from "../../../automation/lib/canonicalJson";
import { createRedactor, REDACTED } from "../../../automation/security/redact";

const rec = (action: string, stack = "dev", extra: Partial<AuditRecord> = {}): AuditRecord => ({
    actor: { name: "alice", role: "admin", via: "token" },
    action,
    from: "127.0.0.1",
    result: "ok",
    stack,
    ...extra,
});

describe("audit log", () => {
    let dir: string;
    let file: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-"));
        file = path.join(dir, "audit.jsonl");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("chains each entry to the hash of the one before and verifies a clean log", () => {
        const log = new AuditLog(file);
        const a = log.append(rec("job.create"))!;
        const b = log.append(rec("approval.approve", "prod", { previewId: "p1", approvalId: "a1" }))!;
        assert.equal(b.prev, a.hash);
        assert.equal(b.seq, 2);
        assert.deepEqual(log.verify(), { ok: true, entries: 2 });
        log.close();
    });
    it("reports the first edited line when an entry's result is changed on disk", () => {
        const log = new AuditLog(file);
        for (let i = 0; i < 5; i++) log.append(rec("job.create"));
        log.close();
        const lines = fs.readFileSync(file, "utf8").split("\n");
        lines[2] = lines[2].replace('"result":"ok"', '"result":"denied"');
        fs.writeFileSync(file, lines.join("\n"));
        const v = new AuditLog(file).verify();
        assert.equal(v.ok, false);
        assert.deepEqual(v.firstBad, { line: 3, seq: 3, reason: "content does not match its hash (entry edited)" });
    });
    it("reports a removed entry even when the attacker recomputed nothing", () => {
        const log = new AuditLog(file);
        for (let i = 0; i < 4; i++) log.append(rec("job.create"));
        log.close();
        const lines = fs.readFileSync(file, "utf8").split("\n");
        lines.splice(1, 1);
        fs.writeFileSync(file, lines.join("\n"));
        const v = new AuditLog(file).verify();
        assert.equal(v.firstBad?.line, 2);
        assert.match(v.firstBad?.reason ?? "", /removed or inserted/);
    });
    it("reports entries cut from the end while the service runs, naming the last seq it wrote", () => {
        const log = new AuditLog(file);
        for (let i = 0; i < 4; i++) log.append(rec("job.create"));
        const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
        fs.writeFileSync(file, lines.slice(0, 2).join("\n") + "\n");
        assert.deepEqual(log.verify(), { ok: false, entries: 2, firstBad: { line: 3, seq: 3, reason: "the log ends at seq 2, but this service wrote up to seq 4 (entries cut from the end)" } });
        log.close();
    });
    it("records at start-up, and then always reports, entries cut from the end while the service was down", () => {
        const log = new AuditLog(file);
        for (let i = 0; i < 5; i++) log.append(rec("job.create"));
        log.close();
        const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
        fs.writeFileSync(file, lines.slice(0, 3).join("\n") + "\n");
        const reopened = new AuditLog(file);
        const cut = reopened.page({ action: "audit.truncated" }).entries[0];
        assert.deepEqual([cut.seq, cut.result, cut.details?.missing], [4, "tampered", { fromSeq: 4, toSeq: 5 }]);
        reopened.append(rec("job.cancel"));
        const expected = { ok: false, entries: 5, firstBad: { line: 4, seq: 4, reason: "entries 4–5 were cut from the end of the log while the service was down" } };
        assert.deepEqual(reopened.verify(), expected);
        reopened.close();
        const again = new AuditLog(file);
        assert.deepEqual(again.verify(), expected, "the finding survives the next restart");
        assert.equal(again.page({ action: "audit.truncated" }).entries.length, 1, "and is recorded once");
        again.close();
    });
    it("continues the chain across a restart", () => {
        const first = new AuditLog(file);
        first.append(rec("job.create"));
        first.close();
        const second = new AuditLog(file);
        assert.equal(second.append(rec("job.cancel"))!.seq, 2);
        assert.equal(second.verify().ok, true);
        second.close();
    });
    it("drops a torn last line left by a crash mid-write and records that it did", () => {
        const log = new AuditLog(file);
        log.append(rec("job.create"));
        log.close();
        fs.appendFileSync(file, '{"seq":2,"act');
        const reopened = new AuditLog(file);
        const { entries } = reopened.page();
        assert.deepEqual(entries.map((e) => e.action), ["job.create", "audit.torn-tail-dropped"]);
        assert.equal(reopened.verify().ok, true);
        reopened.close();
    });
    it("pages by seq and filters by stack and action prefix", () => {
        const log = new AuditLog(file);
        for (let i = 0; i < 5; i++) log.append(rec(i % 2 ? "approval.approve" : "job.create", i < 3 ? "dev" : "prod"));
        const p1 = log.page({ limit: 2 });
        assert.deepEqual(p1.entries.map((e) => e.seq), [1, 2]);
        assert.equal(p1.next, 2);
        const p3 = log.page({ after: 4, limit: 2 });
        assert.deepEqual(p3.entries.map((e) => e.seq), [5]);
        assert.equal(p3.next, undefined);
        assert.deepEqual(log.page({ stack: "prod" }).entries.map((e) => e.seq), [4, 5]);
        assert.deepEqual(log.page({ action: "approval" }).entries.map((e) => e.seq), [2, 4]);
        log.close();
    });
    it("writes no planted secret: records pass through the redactor first", () => {
        const r = createRedactor({ secrets: ["planted-secret-42"] });
        const log = new AuditLog(file, { redact: r.redactDeep });
        log.append(rec("job.create", "dev", { details: { comment: "uses planted-secret-42" } }));
        log.close();
        const text = fs.readFileSync(file, "utf8");
        assert.ok(!text.includes("planted-secret-42"));
        assert.ok(text.includes(REDACTED));
    });
    it("hashes the same content the same way whatever the key order", () => {
        assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    });
    it("rotates past its size limit into numbered, compressed files and keeps one chain across them, verified and paged in order", () => {
        const log = new AuditLog(file, { maxBytes: 2000 });
        for (let i = 0; i < 40; i++) log.append(rec("job.create", "dev", { details: { i } }));
        const files = log.files();
        assert.ok(files.length >= 4, files.join(", "));
        assert.deepEqual(files.slice(0, 3).map((f) => path.basename(f)), ["audit.jsonl.1.gz", "audit.jsonl.2.gz", "audit.jsonl.3.gz"]);
        for (const f of files.slice(0, -1)) {
            const plain = zlib.gunzipSync(fs.readFileSync(f)).length;
            assert.ok(plain >= 2000 && plain < 2000 + 600, `${f} held about the limit (${plain} bytes)`);
            assert.ok(fs.statSync(f).size < plain / 2, `${f} is compressed`);
            assert.ok(!fs.existsSync(f.replace(/\.gz$/, "")), "the plain rotated file is gone");
        }
        assert.deepEqual(log.verify(), { ok: true, entries: 40 });
        assert.deepEqual(log.page({ after: 10, limit: 5 }).entries.map((e) => e.seq), [11, 12, 13, 14, 15]);
        log.close();
        // a restart continues the chain from the newest file, even when the current one is empty
        const again = new AuditLog(file, { maxBytes: 2000 });
        assert.equal(again.append(rec("job.create"))!.seq, 41);
        assert.equal(again.verify().ok, true);
        again.close();
    });
    it("finds an entry edited in a rotated file", () => {
        const log = new AuditLog(file, { maxBytes: 2000 });
        for (let i = 0; i < 30; i++) log.append(rec("job.create", "dev", { details: { i } }));
        const first = `${file}.1.gz`;
        fs.writeFileSync(first, zlib.gzipSync(zlib.gunzipSync(fs.readFileSync(first)).toString("utf8").replace('"i":2}', '"i":99}')));
        const v = log.verify();
        assert.equal(v.ok, false);
        assert.deepEqual([v.firstBad?.seq, v.firstBad?.reason], [3, "content does not match its hash (entry edited)"]);
        log.close();
    });
    it("leaves no torn line when the disk fills mid-append: the entry waits, flush says so, and it is written once there is room, the chain whole (a real 1 MiB tmpfs)", async () => {
        const disk = fs.mkdtempSync(path.join(os.tmpdir(), "audit-full-"));
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=1M", "tmpfs", disk]);
        let log: AuditLog | undefined;
        try {
            log = new AuditLog(path.join(disk, "audit.jsonl"));
            for (let i = 0; i < 5; i++) log.append(rec("job.create", "dev", { details: { i } }));
            // Fill what is left, to the last byte.
            const fd = fs.openSync(path.join(disk, "filler"), "w");
            try {
                for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1));
            } catch {
                /* full */
            }
            try {
                for (;;) fs.writeSync(fd, Buffer.alloc(64, 1));
            } catch {
                /* full to the last bytes */
            }
            fs.closeSync(fd);
            // More than the page the file's tail still has room in (strings are cut at 1 KiB each).
            const big = { details: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`note${i}`, "x".repeat(1000)])) };
            assert.equal(log.append(rec("approval.approve", "prod", big)), undefined, "not durable yet");
            assert.equal(log.append(rec("job.create", "prod", big)), undefined);
            await assert.rejects(log.flush(), /ENOSPC/);
            assert.deepEqual(log.verify(), { ok: true, entries: 5 }, "nothing partial in the file");
            fs.rmSync(path.join(disk, "filler"));
            await log.flush();
            assert.deepEqual(log.verify(), { ok: true, entries: 7 });
            assert.deepEqual(log.page({ after: 5 }).entries.map((e) => e.action), ["approval.approve", "job.create"], "in the order appended");
        } finally {
            log?.close();
            execFileSync("umount", [disk]);
            fs.rmSync(disk, { recursive: true, force: true });
        }
    });
    it("cuts a 14,000-character string to 1 KiB with a note of what was cut, so a hostile path cannot bloat it", () => {
        const log = new AuditLog(file);
        const entry = log.append(rec("http.get", "dev", { details: { path: "/v1/" + "a".repeat(14_000) } }))!;
        const p = entry.details!.path as string;
        assert.equal(p.length, MAX_AUDIT_STRING + `…[${14_005 - MAX_AUDIT_STRING} more characters]`.length);
        assert.ok(fs.statSync(file).size < 2 * MAX_AUDIT_STRING);
        assert.equal(log.verify().ok, true);
        log.close();
    });
    it("reads lines across chunk boundaries, so a log of any size is read a piece at a time", () => {
        fs.writeFileSync(file, "first line\nsecond, longer line\n\nthird");
        assert.deepEqual([...readLines(file, 7)], ["first line", "second, longer line", "third"]);
        assert.deepEqual([...readLines(path.join(dir, "absent"))], []);
    });
});
