import assert from "node:assert/strict";
import * as path from "node:path";
import { ConfigError, loadConfig } from "../../../automation/config";
import { findBwrap } from "../../../automation/pulumi/sandbox";

/** The configuration's problems as loadConfig reports them, or [] when it loads. */
function problems(env: Record<string, string>): string[] {
    try {
        loadConfig(env);
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
}

describe("webhook, rate-limit and policy settings from the one configuration schema", () => {
    it("turns webhooks off without a secret and on with a secret and an allow-list", () => {
        assert.equal(loadConfig({}).webhooks, undefined);
        assert.deepEqual(loadConfig({ AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "acme/infra, acme/app" }).webhooks, {
            secret: "s".repeat(16),
            repositories: ["acme/infra", "acme/app"],
            gitUrl: "https://github.com/{repository}.git",
            projectPath: ".",
            allowForks: false,
            sandbox: { bwrap: findBwrap()!, network: false, env: [], timeoutMs: 900_000, tmpBytes: 512 * 1024 * 1024 },
            checkoutMaxBytes: 200 * 1024 * 1024,
        });
    });
    it("refuses to turn webhooks on where bubblewrap, the sandbox of pull-request previews, is missing", () => {
        assert.match(problems({ PATH: "/nonexistent", AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "a/b" }).join("\n"), /no bwrap is on PATH; install it/);
    });
    it("reads what a pull-request preview may see: named variables (never the service's own) and the network", () => {
        const base = { AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "a/b" };
        assert.deepEqual(loadConfig({ ...base, AUTOMATION_PR_PREVIEW_ENV: "AWS_REGION, AWS_PROFILE", AUTOMATION_PR_PREVIEW_NETWORK: "true", AUTOMATION_PR_PREVIEW_TIMEOUT_MS: "60000", AUTOMATION_PR_PREVIEW_TMP_BYTES: String(64 * 1024 * 1024) }).webhooks?.sandbox, {
            bwrap: findBwrap()!,
            network: true,
            env: ["AWS_REGION", "AWS_PROFILE"],
            timeoutMs: 60_000,
            tmpBytes: 64 * 1024 * 1024,
        });
        assert.match(problems({ ...base, AUTOMATION_PR_PREVIEW_TIMEOUT_MS: "500" }).join("\n"), /AUTOMATION_PR_PREVIEW_TIMEOUT_MS: must be at least 10000/);
        assert.match(problems({ ...base, AUTOMATION_PR_PREVIEW_ENV: "AUTOMATION_GITHUB_TOKEN" }).join("\n"), /AUTOMATION_PR_PREVIEW_ENV: must list variable names, none of the service's own/);
    });
    it("reads where pull-request heads come from and whether forks are previewed, refusing what cannot work", () => {
        const base = { AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "acme/infra" };
        assert.deepEqual(loadConfig({ ...base, AUTOMATION_GITHUB_GIT_URL: "https://ghe.acme.dev/{repository}.git", AUTOMATION_GITHUB_PROJECT_PATH: "deploy/pulumi", AUTOMATION_GITHUB_ALLOW_FORKS: "true" }).webhooks, {
            ...loadConfig(base).webhooks,
            gitUrl: "https://ghe.acme.dev/{repository}.git",
            projectPath: "deploy/pulumi",
            allowForks: true,
        });
        assert.match(problems({ ...base, AUTOMATION_GITHUB_GIT_URL: "https://github.com/acme/infra.git" }).join("\n"), /AUTOMATION_GITHUB_GIT_URL: must contain \{repository\}/);
        assert.match(problems({ ...base, AUTOMATION_GITHUB_PROJECT_PATH: "../elsewhere" }).join("\n"), /AUTOMATION_GITHUB_PROJECT_PATH: must be a relative path inside the repository/);
        assert.match(problems({ ...base, AUTOMATION_GITHUB_PROJECT_PATH: "/etc" }).join("\n"), /AUTOMATION_GITHUB_PROJECT_PATH/);
        assert.match(problems({ ...base, AUTOMATION_GITHUB_ALLOW_FORKS: "yes" }).join("\n"), /AUTOMATION_GITHUB_ALLOW_FORKS: must be true or false/);
    });
    it("fails on a webhook secret without a repository allow-list, naming the variable", () => {
        assert.match(problems({ AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16) }).join("\n"), /AUTOMATION_GITHUB_REPOSITORIES: must list/);
    });
    it("reports a short webhook secret (without echoing it) and a repository that is not owner/name together", () => {
        const found = problems({ AUTOMATION_GITHUB_WEBHOOK_SECRET: "short", AUTOMATION_GITHUB_REPOSITORIES: "acme", AUTOMATION_RATE_LIMIT_PER_MINUTE: "lots" });
        assert.equal(found.length, 3, found.join("\n"));
        assert.match(found.join("\n"), /AUTOMATION_GITHUB_WEBHOOK_SECRET: must be at least 16 characters/);
        assert.ok(!found.join("\n").includes('"short"'), "the secret's value is not echoed");
        assert.match(found.join("\n"), /AUTOMATION_GITHUB_REPOSITORIES: must list owner\/name repositories/);
        assert.match(found.join("\n"), /AUTOMATION_RATE_LIMIT_PER_MINUTE: must be a whole number/);
    });
    it("limits mutations to 120 per minute per caller unless configured", () => {
        assert.equal(loadConfig({}).rateLimitPerMinute, 120);
        assert.equal(loadConfig({ AUTOMATION_RATE_LIMIT_PER_MINUTE: "10" }).rateLimitPerMinute, 10);
    });
    it("reads the policies from AUTOMATION_ENVIRONMENTS_DIR, else <project>/environments", () => {
        assert.equal(loadConfig({ AUTOMATION_PROJECT_DIR: "/p" }).environmentsDir, path.join("/p", "environments"));
        assert.equal(loadConfig({ AUTOMATION_PROJECT_DIR: "/p", AUTOMATION_ENVIRONMENTS_DIR: "/etc/envs" }).environmentsDir, "/etc/envs");
    });
    it("hands the workers the process environment without the service's own variables (no webhook secret, no GitHub token)", () => {
        const config = loadConfig({ PATH: "/bin", AWS_REGION: "eu-west-1", AUTOMATION_GITHUB_TOKEN: "ghp_x", AUTOMATION_GITHUB_WEBHOOK_SECRET: "s".repeat(16), AUTOMATION_GITHUB_REPOSITORIES: "a/b", PORT: "1" });
        assert.deepEqual(config.inheritedEnv, { PATH: "/bin", AWS_REGION: "eu-west-1" });
    });
});
