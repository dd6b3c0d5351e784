import * as assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../../automation/logger";
import { createRedactor } from "../../automation/security/redact";

function capture() {
    const lines: string[] = [];
    const destination = new Writable({
        write(chunk, _enc, done) {
            lines.push(String(chunk));
            done();
        },
    });
    return { lines, destination };
}

describe("service logger", () => {
    it("writes JSON lines with the secrets the redactor knows replaced, in messages, fields and errors", () => {
        const { lines, destination } = capture();
        const log = createLogger({ redactor: createRedactor({ env: { PULUMI_CONFIG_PASSPHRASE: "correct-horse" } }), destination });
        log.info({ detail: { pass: "correct-horse" } }, "using correct-horse");
        log.error(new Error("failed with correct-horse"));
        const entries = lines.map((l) => JSON.parse(l));
        assert.equal(entries.length, 2);
        assert.doesNotMatch(lines.join(""), /correct-horse/);
        assert.equal(entries[0].msg, "using [secret]");
        assert.equal(entries[0].detail.pass, "[secret]");
        assert.equal(entries[1].err.message, "failed with [secret]");
    });

    it("drops entries below the configured level", () => {
        const { lines, destination } = capture();
        const log = createLogger({ level: "warn", redactor: createRedactor(), destination });
        log.info("quiet");
        log.warn("loud");
        assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ["loud"]);
    });

    it("writes readable lines for a person with format pretty, level and message first, the same secrets replaced, no colour codes into a file", () => {
        const { lines, destination } = capture();
        const log = createLogger({ format: "pretty", redactor: createRedactor({ env: { PULUMI_CONFIG_PASSPHRASE: "correct-horse" } }), destination });
        log.info({ stack: "dev", detail: { pass: "correct-horse" } }, "using correct-horse");
        log.error(new Error("failed with correct-horse"));
        const text = lines.join("");
        assert.doesNotMatch(text, /correct-horse/);
        assert.doesNotMatch(text, /\u001b\[/, "plain text when the destination is not a terminal");
        assert.throws(() => JSON.parse(lines[0]), "not JSON");
        assert.match(text, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: using \[secret\]$/m);
        assert.match(text, /^\s+stack: "dev"$/m);
        assert.match(text, /^\[[^\]]+\] ERROR: /m);
        assert.match(text, /failed with \[secret\]/);
        assert.doesNotMatch(text, /pid|hostname|todobackend-automation/, "the fields a person at a terminal does not need are left out");
    });

    it("keeps the message, stack and fields of an error logged inside an object, with its secrets replaced", () => {
        const { lines, destination } = capture();
        const log = createLogger({ redactor: createRedactor({ env: { PULUMI_CONFIG_PASSPHRASE: "correct-horse" } }), destination });
        const cause = new Error("socket closed");
        const err = Object.assign(new Error("role map /etc/roles.yaml: bad YAML near correct-horse", { cause }), { code: "EROLEMAP" });
        log.error({ err, file: "/etc/roles.yaml" }, "the role map changed and does not validate");
        log.warn({ detail: { nested: [new TypeError("deep")] } }, "nested");
        const [entry, nested] = lines.map((l) => JSON.parse(l));
        assert.equal(entry.err.type, "Error");
        assert.equal(entry.err.message, "role map /etc/roles.yaml: bad YAML near [secret]");
        assert.match(entry.err.stack, /^Error: role map .*\n\s+at /);
        assert.doesNotMatch(lines.join(""), /correct-horse/);
        assert.equal(entry.err.code, "EROLEMAP");
        assert.equal(entry.err.cause.message, "socket closed");
        assert.equal(nested.detail.nested[0].type, "TypeError");
        assert.equal(nested.detail.nested[0].message, "deep");
    });
});
