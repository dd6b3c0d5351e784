// Policy packs on the service's previews: the packs AUTOMATION_POLICY_PACKS names, else the
// project's own policy/ pack (how this repository's pack guards the service's previews).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FixtureCopy, Harness, startHarness } from "./harness";

const fixturePack = path.resolve(__dirname, "../fixture/policy");

async function previewForbiddenFile(h: Harness) {
    h.configure("dev", { prefix: "forbidden", count: 1 });
    const r = await h.call("POST", "/v1/stacks/dev/previews", { token: h.tokens.operator, body: {} });
    return h.waitFor(r.body.id);
}

describe("automation service with a policy pack", function () {
    this.timeout(180_000);
    let h: Harness;

    before(async () => {
        h = await startHarness({ env: { AUTOMATION_POLICY_PACKS: fixturePack } });
    });
    after(async () => h?.stop());

    it("fails a preview whose stand-in file breaks a mandatory policy, with the policy's message in the job summary", async () => {
        const job = await previewForbiddenFile(h);
        assert.equal(job.state, "failed");
        assert.equal(job.error?.code, "POLICY_VIOLATION");
        const violation = job.summary?.policyViolations.find((v) => v.policyName === "no-forbidden-files");
        assert.ok(violation, JSON.stringify(job.summary?.policyViolations));
        assert.equal(violation.enforcementLevel, "mandatory");
        assert.match(violation.message, /writes a file named forbidden-0\.txt/);
        assert.equal(fs.existsSync(path.join(h.projectDir, "out", "dev")), false);
    });
});

describe("automation service on a project with its own policy/ pack", function () {
    this.timeout(180_000);
    const withOwnPack = (copy: FixtureCopy) => fs.cpSync(fixturePack, path.join(copy.projectDir, "policy"), { recursive: true });

    it("runs the project's pack on previews when AUTOMATION_POLICY_PACKS is unset", async () => {
        const h = await startHarness({ prepare: withOwnPack });
        try {
            assert.deepEqual(h.server.config.policyPacks, [path.join(h.projectDir, "policy")]);
            const job = await previewForbiddenFile(h);
            assert.equal(job.error?.code, "POLICY_VIOLATION");
            assert.ok(job.summary?.policyViolations.some((v) => v.policyName === "no-forbidden-files"), JSON.stringify(job.summary?.policyViolations));
        } finally {
            await h.stop();
        }
    });

    it("runs no pack when AUTOMATION_POLICY_PACKS is explicitly empty", async () => {
        const h = await startHarness({ prepare: withOwnPack, env: { AUTOMATION_POLICY_PACKS: "" } });
        try {
            const job = await previewForbiddenFile(h);
            assert.equal(job.state, "succeeded", JSON.stringify(job.error));
            assert.deepEqual(job.summary?.policyViolations, []);
        } finally {
            await h.stop();
        }
    });
});
