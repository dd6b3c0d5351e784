// The bounded waits the service puts around a database that may never answer (a silently
// dropped connection): lib/within.ts, on real timers.
import assert from "node:assert/strict";
import { answerWithin, settleWithin } from "../../automation/lib/within";

const never = () => new Promise<never>(() => undefined);

describe("bounded waits on work that may never answer", () => {
    it("answers the work's value when it comes in time, and its own error as itself", async () => {
        assert.equal(await answerWithin(Promise.resolve(7), 1000, "the database"), 7);
        await assert.rejects(answerWithin(Promise.reject(new Error("refused")), 1000, "the database"), /^Error: refused$/);
    });

    it("rejects naming what did not answer and after how long, once the time is up", async () => {
        const began = Date.now();
        await assert.rejects(answerWithin(never(), 50, "the database"), /^Error: the database did not answer within 50 ms$/);
        assert.ok(Date.now() - began >= 45);
    });

    it("settleWithin calls late only for silence, not for work that failed or finished", async () => {
        let late = 0;
        await settleWithin(1000, Promise.resolve(), () => late++);
        await settleWithin(1000, Promise.reject(new Error("closed badly")), () => late++);
        await settleWithin(1000, undefined, () => late++);
        assert.equal(late, 0);
        await settleWithin(30, never(), () => late++);
        assert.equal(late, 1);
    });
});
