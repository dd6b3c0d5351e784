import assert from "node:assert/strict";
import { activeFreeze, checkFreeze, checkRole } from "../../../automation/admission/policyChecks";
import { parsePolicy } from "../../../automation/environments/policy";
import type { EnvironmentPolicy } from "../../../automation/environments/policy";
import type { Op } from "../../../automation/jobs/types";
import type { Principal } from "../../../automation/security/roles";
import { codeOf } from "../../support/codeOf";

/** Both checks the admission guard makes of a token's caller, in its order. */
const checkMayStart = (policy: EnvironmentPolicy, op: Op, who: Pick<Principal, "name" | "role">, now: Date) => {
    checkRole(policy, op, who);
    checkFreeze(policy, op, now);
};
const now = new Date("2026-11-25T10:00:00Z");

describe("who may start what, and when", () => {
    const frozen = parsePolicy(
        "prod",
        "freezeWindows:\n  - { start: '2026-12-24T00:00:00Z', end: '2026-12-27T00:00:00Z', reason: holidays }\n  - { days: [fri], from: '22:00', to: '06:00', operations: [update], reason: weekend }\n",
    );
    it("refuses a destroy by an operator under the default policy with 403", () => {
        assert.equal(codeOf(() => checkMayStart(parsePolicy("dev", ""), "destroy", { name: "o", role: "operator" }, now)), "FORBIDDEN");
        assert.equal(codeOf(() => checkMayStart(parsePolicy("dev", ""), "destroy", { name: "a", role: "admin" }, now)), "none");
    });
    it("refuses an update inside a one-off freeze window with 409 FROZEN naming the reason", () => {
        assert.equal(codeOf(() => checkMayStart(frozen, "update", { name: "a", role: "admin" }, new Date("2026-12-25T12:00:00Z"))), "FROZEN");
        assert.equal(codeOf(() => checkMayStart(frozen, "preview", { name: "a", role: "admin" }, new Date("2026-12-25T12:00:00Z"))), "none");
    });
    it("applies a weekly window that wraps midnight to the early hours of the next day", () => {
        // 2026-11-27 is a Friday
        assert.equal(activeFreeze(frozen, "update", new Date("2026-11-27T23:00:00Z"))?.reason, "weekend");
        assert.equal(activeFreeze(frozen, "update", new Date("2026-11-28T05:59:00Z"))?.reason, "weekend");
        assert.equal(activeFreeze(frozen, "update", new Date("2026-11-28T06:00:00Z")), undefined);
        assert.equal(activeFreeze(frozen, "update", new Date("2026-11-27T21:59:00Z")), undefined);
    });
});
