// AUTOMATION_POLICY_PACKS: the service runs the configured packs on previews and updates.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Harness, startHarness } from "./harness";

describe("automation service with a policy pack", function () {
    this.timeout(180_000);
    let h: Harness;

    before(async () => {
        h = await startHarness({ env: { AUTOMATION_POLICY_PACKS: path.resolve(__dirname, "../fixture/policy") } });
    });
    after(async () => h?.stop());

    it("fails a preview whose stand-in file breaks a mandatory policy, with the policy's message in the job summary", async () => {
        h.configure("dev", { prefix: "forbidden", count: 1 });
        const r = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
        const job = await h.waitFor(r.body.id);
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "POLICY_VIOLATION");
        const violation = job.summary?.policyViolations.find((v) => v.policyName === "no-forbidden-files");
        assert.ok(violation, JSON.stringify(job.summary?.policyViolations));
        assert.equal(violation.enforcementLevel, "mandatory");
        assert.match(violation.message, /writes a file named forbidden-0\.txt/);
        assert.equal(fs.existsSync(path.join(h.projectDir, "out", "dev")), false);
    });
});
