import * as fs from "node:fs";
import * as path from "node:path";
import { Router } from "express";
import { parse as parseYaml } from "yaml";
import type { Op } from "./jobs/types";
import { principalOf } from "./security/middleware";
import { computeFingerprint } from "./approvals/fingerprint";
import { environmentsDir, PolicySet } from "./approvals/policy";
import { ApprovalService } from "./approvals/service";
import { SafetyStore } from "./approvals/store";
import { AuditLog } from "./audit/log";
import type { ServiceConfig } from "./config";
import { approvalsRouter } from "./http/approvals";
import { auditRequests, auditRouter } from "./http/audit";
import type { AuthDeps } from "./http/routes";
import { workerEnvironment } from "./jobs/service";
import { isFinal } from "./jobs/types";
import { repairRouter } from "./http/repair";
import { RecoveryService } from "./recovery/service";
import { webhooksRouter } from "./http/webhooks";
import { Checkouts, isInsideRepository, REPOSITORY } from "./sources/checkouts";
import { GitHubClient } from "./webhooks/github";
import { WebhookConfig, WebhookHandler } from "./webhooks/handler";
import { listStacks } from "./pulumi/stacks";
import { EngineContext, readStackState } from "./pulumi/state";
import { authenticate, createRedactor, fileTokens, identify, mutationRateLimit, requireRole, type TokenVerifier } from "./security";
import type { Logger } from "./logger";
import { ensurePassphrase, type ServerOverrides } from "./server";

export interface SafetyLayer extends Required<Pick<ServerOverrides, "guards" | "routers" | "tokens" | "recovery" | "repair">>, Pick<ServerOverrides, "checkouts"> {
    approvals: ApprovalService;
    recoveryService: RecoveryService;
    audit: AuditLog;
    store: SafetyStore;
    policies: PolicySet;
    /** Policy files naming no stack of the project (logged at start-up). */
    unusedPolicyFiles: string[];
    close(): void;
}

export interface SafetyOptions {
    env?: NodeJS.ProcessEnv;
    tokens?: TokenVerifier;
    now?: () => Date;
}

/**
 * Builds the safety layer for `startServer`: token auth, environment policies (validated
 * here, so a bad file stops the start), approvals and their guards, the audit log and its
 * routes. Everything it stores lives in the data dir: `safety.sqlite` and `audit.jsonl`.
 */
