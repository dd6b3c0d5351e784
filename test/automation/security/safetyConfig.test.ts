import assert from "node:assert/strict";
import { readRateLimit, readWebhookConfig } from "../../../automation/safety";

describe("safety settings from the environment", () => {
    it("turns webhooks off without a secret and on with a secret and an allow-list", () => {
        assert.equal(readWebhookConfig({}), undefined);
        assert.deepEqual(readWebhookConfig({ AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "acme/infra, acme/app" }), {
            secret: "s".repeat(16),
            repositories: ["acme/infra", "acme/app"],
            gitUrl: "https://github.com/{repository}.git",
            projectPath: ".",
            allowForks: false,
        });
    });
    it("reads where pull-request heads come from and whether forks are previewed, refusing what cannot work", () => {
        const base = { AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "acme/infra" };
        assert.deepEqual(readWebhookConfig({ ...base, AUTOMATION_GITHUB_GIT_URL: "https://ghe.acme.dev/{repository}.git", AUTOMATION_GITHUB_PROJECT_PATH: "deploy/pulumi", AUTOMATION_GITHUB_ALLOW_FORKS: "true" }), {
            ...readWebhookConfig(base),
            gitUrl: "https://ghe.acme.dev/{repository}.git",
            projectPath: "deploy/pulumi",
            allowForks: true,
        });
        assert.throws(() => readWebhookConfig({ ...base, AUTOMATION_GITHUB_GIT_URL: "https://github.com/acme/infra.git" }), /AUTOMATION_GITHUB_GIT_URL must contain \{repository\}/);
        assert.throws(() => readWebhookConfig({ ...base, AUTOMATION_GITHUB_PROJECT_PATH: "../elsewhere" }), /AUTOMATION_GITHUB_PROJECT_PATH must be a relative path inside the repository/);
        assert.throws(() => readWebhookConfig({ ...base, AUTOMATION_GITHUB_PROJECT_PATH: "/etc" }), /AUTOMATION_GITHUB_PROJECT_PATH/);
        assert.throws(() => readWebhookConfig({ ...base, AUTOMATION_GITHUB_ALLOW_FORKS: "yes" }), /AUTOMATION_GITHUB_ALLOW_FORKS must be true or false/);
    });
    it("fails on a webhook secret without a repository allow-list, naming the variable", () => {
        assert.throws(() => readWebhookConfig({ AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16) }), /AUTOMATION_GITHUB_REPOSITORIES must list/);
    });
    it("fails on a short webhook secret and on a repository that is not owner/name", () => {
        assert.throws(() => readWebhookConfig({ AUTOMATION_GITHUB_WEBHOOK_SECRET: "short", AUTOMATION_GITHUB_REPOSITORIES: "a/b" }), /at least 16 characters/);
        assert.throws(() => readWebhookConfig({ AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "acme" }), /"acme" is not owner\/name/);
    });
    it("limits mutations to 120 per minute per caller unless configured", () => {
        assert.equal(readRateLimit({}), 120);
        assert.equal(readRateLimit({ AUTOMATION_RATE_LIMIT_PER_MINUTE: "10" }), 10);
        assert.throws(() => readRateLimit({ AUTOMATION_RATE_LIMIT_PER_MINUTE: "lots" }), /AUTOMATION_RATE_LIMIT_PER_MINUTE must be a whole number/);
    });
});
