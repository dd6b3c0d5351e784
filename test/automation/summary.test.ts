import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compactEvent, driftOf, emptySummary, foldEvent } from "../../automation/jobs/summary";
import { listStacks, versionAtLeast } from "../../automation/pulumi/stacks";

const pre = (op: string, name: string, type = "pulumi-nodejs:dynamic:Resource") => ({ sequence: 1, resourcePreEvent: { metadata: { op, urn: `urn:pulumi:dev::p::${type}::${name}`, type } } });
const outs = (op: string, name: string) => ({ sequence: 2, resOutputsEvent: { metadata: { op, urn: `urn:pulumi:dev::p::pulumi-nodejs:dynamic:Resource::${name}` } } });

describe("change summary from engine events", () => {
    it("records each planned step with its operation, leaving out unchanged resources and providers", () => {
        const s = emptySummary();
        [pre("create", "a"), pre("same", "b"), pre("create", "default", "pulumi:providers:pulumi-nodejs"), pre("replace", "c")].forEach((e) => foldEvent(s, e));
        assert.deepEqual(s.steps.map((x) => [x.urn.split("::").pop(), x.op]), [["a", "create"], ["c", "replace"]]);
        assert.deepEqual(s.counts, { create: 1, replace: 1 });
    });

    it("takes the engine's own counts once its summary event arrives", () => {
        const s = emptySummary();
        foldEvent(s, pre("create", "a"));
        foldEvent(s, { sequence: 9, summaryEvent: { resourceChanges: { create: 1, same: 4 } } });
        foldEvent(s, pre("create", "late"));
        assert.deepEqual(s.counts, { create: 1, same: 4 });
    });

    it("turns refresh steps into their outcome: drift as update, unchanged dropped", () => {
        const s = emptySummary();
        [pre("refresh", "a"), pre("refresh", "b"), outs("update", "a"), outs("same", "b")].forEach((e) => foldEvent(s, e));
        assert.deepEqual(s.steps.map((x) => [x.urn.split("::").pop(), x.op]), [["a", "update"]]);
        assert.deepEqual(s.counts, { update: 1 });
    });

    it("marks what the refresh before a preview found as drift, apart from the change it then plans for the same resource, and counts only the plan", () => {
        // The events of `preview --refresh` as the CLI sends them (test/automation/service.test.ts
        // runs the real one): the refresh's outcome comes back as op "refresh", with the state's
        // outputs (old) and what the provider read (new; none for a resource gone).
        const st = (content: string) => ({ outputs: { content } });
        const urn = (name: string) => `urn:pulumi:dev::p::pulumi-nodejs:dynamic:Resource::${name}`;
        const ev = (kind: string, op: string, name: string, old?: string, now?: string) => ({
            sequence: 1,
            [kind]: { metadata: { op, urn: urn(name), type: "pulumi-nodejs:dynamic:Resource", ...(old ? { old: st(old) } : {}), ...(now ? { new: st(now) } : {}) } },
        });
        const s = emptySummary();
        [
            ev("resourcePreEvent", "refresh", "edited", "v1", "v1"), ev("resourcePreEvent", "refresh", "untouched", "v1", "v1"), ev("resourcePreEvent", "refresh", "gone", "v1", "v1"),
            ev("resOutputsEvent", "refresh", "edited", "v1", "by hand"), ev("resOutputsEvent", "refresh", "untouched", "v1", "v1"), ev("resOutputsEvent", "refresh", "gone", "v1"),
            ev("resourcePreEvent", "update", "edited", "by hand"), ev("resOutputsEvent", "update", "edited", "by hand", "v1"),
            ev("resourcePreEvent", "update", "untouched", "v1"), ev("resOutputsEvent", "update", "untouched", "v1", "v2"),
            ev("resourcePreEvent", "create", "gone"), ev("resOutputsEvent", "create", "gone", undefined, "v1"),
        ].forEach((e) => foldEvent(s, e));
        assert.deepEqual(s.steps.map((x) => [x.urn.split("::").pop(), x.op, x.drift ?? false]), [
            ["edited", "update", true], ["gone", "delete", true], ["edited", "update", false], ["untouched", "update", false], ["gone", "create", false],
        ]);
        assert.deepEqual(s.steps[0].diffs, [{ path: "content", kind: "update", old: "v1", new: "by hand" }], "the drift, state against the cloud");
        assert.deepEqual(s.counts, { update: 2, create: 1 }, "the plan, as the engine counts it");
        // While its refresh or program still runs, a preview counts nothing it has not planned.
        const running = emptySummary();
        [ev("resourcePreEvent", "refresh", "edited", "v1", "v1"), ev("resOutputsEvent", "refresh", "edited", "v1", "by hand")].forEach((e) => foldEvent(running, e, "preview"));
        assert.deepEqual([running.steps.length, running.counts], [1, {}]);
        assert.deepEqual(driftOf(s).map((x) => [x.urn.split("::").pop(), x.op]), [["edited", "update"], ["gone", "delete"]]);
        // A refresh job: the engine names each outcome; every step is drift, and counts.
        const r = emptySummary();
        [pre("refresh", "a"), pre("refresh", "c"), outs("update", "a"), outs("delete", "c")].forEach((e) => foldEvent(r, e, "refresh"));
        assert.deepEqual(r.counts, { update: 1, delete: 1 });
        assert.deepEqual(driftOf(r).map((x) => [x.urn.split("::").pop(), x.op]), [["a", "update"], ["c", "delete"]]);
        // A refresh job stored before the mark: its steps are all drift still.
        assert.deepEqual(driftOf({ counts: {}, policyViolations: [], steps: [{ urn: "u::a", type: "t", op: "update" }] }).map((x) => x.op), ["update"]);
    });

    it("collects policy violations with their pack, policy, level and message", () => {
        const s = foldEvent(emptySummary(), { sequence: 3, policyEvent: { policyPackName: "fixture-policy", policyName: "no-forbidden-files", enforcementLevel: "mandatory", message: "nope", resourceUrn: "urn:x" } });
        assert.deepEqual(s.policyViolations, [{ policyPack: "fixture-policy", policyName: "no-forbidden-files", enforcementLevel: "mandatory", message: "nope", urn: "urn:x" }]);
    });

    it("drops the dynamic providers' serialised source from events, keeping everything else", () => {
        const e = { resourcePreEvent: { metadata: { new: { inputs: { __provider: "exports.handler = ...", path: "/a" } }, list: [{ __provider: "x", k: 1 }] } } };
        assert.deepEqual(compactEvent(e), { resourcePreEvent: { metadata: { new: { inputs: { path: "/a" } }, list: [{ k: 1 }] } } });
    });
});

describe("stack allow-list and CLI version", () => {
    it("allows exactly the stacks with a Pulumi.<stack>.yaml in the project", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yml", "Pulumi..yaml", "Pulumi.-x.yaml", "notes.yaml"]) fs.writeFileSync(path.join(dir, f), "");
        assert.deepEqual(listStacks(dir), ["dev", "prod"]);
        fs.rmSync(dir, { recursive: true });
        assert.deepEqual(listStacks(dir), []);
    });

    it("compares CLI versions numerically", () => {
        assert.equal(versionAtLeast("3.259.0", "3.259.0"), true);
        assert.equal(versionAtLeast("3.1000.0", "3.259.0"), true);
        assert.equal(versionAtLeast("3.99.9", "3.259.0"), false);
        assert.equal(versionAtLeast("4.0.0", "3.259.0"), true);
        assert.equal(versionAtLeast("3.259.0-alpha.1", "3.259.0"), false, "a pre-release comes before its release");
        assert.equal(versionAtLeast("3.259.1-alpha.1", "3.259.0"), true);
        assert.equal(versionAtLeast("not a version", "3.259.0"), false);
    });
});
