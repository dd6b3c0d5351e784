import assert from "node:assert/strict";
import { parsePolicy } from "../../../automation/environments/policy";
import { Approval, approvalStatus, checkApplyAllowed, checkCanApprove, destroyGuard, stepGuard } from "../../../automation/approvals/rules";
import type { Job } from "../../../automation/jobs/types";
import { codeOf } from "../../support/codeOf";

const prod = parsePolicy("prod", "operations:\n  update: { approvals: 1, approverRole: approver }\n  destroy: { role: admin, approvals: 2 }\napprovalTtlMinutes: 60\n");
const now = new Date("2026-11-25T10:00:00Z");
const preview: Job = {
    id: "p1",
    stack: "prod",
    op: "preview",
    state: "succeeded",
    triggeredBy: "olga", triggeredVia: "token",
    createdAt: "2026-11-25T09:50:00Z",
    finishedAt: "2026-11-25T09:51:00Z",
    options: {},
};
const approval = (by: string, extra: Partial<Approval> = {}): Approval => ({
    id: `a-${by}`,
    previewId: "p1",
    stack: "prod",
    operation: "update",
    decision: "approve",
    by,
    role: "approver",
    at: "2026-11-25T09:55:00Z",
    ...extra,
});
const ctx = (extra: Partial<Parameters<typeof checkCanApprove>[0]> = {}) => ({ policy: prod, operation: "update" as const, preview, latestPreviewId: "p1", approvals: [], now, ...extra });

describe("approval rules", () => {
    it("forbids the author of a preview from approving it", () => {
        assert.equal(codeOf(() => checkCanApprove(ctx(), { name: "olga", role: "admin" })), "SELF_APPROVAL");
    });
    it("forbids an operator from approving a prod update", () => {
        assert.equal(codeOf(() => checkCanApprove(ctx(), { name: "oscar", role: "operator" })), "FORBIDDEN");
    });
    it("lets another approver approve the latest succeeded preview", () => {
        assert.equal(codeOf(() => checkCanApprove(ctx(), { name: "alice", role: "approver" })), "none");
    });
    it("restricts approval to the listed approvers when the policy names them", () => {
        const named = parsePolicy("prod", "operations:\n  update: { approvals: 1, approvers: [carol] }\n");
        assert.equal(codeOf(() => checkCanApprove(ctx({ policy: named }), { name: "alice", role: "admin" })), "FORBIDDEN");
        assert.equal(codeOf(() => checkCanApprove(ctx({ policy: named }), { name: "carol", role: "approver" })), "none");
    });
    it("refuses approving a preview superseded by a newer one", () => {
        assert.equal(codeOf(() => checkCanApprove(ctx({ latestPreviewId: "p2" }), { name: "alice", role: "approver" })), "PREVIEW_SUPERSEDED");
    });
    it("refuses approving, or applying, a preview that ran a pull request's head instead of the service's checkout", () => {
        const ofPr = { ...preview, options: { source: { repository: "acme/infra", pullRequest: 3, sha: "ab".repeat(20) } } };
        assert.equal(codeOf(() => checkCanApprove(ctx({ preview: ofPr }), { name: "alice", role: "approver" })), "PREVIEW_OF_PULL_REQUEST");
        assert.equal(codeOf(() => checkApplyAllowed({ ...ctx({ preview: ofPr, approvals: [approval("alice")] }), previewId: "p1" })), "PREVIEW_OF_PULL_REQUEST");
    });
    it("refuses approving a failed preview or a job that is not a preview", () => {
        assert.equal(codeOf(() => checkCanApprove(ctx({ preview: { ...preview, state: "failed" } }), { name: "alice", role: "approver" })), "CONFLICT");
        assert.equal(codeOf(() => checkCanApprove(ctx({ preview: { ...preview, op: "update" } }), { name: "alice", role: "approver" })), "INVALID_INPUT");
    });
    it("refuses approving a preview older than the approval lifetime", () => {
        assert.equal(codeOf(() => checkCanApprove(ctx({ now: new Date("2026-11-25T11:00:00Z") }), { name: "alice", role: "approver" })), "PREVIEW_EXPIRED");
    });
    it("refuses a second decision by the same approver", () => {
        assert.equal(codeOf(() => checkCanApprove(ctx({ approvals: [approval("alice")] }), { name: "alice", role: "approver" })), "ALREADY_DECIDED");
    });
    it("counts distinct unexpired approvals and lets any rejection veto", () => {
        assert.deepEqual(approvalStatus(ctx({ approvals: [approval("alice")] })), { required: 1, approvedBy: ["alice"], rejectedBy: [], ineligible: [], satisfied: true });
        assert.equal(approvalStatus(ctx({ approvals: [approval("alice"), approval("bob", { decision: "reject" })] })).satisfied, false);
        assert.equal(approvalStatus(ctx({ approvals: [approval("alice", { at: "2026-11-25T08:00:00Z" })] })).satisfied, false);
        assert.equal(approvalStatus(ctx({ operation: "destroy", approvals: [approval("alice", { operation: "destroy" })] })).satisfied, false);
    });
});

