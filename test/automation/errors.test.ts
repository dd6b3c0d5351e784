import * as assert from "node:assert/strict";
import { AppError, fromAutomationError, planStale, unauthenticated } from "../../automation/errors";

describe("automation error taxonomy", () => {
    const ctx = { stack: "dev", op: "update" };

    it("maps a ConcurrentUpdateError to STACK_LOCKED without the CLI's text", () => {
        const raw = Object.assign(new Error("code: 255\n stderr: the stack is currently locked by 1 lock(s) /home/x/.pulumi/locks"), { name: "ConcurrentUpdateError" });
        const mapped = fromAutomationError(raw, ctx);
        assert.equal(mapped.code, "STACK_LOCKED");
        assert.equal(mapped.status, 409);
        assert.doesNotMatch(mapped.message, /home|locks|stderr/);
    });

    it("maps errors that crossed IPC as plain objects by their name", () => {
        assert.equal(fromAutomationError({ name: "StackNotFoundError", message: "no stack named dev found" }, ctx).code, "STACK_NOT_FOUND");
        assert.equal(fromAutomationError({ name: "StackAlreadyExistsError", message: "" }, ctx).code, "STACK_EXISTS");
    });

    it("recognises a mandatory policy violation in a failed command", () => {
        const err = { name: "CommandError", message: "error: preview failed due to 1 mandatory policy violation" };
        assert.equal(fromAutomationError(err, ctx).code, "POLICY_VIOLATION");
    });

    it("turns an unknown failure into OPERATION_FAILED and never echoes its message or stack", () => {
        const err = new TypeError("secret=hunter2 at /srv/app.js:1:1");
        const mapped = fromAutomationError(err, ctx);
        assert.equal(mapped.code, "OPERATION_FAILED");
        assert.doesNotMatch(JSON.stringify(mapped.toJSON()), /hunter2|app\.js/);
    });

    it("passes an AppError through unchanged", () => {
        const stale = planStale("The approved preview no longer matches the stack.");
        assert.equal(fromAutomationError(stale, ctx), stale);
    });

    it("gives the security errors the agreed codes and statuses", () => {
        const e = unauthenticated("no token");
        assert.ok(e instanceof AppError);
        assert.deepEqual([e.status, e.code], [401, "UNAUTHENTICATED"]);
    });
});
