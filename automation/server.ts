import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { Application, Router } from "express";
import { createApp } from "./app";
import { ConfigError, PULUMI_VERSION, ServiceConfig, loadConfig } from "./config";
import type { Readiness } from "./http/ops";
import { Guards, JobService, RepairGate, workerEnvironment } from "./jobs/service";
import { JobStore } from "./jobs/store";
import { createLogger, Logger } from "./logger";
import { createMetrics } from "./metrics";
import { createWorkerPool, type StartWorker } from "./pulumi/spawn";
import { cliVersion, isProjectDir, listStacks, versionAtLeast } from "./pulumi/stacks";
import { authenticate, createRedactor, fileTokens, requireRole, type TokenVerifier } from "./security";
import type { SourceCheckouts } from "./sources/checkouts";

/** Extension points for the safety layer and for tests; everything has a working default. */
export interface ServerOverrides {
    guards?: Guards;
    /** Runs at start-up after running jobs are marked interrupted and before the queue resumes. */
    recovery?: { scan(): Promise<unknown> | unknown };
    /** Which stacks need repair (shown on the stacks, and no new job runs on them). */
    repair?: RepairGate;
    /** Pull-request checkouts for webhook previews (the safety layer's, when webhooks are on). */
    checkouts?: SourceCheckouts;
    routers?: (ctx: { service: JobService; store: JobStore; logger: Logger; config: ServiceConfig }) => Router[];
    tokens?: TokenVerifier;
    startWorker?: StartWorker;
    logger?: Logger;
    webDir?: string;
}

export interface RunningServer {
    url: string;
    /** The Express app, for tools that inspect its routes (the OpenAPI coverage test). */
    app: Application;
    config: ServiceConfig;
    service: JobService;
    store: JobStore;
    logger: Logger;
    /** Graceful stop: no new work, running jobs get the shutdown grace, then interrupted. */
    stop(): Promise<void>;
}

/**
 * The passphrase of the embedded default: the configured one, else one generated on first
 * start and kept beside the state (mode 0600) so the stacks stay decryptable across restarts.
 */
export function ensurePassphrase(config: ServiceConfig): string {
    if (config.passphrase) return config.passphrase;
    const file = path.join(config.dataDir, "passphrase");
    if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const passphrase = randomBytes(32).toString("base64url");
    fs.writeFileSync(file, passphrase + "\n", { mode: 0o600, flag: "wx" });
    return passphrase;
}

function probeWritable(dir: string): { ok: boolean; detail?: string } {
    try {
        fs.mkdirSync(dir, { recursive: true });
        const probe = path.join(dir, `.ready-${process.pid}`);
        fs.writeFileSync(probe, "ok");
        fs.rmSync(probe);
        return { ok: true };
    } catch (e) {
        return { ok: false, detail: `cannot write ${dir}: ${(e as NodeJS.ErrnoException).code ?? "error"}` };
    }
}