export function createSafetyLayer(config: ServiceConfig, options: SafetyOptions = {}): SafetyLayer {
    const env = options.env ?? process.env;
    const passphrase = ensurePassphrase(config);
    const engine: EngineContext = {
        projectDir: config.projectDir,
        pulumiBin: config.pulumiBin,
        env: workerEnvironment({ base: env, pulumiBin: config.pulumiBin, nodeBin: path.dirname(process.execPath), backendUrl: config.backendUrl, passphrase }),
    };
    const redactor = createRedactor({ env: { ...engine.env, PULUMI_CONFIG_PASSPHRASE: passphrase } });
    // Read on each call, so a stack file added while the service runs is known at once.
    const stacks = () => listStacks(config.projectDir);
    // Set once the core's logger exists (routers); policy files can change before that only in theory.
    let logger: Logger | undefined;
    const store = new SafetyStore(path.join(config.dataDir, "safety.sqlite"));
    const audit = new AuditLog(path.join(config.dataDir, "audit.jsonl"), { redact: redactor.redactDeep, now: options.now });
    const policies = new PolicySet(environmentsDir(config.projectDir, env), stacks, {
        onInvalid: (e) => {
            logger?.error({ problems: e.problems }, "environment policy files changed and do not validate; stacks keep their last valid policy");
            audit.append({ actor: { name: "policies", via: "system" }, action: "policy.invalid", from: "local", result: "refused", details: { dir: e.file, problems: e.problems } });
        },
        onReload: (dir) => {
            logger?.info({ dir }, "environment policies re-read");
            audit.append({ actor: { name: "policies", via: "system" }, action: "policy.reloaded", from: "local", result: "ok", details: { dir } });
        },
    });
    const policyOf = (stack: string) => policies.get(stack);
    const tokens = options.tokens ?? fileTokens(config.tokensFile);
    const approvals = new ApprovalService({
        store,
        audit,
        policyOf,
        fingerprint: (stack) => computeFingerprint(config.projectDir, stack, (s) => readStackState(engine, s)),
        roleOf: (name) => tokens.roleOf?.(name),
        now: options.now,
    });
    const recoveryService = new RecoveryService({
        backendUrl: config.backendUrl,
        project: projectName(config.projectDir),
        stacks,
        store,
        audit,
        engine,
        dataDir: config.dataDir,
        now: options.now,
    });
    const auth: AuthDeps = { authenticate: authenticate(tokens), requireRole };
    const webhookConfig = readWebhookConfig(env);
    const rateLimit = readRateLimit(env);
    const github = env.AUTOMATION_GITHUB_TOKEN ? new GitHubClient({ token: env.AUTOMATION_GITHUB_TOKEN, apiUrl: env.AUTOMATION_GITHUB_API_URL }) : undefined;
    const checkouts = webhookConfig
        ? new Checkouts({ dataDir: config.dataDir, projectDir: config.projectDir, urlTemplate: webhookConfig.gitUrl, projectPath: webhookConfig.projectPath, token: env.AUTOMATION_GITHUB_TOKEN })
        : undefined;
    return {
        approvals,
        audit,
        store,
        policies,
        unusedPolicyFiles: policies.unused,
        tokens,
        guards: approvals,
        recoveryService,
        recovery: recoveryService,
        repair: recoveryService,
        ...(checkouts ? { checkouts } : {}),
        routers: (ctx) => {
            logger = ctx.logger;
            approvals.bind(ctx.store);
            const webhooks = webhookConfig
                ? new WebhookHandler({
                      config: webhookConfig,
                      store,
                      audit,
                      stacks,
                      policyOf,
                      submit: (input) => ctx.service.submit(input),
                      github,
                      jobLog: (jobId) => ctx.store.logPage(jobId, 0, 2000).lines.map((l) => l.text),
                      redact: redactor.redact,
                      onError: (err, context) => ctx.logger.warn({ err, ...context }, "posting the PR comment failed"),
                  })
                : undefined;
            ctx.store.onJobChange((job) => {
                if (!isFinal(job.state)) return;
                void webhooks?.jobFinished(job);
                audit.append({
                    actor: { name: job.triggeredBy, via: job.triggeredBy.startsWith("github") ? "webhook" : "token" },
                    action: `job.${job.op}`,
                    from: "service",
                    result: job.state,
                    stack: job.stack,
                    jobId: job.id,
                    ...(job.options.previewId ? { previewId: job.options.previewId } : {}),
                    ...(job.error ? { details: { error: job.error } } : {}),
                });
                // A job that did not finish cleanly may have left a lock or pending operations
                // (a forced cancel always may); one that never started cannot have.
                if (job.op !== "preview" && job.startedAt && job.state !== "succeeded") {
                    recoveryService.scanStack(job.stack, `after ${job.op} ${job.id} ended ${job.state}`).catch((e: unknown) => ctx.logger.warn({ err: e, stack: job.stack }, "post-job recovery scan failed"));
                }
            });
            if (policies.unused.length) ctx.logger.warn({ files: policies.unused }, "environment policy files name no stack of the project");
            const recorder = Router();
            recorder.use(auditRequests(audit), identify(tokens), mutationRateLimit({ limit: rateLimit }));
            return [recorder, policyGate(approvals, auth, stacks), approvalsRouter(approvals, auth), auditRouter(audit, auth), repairRouter(recoveryService, ctx.service, auth), webhooksRouter(webhooks)];
        },
        close: () => {
            audit.close();
            store.close();
        },
    };
}

const OP_OF_ROUTE: Record<string, Op> = { previews: "preview", updates: "update", refreshes: "refresh", destroys: "destroy" };

/**
 * Runs before the core's operation routes: applies the stack's policy (role per operation,
 * freeze windows, destroy approvals) and falls through to them. Unknown stacks fall through
 * untouched so the core answers 404.
 */
