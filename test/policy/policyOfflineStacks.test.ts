// The offline policy check over the real program: every committed stack passes, and a violation
// introduced into an evaluation of dev (its database made public) fails with the right message.
import * as assert from "node:assert/strict";
import { checkStack } from "../../scripts/policy-offline";
import { evaluateStack } from "../../scripts/offline/evaluate";

describe("offline policy check of the committed stacks", function () {
    this.timeout(120_000);

    for (const stack of ["dev", "prod", "delivery"]) {
        it(`passes ${stack} with no mandatory violation`, async () => {
            const result = await checkStack({ stack }, evaluateStack);
            assert.ok(result.resources > 0, `${stack} evaluated to no resources`);
            assert.equal(result.mandatory, 0, result.report);
        });
    }

    it("fails dev once its database is made public, naming the database and the fix", async () => {
        const makePublic = async (stack: string) => (await evaluateStack(stack)).map((r) =>
            r.type === "aws:rds/instance:Instance" ? { ...r, inputs: { ...r.inputs, publiclyAccessible: true } } : r);
        const result = await checkStack({ stack: "dev" }, makePublic);
        assert.ok(result.mandatory >= 1, result.report);
        assert.match(result.report, /\[mandatory\] rds-private-and-encrypted: .*aws:rds\/instance:Instance/);
        assert.match(result.report, /is publicly accessible\. Fix: set publiclyAccessible: false/);
    });
});
