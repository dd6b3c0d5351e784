// The environment stacks' generated secrets, as `pulumi preview --save-plan` then `pulumi up
// --plan` see them. A plan records every input of every resource; a value the program makes up
// on each run (an earlier version used crypto.randomBytes) differs between the preview and the
// update, so a new stack's first prod deploy failed "violates plan: properties changed:
// ++secretString[…]" and printed both values into the build log. Here: two independent runs of
// the real program under Pulumi's mocks (the AWS and random providers are the mocks' stand-ins)
// must declare identical inputs, and every secret value must come from a resource that fixes it
// when it is created (@pulumi/random) or from AWS (the RDS-managed master password).
import * as assert from "node:assert/strict";
import { EVALUATION_WAIT_MS, Evaluated, evaluateStack, startEarly } from "./harness";

const RANDOM = "random:index/randomPassword:RandomPassword";
const VERSION = "aws:secretsmanager/secretVersion:SecretVersion";

const runs = startEarly(Promise.all([evaluateStack("prod", { background: true }), evaluateStack("prod", { cache: false, background: true })]));

describe("the environment stacks' secrets, across two runs of the program (a saved plan, then up --plan)", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let first: Evaluated;
    let second: Evaluated;
    before(async () => {
        [first, second] = await runs;
    });

    it("declares the same inputs for every resource in both runs, the secret versions included", () => {
        const byUrn = (e: Evaluated) => Object.fromEntries(e.resources.map((r) => [r.urn, r.inputs]));
        const a = byUrn(first);
        const b = byUrn(second);
        assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
        const differing = Object.keys(a).filter((urn) => JSON.stringify(a[urn]) !== JSON.stringify(b[urn]));
        assert.deepEqual(differing, []);
        assert.equal(first.byType(VERSION).length, 2);
    });

    it("takes each secret string from a @pulumi/random password, fixed when it is created, and keeps it a Pulumi secret", () => {
        const passwords = first.byType(RANDOM);
        assert.deepEqual(passwords.map((p) => [p.name, p.inputs]), [
            ["app-django-key", { length: 64, special: false }],
            ["app-db-app-password", { length: 40, special: false }],
        ]);
        for (const [version, password] of [["app-django", "app-django-key"], ["app-db-app", "app-db-app-password"]]) {
            const v = first.one(VERSION, version);
            assert.ok(first.isSecret(v, "secretString"), `${version} is a secret`);
            // Under the mocks a password's result is the mock's stand-in value, so equality shows where the string comes from.
            assert.equal(v.inputs.secretString, `mock-random-${password}`, version);
        }
    });

    it("holds no generated value in any resource's inputs but those secret versions, where it is a Pulumi secret", () => {
        const generated = first.byType(RANDOM).map((p) => `mock-random-${p.name}`);
        const leaks = first.resources.flatMap((r) => {
            const text = JSON.stringify(r.inputs);
            return generated.filter((g) => text.includes(g)).map((g) => ({ r, g }));
        }).filter(({ r }) => !(r.type === VERSION && first.isSecret(r, "secretString")));
        assert.deepEqual(leaks.map(({ r, g }) => `${r.type} ${r.name}: ${g}`), []);
    });
});