/** Builds and starts the whole service from a validated configuration. */
export async function startServer(config: ServiceConfig, overrides: ServerOverrides = {}): Promise<RunningServer> {
    if (!isProjectDir(config.projectDir)) throw new ConfigError([`AUTOMATION_PROJECT_DIR: ${config.projectDir} has no Pulumi.yaml; point it at a Pulumi project`]);
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const passphrase = ensurePassphrase(config);
    const workerEnv = {
        ...workerEnvironment({
            base: process.env,
            pulumiBin: config.pulumiBin,
            nodeBin: path.dirname(process.execPath),
            backendUrl: config.backendUrl,
            passphrase,
        }),
        // where previews in mode "plan" save their update plans (see pulumi/worker.ts)
        AUTOMATION_PLANS_DIR: path.join(config.dataDir, "plans"),
    };
    // The base redactor knows the passphrase and every credential in the workers' environment.
    const redactEnv = { ...workerEnv, PULUMI_CONFIG_PASSPHRASE: passphrase };
    const logger = overrides.logger ?? createLogger({ level: config.logLevel, redactor: createRedactor({ env: redactEnv }) });
    if (config.backendUrl.startsWith("file://")) fs.mkdirSync(config.backendUrl.slice("file://".length), { recursive: true });
    const store = new JobStore(path.join(config.dataDir, "jobs.sqlite"), createRedactor, redactEnv);
    const metrics = createMetrics();
    const pool = createWorkerPool(config.concurrency);
    const service = new JobService({
        store,
        logger,
        startWorker: overrides.startWorker ?? pool.start,
        guards: overrides.guards,
        repair: overrides.repair,
        metrics,
        stacks: () => listStacks(config.projectDir),
        projectDir: config.projectDir,
        checkouts: overrides.checkouts,
        pulumiBin: config.pulumiBin,
        policyPacks: config.policyPacks,
        workerEnv,
        concurrency: config.concurrency,
        queueLimit: config.queueLimit,
        cancelGraceMs: config.cancelGraceMs,
    });
    metrics.watchQueue(() => service.queueDepth());

    const tokens = overrides.tokens ?? fileTokens(config.tokensFile);
    let cachedVersion: string | undefined;
    const readiness = async (): Promise<Readiness> => {
        cachedVersion ??= await cliVersion(config.pulumiBin);
        const cli = cachedVersion
            ? { ok: versionAtLeast(cachedVersion, PULUMI_VERSION), detail: `pulumi v${cachedVersion} (need ≥ v${PULUMI_VERSION})` }
            : { ok: false, detail: `no working pulumi in ${config.pulumiBin}; run scripts/setup-pulumi.sh` };
        const backend = config.backendUrl.startsWith("file://") ? probeWritable(config.backendUrl.slice("file://".length)) : { ok: true, detail: "remote backend (not probed)" };
        const checks = { cli, backend, store: probeWritable(config.dataDir) };
        return { ready: Object.values(checks).every((c) => c.ok), checks };
    };

    const app = createApp({
        service,
        logger,
        auth: { authenticate: authenticate(tokens), requireRole },
        metrics,
        readiness,
        bodyLimit: config.bodyLimit,
        webDir: overrides.webDir ?? path.join(__dirname, "web"),
        routers: overrides.routers?.({ service, store, logger, config }),
    });

    // Recovery before listening: jobs the previous process was running are settled first, so
    // nobody reads a "running" job that no worker runs.
    const { interrupted, requeued } = await service.recover();
    await overrides.recovery?.scan();
    const leftovers = await overrides.checkouts?.pruneLeftovers?.();
    if (leftovers) logger.info({ removed: leftovers }, "removed pull-request checkouts of jobs the previous process ran");
    if (!overrides.startWorker) pool.prewarm(workerEnv, config.pulumiBin);
    service.resume(requeued);
    if (interrupted.length || requeued.length) logger.info({ interrupted: interrupted.length, requeued: requeued.length }, "recovered jobs from the store");

    const server = app.listen(config.port, config.host);
    await new Promise<void>((resolve, reject) => {
        server.once("listening", resolve);
        server.once("error", reject);
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, projectDir: config.projectDir, stacks: listStacks(config.projectDir), dataDir: config.dataDir }, "automation service listening");

    let stopping: Promise<void> | undefined;
    const stop = () =>
        (stopping ??= (async () => {
            logger.info({ graceMs: config.shutdownGraceMs }, "shutting down: no new jobs; waiting for running ones");
            // Stop accepting connections, but keep serving open ones (SSE watchers see the end).
            server.close();
            await service.shutdown(config.shutdownGraceMs);
            pool.close();
            server.closeAllConnections();
            store.close();
            logger.info("shut down");
        })());
    return { url, app, config, service, store, logger, stop };
}

/** Process entry: `npm start`. */
async function main(): Promise<void> {
    let config: ServiceConfig;
    try {
        config = loadConfig();
    } catch (e) {
        if (e instanceof ConfigError) {
            process.stderr.write(`${e.message}\n`);
            process.exit(2);
        }
        throw e;
    }
    // Loaded here, not at the top: the safety layer builds on this module's exports.
    const { createSafetyLayer } = await import("./safety");
    const safety = createSafetyLayer(config);
    const running = await startServer(config, safety);
    const onSignal = (signal: string) => {
        running.logger.info({ signal }, "signal received");
        void running
            .stop()
            .then(() => safety.close())
            .then(() => process.exit(0));
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
}

if (require.main === module) {
    main().catch((e: unknown) => {
        process.stderr.write(`automation service failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    });
}
