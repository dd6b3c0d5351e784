import * as path from "node:path";
import { Router } from "express";
import { computeFingerprint } from "./approvals/fingerprint";
import { environmentsDir, EnvironmentPolicy, defaultPolicy, loadPolicies } from "./approvals/policy";
import { ApprovalService } from "./approvals/service";
import { SafetyStore } from "./approvals/store";
import { AuditLog } from "./audit/log";
import type { ServiceConfig } from "./config";
import { approvalsRouter } from "./http/approvals";
import { auditRequests, auditRouter } from "./http/audit";
import type { AuthDeps } from "./http/routes";
import { workerEnvironment } from "./jobs/service";
import { listStacks } from "./pulumi/stacks";
import { EngineContext, readStackState } from "./pulumi/state";
import { authenticate, createRedactor, fileTokens, requireRole, type TokenVerifier } from "./security";
import { ensurePassphrase, type ServerOverrides } from "./server";

export interface SafetyLayer extends Required<Pick<ServerOverrides, "guards" | "routers" | "tokens" | "recovery">> {
    approvals: ApprovalService;
    audit: AuditLog;
    store: SafetyStore;
    policies: Map<string, EnvironmentPolicy>;
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
    const { policies, unused } = loadPolicies(environmentsDir(config.projectDir, env), listStacks(config.projectDir));
    const store = new SafetyStore(path.join(config.dataDir, "safety.sqlite"));
    const audit = new AuditLog(path.join(config.dataDir, "audit.jsonl"), { redact: redactor.redactDeep, now: options.now });
    const tokens = options.tokens ?? fileTokens(config.tokensFile);
    const approvals = new ApprovalService({
        store,
        audit,
        policyOf: (stack) => policies.get(stack) ?? defaultPolicy(stack),
        fingerprint: (stack) => computeFingerprint(config.projectDir, stack, (s) => readStackState(engine, s)),
        roleOf: (name) => tokens.roleOf?.(name),
        now: options.now,
    });
    const auth: AuthDeps = { authenticate: authenticate(tokens), requireRole };
    return {
        approvals,
        audit,
        store,
        policies,
        unusedPolicyFiles: unused,
        tokens,
        guards: approvals,
        recovery: { scan: () => undefined },
        routers: (ctx) => {
            approvals.bind(ctx.store);
            if (unused.length) ctx.logger.warn({ files: unused }, "environment policy files name no stack of the project");
            const recorder = Router();
            recorder.use(auditRequests(audit));
            return [recorder, approvalsRouter(approvals, auth), auditRouter(audit, auth)];
        },
        close: () => {
            audit.close();
            store.close();
        },
    };
}