function policyGate(approvals: ApprovalService, auth: AuthDeps, stacks: () => string[]): Router {
    const r = Router();
    // One route per operation, the same paths as the core's, so the gate adds no route of its own.
    for (const [kind, op] of Object.entries(OP_OF_ROUTE)) {
        r.post(`/stacks/:stack/${kind}`, auth.authenticate, async (req, res, next) => {
            const stack = String(req.params.stack);
            const principal = principalOf(res);
            if (!principal || !stacks().includes(stack)) return next();
            const previewId = typeof req.body?.previewId === "string" ? req.body.previewId : undefined;
            await approvals.checkRequest(stack, op, principal, previewId);
            next();
        });
    }
    return r;
}

function projectName(projectDir: string): string {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(projectDir, f)).find((f) => fs.existsSync(f));
    const name = file ? (parseYaml(fs.readFileSync(file, "utf8")) as { name?: unknown } | null)?.name : undefined;
    if (typeof name !== "string") throw new Error(`no project name in ${projectDir}/Pulumi.yaml`);
    return name;
}

/** The webhook's settings plus where pull-request heads are fetched from. */
export interface WebhookSettings extends WebhookConfig {
    /** AUTOMATION_GITHUB_GIT_URL, `{repository}` standing for owner/name. @default https://github.com/{repository}.git */
    gitUrl: string;
    /** AUTOMATION_GITHUB_PROJECT_PATH: the Pulumi project's directory in the repository. @default "." */
    projectPath: string;
}

/**
 * Webhooks are on when AUTOMATION_GITHUB_WEBHOOK_SECRET is set; then the repository
 * allow-list is required, so a leaked secret alone cannot trigger runs from any repository.
 */
export function readWebhookConfig(env: NodeJS.ProcessEnv): WebhookSettings | undefined {
    const secret = env.AUTOMATION_GITHUB_WEBHOOK_SECRET;
    if (!secret) return undefined;
    if (secret.length < 16) throw new Error("AUTOMATION_GITHUB_WEBHOOK_SECRET must be at least 16 characters; generate one with `openssl rand -hex 32`");
    const repositories = (env.AUTOMATION_GITHUB_REPOSITORIES ?? "").split(",").map((r) => r.trim()).filter(Boolean);
    if (!repositories.length) throw new Error("AUTOMATION_GITHUB_REPOSITORIES must list the owner/name repositories allowed to send webhooks");
    const bad = repositories.find((r) => !REPOSITORY.test(r));
    if (bad) throw new Error(`AUTOMATION_GITHUB_REPOSITORIES: "${bad}" is not owner/name`);
    const gitUrl = env.AUTOMATION_GITHUB_GIT_URL?.trim() || "https://github.com/{repository}.git";
    if (!gitUrl.includes("{repository}")) throw new Error(`AUTOMATION_GITHUB_GIT_URL must contain {repository} (got "${gitUrl}"), e.g. https://github.com/{repository}.git`);
    const projectPath = env.AUTOMATION_GITHUB_PROJECT_PATH?.trim() || ".";
    if (!isInsideRepository(projectPath)) throw new Error(`AUTOMATION_GITHUB_PROJECT_PATH must be a relative path inside the repository (got "${projectPath}")`);
    const forks = env.AUTOMATION_GITHUB_ALLOW_FORKS?.trim() ?? "";
    if (!["", "true", "false"].includes(forks)) throw new Error(`AUTOMATION_GITHUB_ALLOW_FORKS must be true or false (got "${forks}")`);
    return { secret, repositories, gitUrl, projectPath, allowForks: forks === "true" };
}

/** Mutating requests per caller per minute (AUTOMATION_RATE_LIMIT_PER_MINUTE). @default 120 */
export function readRateLimit(env: NodeJS.ProcessEnv): number {
    const raw = env.AUTOMATION_RATE_LIMIT_PER_MINUTE;
    if (raw === undefined || raw === "") return 120;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`AUTOMATION_RATE_LIMIT_PER_MINUTE must be a whole number from 1 to 100000 (got "${raw}")`);
    return n;
}