describe("admission of updates", () => {
    const apply = (extra: Partial<Parameters<typeof checkApplyAllowed>[0]> = {}) => () =>
        checkApplyAllowed({ ...ctx(), previewId: "p1", ...extra });
    it("answers 422 APPROVAL_REQUIRED for a prod update that names no preview", () => {
        assert.equal(codeOf(apply({ previewId: undefined, preview: undefined })), "APPROVAL_REQUIRED");
    });
    it("answers 409 NOT_APPROVED for an update of an unapproved preview", () => {
        assert.equal(codeOf(apply()), "NOT_APPROVED");
    });
    it("admits an update of an approved preview", () => {
        assert.equal(codeOf(apply({ approvals: [approval("alice")] })), "none");
    });
    it("refuses an approved preview that a newer preview superseded", () => {
        assert.equal(codeOf(apply({ approvals: [approval("alice")], latestPreviewId: "p9" })), "PREVIEW_SUPERSEDED");
    });
    it("admits a plain update of a stack whose policy needs no approval", () => {
        const dev = parsePolicy("dev", "");
        assert.equal(codeOf(() => checkApplyAllowed({ ...ctx({ policy: dev }), previewId: undefined, preview: undefined })), "none");
    });
});

describe("step guard", () => {
    const ev = (op: string, urn: string) => ({ sequence: 1, resourcePreEvent: { metadata: { op, urn, type: "t" } } });
    const guard = stepGuard([{ urn: "urn:a", type: "t", op: "update" }, { urn: "urn:b", type: "t", op: "create" }]);
    it("lets steps the approved preview contained through, and unchanged resources", () => {
        assert.equal(guard(ev("update", "urn:a")), undefined);
        assert.equal(guard(ev("create", "urn:b")), undefined);
        assert.equal(guard(ev("same", "urn:z")), undefined);
        assert.equal(guard({ sequence: 2, diagnosticEvent: { message: "x" } }), undefined);
    });
    it("lets the default provider's create through although previews do not list it", () => {
        assert.equal(guard(ev("create", "urn:pulumi:prod::fixture::pulumi:providers:pulumi-nodejs::default")), undefined);
    });
    it("does not take what the preview's refresh found for a step it planned: a resource gone behind Pulumi's back is no approved delete", () => {
        const withDrift = stepGuard([{ urn: "urn:gone", type: "t", op: "delete", drift: true }, { urn: "urn:gone", type: "t", op: "create" }]);
        assert.equal(withDrift(ev("create", "urn:gone")), undefined);
        assert.match(withDrift(ev("delete", "urn:gone")) ?? "", /did not contain: delete urn:gone/);
    });
    it("stops at a step the preview did not contain, naming it", () => {
        assert.equal(guard(ev("create", "urn:c")), "The engine started a step the approved preview did not contain: create urn:c.");
    });
    it("stops when an approved resource gets a different operation (update became replace)", () => {
        assert.match(guard(ev("replace", "urn:a")) ?? "", /replace urn:a/);
    });
    it("lets a destroy only delete", () => {
        assert.equal(destroyGuard()(ev("delete", "urn:a")), undefined);
        assert.match(destroyGuard()(ev("create", "urn:a")) ?? "", /create of urn:a/);
    });
});
