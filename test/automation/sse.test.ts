import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Request, Response } from "express";
import { EventSource, streamJobEvents } from "../../automation/http/sse";
import type { Job, StoredEvent } from "../../automation/jobs/types";

/** A socket whose buffer holds `room` writes before write() says to wait for 'drain'. */
function slowResponse(room: number) {
    const res = new EventEmitter() as EventEmitter & { written: string[]; room: number; ended: boolean };
    res.written = [];
    res.room = room;
    res.ended = false;
    Object.assign(res, {
        status: () => res,
        set: () => res,
        flushHeaders: () => undefined,
        write: (chunk: string) => {
            res.written.push(chunk);
            return --res.room > 0;
        },
        end: () => void (res.ended = true),
    });
    return res;
}

describe("an event stream to a reader that does not read", () => {
    const events: StoredEvent[] = Array.from({ length: 1000 }, (_, i) => ({ seq: i + 1, jobId: "j", type: "diagnosticEvent", at: "", data: { i } }));
    let reads = 0;
    const jobs: EventSource = {
        eventsAfter: async (_id, after, limit = 500) => {
            reads++;
            return events.filter((e) => e.seq > after).slice(0, limit);
        },
        findJob: async () => ({ id: "j", state: "running" }) as Job,
        watch: () => () => undefined,
    };

    it("stops reading the store once the socket is full and resumes from where it stopped on drain", async () => {
        const res = slowResponse(10);
        const req = new EventEmitter();
        const settle = () => new Promise((r) => setImmediate(r));
        streamJobEvents(jobs, "j", 0, req as unknown as Request, res as unknown as Response);
        await settle();
        // the retry line and 9 events fill the socket; nothing more is read or buffered
        assert.equal(res.written.length, 10);
        assert.equal(reads, 1);
        res.room = 5;
        res.emit("drain");
        await settle();
        assert.equal(res.written.length, 15);
        assert.match(res.written[14], /^id: 14\n/);
        res.room = Infinity;
        res.emit("drain");
        for (let i = 0; i < 5; i++) await settle();
        assert.equal(res.written.length, 1001, "every event, once, in order");
        req.emit("close");
        assert.equal(res.ended, true);
    });
});
