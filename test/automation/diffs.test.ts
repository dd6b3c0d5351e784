// Property-level diffs of engine steps (automation/jobs/diffs.ts), from event metadata shaped as
// the engine sends it (the real CLI's events are checked in service.test.ts).
import * as assert from "node:assert/strict";
import { compareProperties, shown, stepDiffs } from "../../automation/jobs/diffs";

describe("property diffs of a step", () => {
    it("compares inputs leaf by leaf: added, removed and changed properties, nested objects entered", () => {
        assert.deepEqual(compareProperties(
            { content: "v1", tags: { Name: "a", Env: "dev" }, ports: [80], gone: 1, __defaults: ["x"] },
            { content: "v2", tags: { Name: "a", Env: "prod" }, ports: [80, 443], added: true, __defaults: [] }), [
            { path: "added", kind: "add", new: true },
            { path: "content", kind: "update", old: "v1", new: "v2" },
            { path: "gone", kind: "delete", old: 1 },
            { path: "ports", kind: "update", old: [80], new: [80, 443] },
            { path: "tags.Env", kind: "update", old: "dev", new: "prod" },
        ]);
    });

    it("masks secrets and elides values longer than 256 characters", () => {
        assert.equal(shown({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "hunter2" }), "[secret]");
        assert.equal(shown("x".repeat(300)), "[302 characters]");
        assert.equal(shown("short"), "short");
        const d = compareProperties({ password: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "a" } },
            { password: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "b" } });
        assert.deepEqual(d, [{ path: "password", kind: "update", old: "[secret]", new: "[secret]" }]);
    });

    it("uses the provider's detailed diff when it gives one, replacement kinds included", () => {
        const r = stepDiffs({ op: "replace", keys: ["identifier"],
            old: { inputs: { identifier: "db-a", engineVersion: "8.0", tags: { A: "1" } } },
            new: { inputs: { identifier: "db-b", engineVersion: "8.4", tags: {} } },
            detailedDiff: { identifier: { kind: "update-replace", inputDiff: true }, engineVersion: { kind: "update", inputDiff: true }, "tags.A": { kind: "delete", inputDiff: true } } });
        assert.deepEqual(r, { replaceReasons: ["identifier"], diffs: [
            { path: "identifier", kind: "replace", old: "db-a", new: "db-b" },
            { path: "engineVersion", kind: "update", old: "8.0", new: "8.4" },
            { path: "tags.A", kind: "delete", old: "1" },
        ] });
    });

    it("compares outputs for a refresh: what the state holds against what the provider reads", () => {
        assert.deepEqual(stepDiffs({ op: "update", old: { inputs: { content: "v1" }, outputs: { content: "v1" } }, new: { inputs: { content: "v1" }, outputs: { content: "edited" } } }, true),
            { diffs: [{ path: "content", kind: "update", old: "v1", new: "edited" }] });
    });
});
