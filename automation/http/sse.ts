import type { Request, Response } from "express";
import type { JobService } from "../jobs/service";
import { isFinal, JobState, StoredEvent } from "../jobs/types";

const HEARTBEAT_MS = 15_000;

const isFinalStateEvent = (e: StoredEvent) => e.type === "state" && isFinal((e.data as { state: JobState }).state);

/** What the stream needs of the job service. */
export type EventSource = Pick<JobService, "eventsAfter" | "findJob" | "watch">;

/**
 * Server-Sent Events of one job: the stored events after `afterSeq`, then new ones as they are
 * written, ending after the job's final state. Each event's `id` is its sequence number, so a
 * client that reconnects with `Last-Event-ID` continues exactly where it dropped. New events
 * are read back from the store on notification rather than pushed from memory, so the stream
 * is by construction the same as the stored record. A reader that does not read holds nothing
 * in the service's memory: once the socket's buffer is full the stream stops reading the store
 * until the socket drains, and resumes from the last event it wrote.
 */
export function streamJobEvents(jobs: EventSource, jobId: string, afterSeq: number, req: Request, res: Response): void {
    res.status(200).set({
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        Connection: "keep-alive",
        "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    let last = afterSeq;
    let closed = false;
    let blocked = !res.write("retry: 2000\n\n");
    const finish = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(heartbeat);
        res.end();
    };
    // One read of the store at a time; a notification during a read asks for another pass.
    let reading = false;
    let again = false;
    const drain = (): void => {
        if (closed || blocked) return;
        if (reading) {
            again = true;
            return;
        }
        reading = true;
        again = false;
        read()
            .catch(() => finish())
            .finally(() => {
                reading = false;
                if (again) drain();
            });
    };
    const read = async (): Promise<void> => {
        for (;;) {
            const batch = await jobs.eventsAfter(jobId, last, 500);
            if (closed) return;
            for (const e of batch) {
                const ok = res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ seq: e.seq, type: e.type, at: e.at, data: e.data })}\n\n`);
                last = e.seq;
                if (isFinalStateEvent(e)) return finish();
                if (!ok) {
                    // The reader is behind: wait for the socket, not for memory to fill.
                    blocked = true;
                    res.once("drain", () => {
                        blocked = false;
                        drain();
                    });
                    return;
                }
            }
            if (batch.length < 500) break;
        }
        // A job settled before any final event was recorded (or one the client already saw).
        const job = await jobs.findJob(jobId);
        if (job && isFinal(job.state) && (await jobs.eventsAfter(jobId, last, 1)).length === 0) finish();
    };
    // Subscribe before the first read so nothing written in between is missed.
    const unsubscribe = jobs.watch(jobId, drain);
    const heartbeat = setInterval(() => {
        if (!blocked) res.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    req.on("close", finish);
    if (blocked) {
        res.once("drain", () => {
            blocked = false;
            drain();
        });
    } else drain();
}
