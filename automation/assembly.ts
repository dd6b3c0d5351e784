// The one place the service is put together, in dependency order:
//   configuration → stores → audit → tokens, policies → approvals → recovery → admission guard
//   → job service → webhooks → HTTP app → listening.
// No module imports this one but the process entry (main.ts) and the tests; every part gets
// what it needs through its constructor, so nothing is connected after it is built. About 300
// lines, on purpose: the order of construction is the point, and it reads in one place.
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import { probeBackend } from "./recovery/backendProbe";
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import type { Application } from "express";
import { parse as parseYaml } from "yaml";
import { AdmissionGuard } from "./admission/guard";
import { computeFingerprint } from "./approvals/fingerprint";
import { describePolicy, PolicySet } from "./environments/policy";
import { ApprovalService } from "./approvals/service";
import { createApp } from "./app";
import { ConfigError, PULUMI_VERSION, REPO_ROOT, type ServiceConfig } from "./config";
import { RefusalSampler } from "./http/audit";
import { failingChecks, notReadyMessage, type Readiness } from "./http/ops";
import { SharedCluster } from "./jobs/cluster";
import { JobReader } from "./jobs/reader";
import { JobService } from "./jobs/service";
import type { JobStore } from "./jobs/store";
import type { AuditTrail } from "./audit/trail";
import type { Job } from "./jobs/types";
import { jobProcessesAlive } from "./lib/processes";
import { settleWithin } from "./lib/within";
import { createLogger, type Logger } from "./logger";
import { createMetrics } from "./metrics";
import { createWorkerPool, workerEnvironment, type StartWorker } from "./pulumi/spawn";
import { previewMounts, sandboxArgs, sandboxEnvironment, type PreviewHost } from "./pulumi/sandbox";
import { cliVersion, isProjectDir, knownCliVersion, listStacks, versionAtLeast } from "./pulumi/stacks";
import { readStackState, type EngineContext } from "./pulumi/state";
import { StackCredentials } from "./pulumi/stackRoles";
import { RecoveryService } from "./recovery/service";
import { createRedactor, fileTokens, type TokenVerifier } from "./security";
import { TokenAdmin } from "./security/tokenAdmin";
import { databaseTokens, fileTokenStore, tokenReader, type DatabaseTokenStore } from "./security/tokenStore";
import { recordingUse } from "./security/tokenUse";
import { OidcRelyingParty } from "./security/oidc";
import { fileRoleMap, readRoleMap } from "./security/roleMap";
import { SignInService } from "./security/signIn";
import { readTokenFile, SSO_PREFIX } from "./security/tokens";
import { Checkouts } from "./sources/checkouts";
import { ensurePassphrase, probeWritable, secureDataDir } from "./storage/dataDir";
import { lockDataDir, type DataDirLock } from "./storage/dataDirLock";
import { DatabaseClock, fixedClock, localClock, type ServiceClock } from "./storage/clock";
import { openStores, type Stores } from "./storage/stores";
import { Notifier } from "./notifications/notifier";
import { approvalProgressOf, withEnvelope, type EnvelopeSources } from "./notifications/envelope";
import { notificationsOf } from "./notifications/events";
import { ScheduleService } from "./schedules/service";
import { DependencyService } from "./dependencies/service";
import { PgBus } from "./storage/bus";
import { Fences } from "./jobs/fences";
import { InstanceRegistry } from "./jobs/instances";
import { Retention } from "./jobs/retention";
import { SharedQueue } from "./jobs/sharedQueue";
import type { RunJob } from "./jobs/scheduler";
import type { StackDetails } from "./jobs/stackView";
import { GitHubClient } from "./webhooks/github";
import { WebhookHandler } from "./webhooks/handler";
import { pluginCheck } from "./pulumi/plugins";
import { makeDirs } from "./lib/dirs";

/** What tests and tools may put in place of the real part; everything has a working default. */
export interface AssemblyOptions {
    logger?: Logger;
    startWorker?: StartWorker;
    tokens?: TokenVerifier;
    webDir?: string;
    now?: () => Date;
}

export interface RunningService {
    url: string;
    /** The Express app, for tools that inspect its routes (the OpenAPI coverage test). */
    app: Application;
    config: ServiceConfig;
    jobs: JobService;
    approvals: ApprovalService;
    audit: AuditTrail;
    recovery: RecoveryService;
    policies: PolicySet;
    /** For tests that tamper with stored jobs; nothing in the service reads it but the job service. */
    store: JobStore;
    logger: Logger;
    /** This instance's name (recorded on the jobs it runs). */
    instanceId: string;
    /** Graceful stop: no new work, running jobs get the shutdown grace, then stop after their in-flight steps. */
    stop(): Promise<void>;
    /** During a stop: kill the jobs still running now, logging what each abandons. */
    abandon(): Promise<void>;
}

function projectName(projectDir: string): string {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(projectDir, f)).find((f) => fs.existsSync(f));
    const name = file ? (parseYaml(fs.readFileSync(file, "utf8")) as { name?: unknown } | null)?.name : undefined;
    if (typeof name !== "string") throw new ConfigError([`AUTOMATION_PROJECT_DIR: ${projectDir}/Pulumi.yaml names no project`]);
    return name;
}

/** Builds the whole service from a validated configuration, settles what a previous process left, and listens. */
export async function startService(config: ServiceConfig, options: AssemblyOptions = {}): Promise<RunningService> {
    if (!isProjectDir(config.projectDir)) throw new ConfigError([`AUTOMATION_PROJECT_DIR: ${config.projectDir} has no Pulumi.yaml; point it at a Pulumi project`]);
    // An embedded data dir belongs to one process: taken before anything in it is read or recovered.
    const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir, options.now);
    try {
        return await assemble(config, options, lock);
    } catch (e) {
        lock?.release();
        throw e;
    }
}

async function assemble(config: ServiceConfig, options: AssemblyOptions, lock: DataDirLock | undefined): Promise<RunningService> {
    // Configuration and secrets: the worker environment and the one redactor are built once, here.
    const project = projectName(config.projectDir);
    const tightened = secureDataDir(config.dataDir);
    const passphrase = ensurePassphrase(config);
    const workerEnv = workerEnvironment({ base: config.inheritedEnv, pulumiBin: config.pulumiBin, nodeBin: path.dirname(process.execPath), backendUrl: config.backendUrl, passphrase });
    const credentials = {
        ...workerEnv,
        ...(config.webhooks ? { AUTOMATION_GITHUB_WEBHOOK_SECRET: config.webhooks.secret } : {}),
        ...(config.github ? { AUTOMATION_GITHUB_TOKEN: config.github.token } : {}),
        // A password in a database or backend URL is a credential wherever it appears.
        AUTOMATION_DATABASE_PASSWORD: urlPassword(config.databaseUrl),
        PULUMI_BACKEND_PASSWORD: urlPassword(config.backendUrl),
    };
    const redactor = createRedactor({ env: credentials });
    const logger = options.logger ?? createLogger({ level: config.logLevel, redactor, format: config.logFormat });
    if (tightened.length) logger.warn({ dataDir: config.dataDir, tightened }, "the data dir held files others could read; made them private to the service's user (0700/0600)");
    const backendDir = config.backendUrl.startsWith("file://") ? config.backendUrl.slice("file://".length) : undefined;
    if (backendDir) makeDirs(backendDir);
    const stacks = () => listStacks(config.projectDir);
    // One clock for every time decision: the local one, or the shared database's once it is open (storage/clock.ts).
    let clock: ServiceClock = options.now ? fixedClock(options.now) : localClock(config.maxClockSkewMs);
    const now = () => clock.now();

    // Stores: the embedded files in the data dir, or one Postgres that any number of instances share.
    const stores = await openStores({
        dataDir: config.dataDir,
        databaseUrl: config.databaseUrl,
        redact: redactor.redactDeep,
        now,
        auditMaxBytes: config.auditMaxBytes,
        onAuditError: (err) => logger.error({ err }, "writing an audit entry to the database failed"),
    });
    const { jobs: jobStore, audit } = stores;
    const dbClock = stores.pool && !options.now ? new DatabaseClock(stores.pool, config.maxClockSkewMs, logger) : undefined;
    if (dbClock) {
        await dbClock.sync();
        clock = dbClock;
    }
    // Measured again with every heartbeat's rhythm: a host's time can be set wrong while it runs.
    const clockTimer = dbClock ? setInterval(() => void dbClock.sync().catch((err: unknown) => logger.warn({ err }, "reading the database's clock failed")), config.instances.heartbeatMs) : undefined;
    clockTimer?.unref();
    // Notifications go only where the configuration says, off every job's path (notifications/).
    // Every notification carries the job's link (AUTOMATION_PUBLIC_URL), the actor, the stack, the
    // change counts and, for approvals, how many are still needed (notifications/envelope.ts); the
    // approvals are read when a notification goes, after the service is assembled.
    const envelopeSources: EnvelopeSources = {
        publicUrl: config.publicUrl,
        findJob: (id) => jobStore.getJob(id),
        lastJob: (stack, filter) => jobStore.lastJob(stack, filter),
        approvalProgress: async (previewId, operation) => approvalProgressOf((await approvals.list(previewId))[operation], operation),
    };
    const notifier = new Notifier({
        destinations: config.notifications, deliveries: stores.notifications, logger, redact: redactor.redactDeep, now,
        envelope: (event, payload) => withEnvelope(event, payload, envelopeSources),
    });
    // With a shared database: this instance's name, its messages to the others, and the shared queue.
    const instanceId = config.instances.id ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    const shared = stores.pool
        ? {
              pool: stores.pool,
              bus: await PgBus.open(config.databaseUrl!, stores.pool, logger),
              queue: await SharedQueue.open({ pool: stores.pool, url: config.databaseUrl!, store: jobStore, concurrency: config.concurrency, queueLimit: config.queueLimit, logger }),
          }
        : undefined;
    const metrics = createMetrics();
    const fences = shared ? new Fences(shared.pool) : undefined;
    let stopWhenDisplaced: () => Promise<void> = async () => undefined;
    // Refused requests are counted, and recorded as a sample per window (a flood must not fill the disk).
    const refusals = new RefusalSampler(audit, { onRefused: (status) => metrics.refused(status), now });

    // Who may do what.
    // Each token's last use goes to the store (at most once a minute), never into the tokens file.
    // With a shared database the tokens live in it (every instance knows the same ones); the tokens
    // file only seeds a new database.
    const tokenStore = stores.tokens ?? fileTokenStore(config.tokensFile);
    const sharedTokens = stores.tokens && !options.tokens ? await openSharedTokens(stores.tokens, config.tokensFile, { url: config.databaseUrl!, now, logger }) : undefined;
    const tokens = recordingUse(options.tokens ?? sharedTokens ?? fileTokens(config.tokensFile, now), stores.tokenUse, {
        now,
        onError: (err, name) => logger.warn({ err, name }, "recording a token's use failed; tried again in a minute"),
    });
    const policies = new PolicySet(config.environmentsDir, stacks, {
        onInvalid: (e) => {
            logger.error({ problems: e.problems }, "environment policy files changed and do not validate; stacks keep their last valid policy");
            audit.append({ actor: { name: "policies", via: "system" }, action: "policy.invalid", from: "local", result: "refused", details: { dir: e.file, problems: e.problems } });
        },
        onReload: (dir) => {
            logger.info({ dir }, "environment policies re-read");
            audit.append({ actor: { name: "policies", via: "system" }, action: "policy.reloaded", from: "local", result: "ok", details: { dir } });
        },
    });
    const policyOf = (stack: string) => policies.get(stack);
    // People signed in through the identity provider act as `sso:` names; machines as their tokens.
    const signIn = config.oidc ? await openSignIn(config, stores, audit, logger, now) : undefined;
    const roleOf = (name: string) => (name.startsWith(SSO_PREFIX) ? signIn?.roleOf(name) : tokens.roleOf(name));
    // A person is asked about again when their queued job starts or their approval is used.
    const refreshRole = signIn ? { refreshRole: (name: string) => (name.startsWith(SSO_PREFIX) ? signIn.refreshRole(name) : Promise.resolve()) } : {};
    // Each stack's role, assumed per job and per service-side command; never the service's own rights.
    const stackCredentials = config.stackRoles ? new StackCredentials({ roles: config.stackRoles }) : undefined;
    await stackCredentials?.start();
    const engine: EngineContext = {
        projectDir: config.projectDir,
        pulumiBin: config.pulumiBin,
        env: workerEnv,
        stackConfigDir: path.join(config.dataDir, "stack-config"),
        ...(stackCredentials ? { credentials: (stack: string, access: "read" | "write") => stackCredentials.serviceEnv(stack, access) } : {}),
    };
    const approvals = new ApprovalService({
        store: stores.approvals,
        jobs: new JobReader(jobStore),
        audit,
        policyOf,
        fingerprint: (stack) => computeFingerprint(config.projectDir, stack, (s) => readStackState(engine, s)),
        roleOf,
        ...refreshRole,
        now,
        onFingerprintError: (err, job) => logger.warn({ err, jobId: job.id }, "taking the preview's fingerprint failed; it cannot be applied"),
        onUnrecorded: (a) => logger.error({ approvalId: a.id, previewId: a.previewId, by: a.by }, "an approval row has no entry in the audit chain (written to the database outside the service); it does not count"),
        onDecision: (a) => {
            if (a.decision === "approve") notifier.notify("approval.granted", { stack: a.stack, previewId: a.previewId, operation: a.operation, by: a.by, ...(a.comment ? { comment: a.comment } : {}) });
        },
        redact: redactor.redact,
    });
    const recovery = new RecoveryService({
        backendUrl: config.backendUrl, project, stacks, store: stores.findings, audit, engine, dataDir: config.dataDir, now, fences,
        onNeedsRepair: (stack, findings) => notifier.notify("stack.needs-repair", { stack, findings, repair: `/v1/stacks/${stack}/repair` }),
    });
    const guard = new AdmissionGuard({ policyOf, approvals, repair: recovery, roleOf, ...refreshRole, expiredAt: (name) => tokens.expiredAt?.(name), now });

    // The jobs.
    const webhookSettings = config.webhooks;
    const checkouts = webhookSettings
        ? new Checkouts({ dataDir: config.dataDir, projectDir: config.projectDir, urlTemplate: webhookSettings.gitUrl, projectPath: webhookSettings.projectPath, token: config.github?.token, maxBytes: webhookSettings.checkoutMaxBytes })
        : undefined;
    const previewHost: PreviewHost = {
        repoRoot: REPO_ROOT,
        projectDir: config.projectDir,
        project,
        execPath: process.execPath,
        pulumiBin: config.pulumiBin,
        policyPacks: config.policyPacks,
        ...(backendDir ? { backendDir } : {}),
        home: os.homedir(),
    };
    const pullRequestWorker = webhookSettings
        ? {
              env: sandboxEnvironment(workerEnv, webhookSettings.sandbox.env),
              timeoutMs: webhookSettings.sandbox.timeoutMs,
              sandbox: (checkout: { root: string; configDir: string }, stack: string) => ({
                  bwrap: webhookSettings.sandbox.bwrap,
                  args: sandboxArgs({ ...previewMounts(previewHost, { ...checkout, stack }, webhookSettings.sandbox.network), tmpBytes: webhookSettings.sandbox.tmpBytes }),
              }),
          }
        : undefined;
    const pool = createWorkerPool(config.concurrency);
    const jobs = new JobService({
        store: jobStore,
        // The registry below says whether this instance is still counted alive (jobs start only then).
        ...(shared
            ? {
                  cluster: new SharedCluster({
                      store: jobStore,
                      instance: instanceId,
                      scheduler: (run: RunJob) => shared.queue.scheduler(run),
                      bus: shared.bus,
                      plans: stores.plans!,
                      lease: { ensureLive: () => instances!.ensureLive(), pauseLimitMs: config.instances.silenceMs },
                  }),
              }
            : {}),
        logger,
        startWorker: options.startWorker ?? pool.start,
        guard,
        repair: recovery,
        metrics,
        stacks,
        projectDir: config.projectDir,
        checkouts,
        pullRequestWorker,
        pulumiBin: config.pulumiBin,
        policyPacks: config.policyPacks,
        workerEnv,
        credentials,
        ...(stackCredentials ? { stackCredentials } : {}),
        plansDir: path.join(config.dataDir, "plans"),
        stackConfigDir: path.join(config.dataDir, "stack-config"),
        policyInWords: (stack) => describePolicy(policyOf(stack)),
        stackDetails: async (stack): Promise<StackDetails> => {
            const [s, d] = await Promise.all([schedules.view(stack), dependencies.view(stack)]);
            return { ...(s ? { schedules: s } : {}), ...(d ? { dependencies: d } : {}) };
        },
        plansByDefault: (stack) => (policies.valid(stack)?.operations.update.approvals ?? 0) > 0,
        concurrency: config.concurrency,
        queueLimit: config.queueLimit,
        cancelGraceMs: config.cancelGraceMs,
        limits: config.jobLimits,
    });
    metrics.watchQueue(() => jobs.queueDepth());
    // Instances that stop answering: their running jobs are interrupted (never retried), each
    // stack is scanned for repair, and only then are their stacks' queues unlocked.
    const instances = shared
        ? await InstanceRegistry.open({
              pool: shared.pool,
              id: instanceId,
              logger,
              heartbeatMs: config.instances.heartbeatMs,
              silenceMs: config.instances.silenceMs,
              fences,
              // Another live process took this instance's id over while this one was paused: it stops.
              onDisplaced: () => void stopWhenDisplaced(),
              onLostSelf: async () => {
                  const killed = jobs.fenceOut();
                  await fences!.releaseInstance(instanceId);
                  if (killed) logger.warn({ killed }, "killed the jobs this instance still ran when it found itself declared gone");
              },
              onGone: async (gone, workerPools, hosts) => {
                  const why = `The service instance running it (${gone.join(", ")}) stopped answering for ${config.instances.silenceMs / 1000} s; the job was not retried, and its stack was scanned for repair.`;
                  // It may be paused, not dead: its jobs' stacks stay fenced until its processes are known gone.
                  await fences!.fence(await jobStore.runningJobsOf(gone), (instance) => ({ host: hosts.get(instance) }), (id) => jobStore.workerPid(id));
                  // On this host the workers' processes can be looked at: a dead one needs no fence.
                  await fences!.releaseDead(os.hostname(), jobProcessesAlive, instanceId);
                  const interrupted = await jobs.interruptAbandoned(gone, why);
                  for (const stack of new Set(interrupted.map((j) => j.stack))) await recovery.settled(stack);
                  await shared.queue.unlock(workerPools, interrupted.map((j) => j.id));
              },
          })
        : undefined;
    const webhooks = webhookSettings
        ? new WebhookHandler({
              config: webhookSettings,
              store: stores.deliveries,
              audit,
              refusals,
              stacks,
              policyOf,
              submit: (input) => jobs.submit(input),
              github: config.github ? new GitHubClient({ token: config.github.token, apiUrl: config.github.apiUrl }) : undefined,
              jobLog: async (jobId) => (await jobs.logPage(jobId, 0, 2000)).lines.map((l) => l.text),
              redact: redactor.redact,
              onError: (err, context) => logger.warn({ err, ...context }, "posting the PR comment failed"),
          })
        : undefined;

    // Who follows the jobs.
    jobs.on("started", (job) => approvals.previewStarted(job));
    jobs.on("finished", (job) => {
        approvals.jobFinished(job);
        audit.append(jobAuditRecord(job));
        // A job that did not finish cleanly may have left a lock or pending operations (a forced
        // cancel always may); one that never started cannot have.
        if (job.op !== "preview" && job.startedAt && job.state !== "succeeded") {
            recovery.scanStack(job.stack, `after ${job.op} ${job.id} ended ${job.state}`).catch((e: unknown) => logger.warn({ err: e, stack: job.stack }, "post-job recovery scan failed"));
        }
    });
    if (webhooks) jobs.on("finished", (job) => webhooks.jobFinished(job));
    jobs.on("finished", (job) => {
        for (const [event, payload] of notificationsOf(job, (stack) => policies.valid(stack)?.operations.update.approvals ?? 0)) notifier.notify(event, payload);
    });

    // What the service starts on its own: the stacks' schedules, and the stacks that follow others.
    const system = { stacks, policyOf: (stack: string) => policies.valid(stack), logger, now, submit: (input: Parameters<typeof jobs.submit>[0]) => jobs.submit(input), notify: (e: Parameters<typeof notifier.notify>[0], p: Record<string, unknown>) => notifier.notify(e, p) };
    const schedules = new ScheduleService({ ...system, runs: stores.scheduleRuns, jobs, instance: instanceId, tickMs: config.scheduleTickMs, clockTrusted: () => clock.trusted() });
    const dependencies = new DependencyService({ ...system, links: stores.links, jobs });
    jobs.on("finished", (job) => {
        void schedules.finished(job).catch((err: unknown) => logger.warn({ err, jobId: job.id }, "remediating drift failed"));
        void dependencies.finished(job);
    });

    const readiness = async (): Promise<Readiness> => {
        const version = knownCliVersion(config.pulumiBin) ?? (await cliVersion(config.pulumiBin));
        const cli = version
            ? { ok: versionAtLeast(version, PULUMI_VERSION), detail: `pulumi v${version} (need ≥ v${PULUMI_VERSION})` }
            : { ok: false, detail: `no working pulumi in ${config.pulumiBin} (it does not run, or \`pulumi version\` answers something else than a version); run scripts/setup-pulumi.sh` };
        const backend = await probeBackend(config.backendUrl);
        const checks = { cli, backend, store: await stores.check(), clock: clock.describe(), plugins: pluginCheck(config.projectDir, workerEnv), ...(sharedTokens ? { tokens: sharedTokens.freshness() } : {}) };
        return { ready: Object.values(checks).every((c) => c.ok), checks };
    };
    const app = createApp({
        jobs,
        idempotency: stores.idempotency,
        approvals,
        audit,
        recovery,
        notifications: { destinations: config.notifications, deliveries: stores.notifications },
        webhooks,
        tokens,
        ...(signIn ? { signIn } : {}),
        tokenAdmin: new TokenAdmin({ store: tokenStore, uses: stores.tokenUse, now, changed: () => sharedTokens?.refresh() }),
        logger,
        metrics,
        readiness,
        bodyLimit: config.bodyLimit,
        rateLimitPerMinute: config.rateLimitPerMinute,
        webhookBodyLimit: config.webhookBodyLimit,
        streamsPerCaller: config.streamsPerCaller,
        refusalRateLimitPerMinute: config.refusalRateLimitPerMinute,
        refusals,
        webDir: options.webDir ?? path.join(__dirname, "web"),
    });

    // Settle what the previous process left before listening, so nobody reads a "running" job
    // that no worker runs and no job starts on a stack a crash left inconsistent.
    const { interrupted, requeued } = await jobs.recover();
    // Embedded: deliveries the previous process left pending died with it (several instances cannot tell whose they were).
    if (!shared) {
        const abandoned = await stores.notifications.failAbandoned(now());
        if (abandoned) logger.warn({ abandoned }, "notification deliveries the previous process left pending are marked failed (not sent again)");
    }
    await recovery.scan(async (stack) => shared !== undefined && (await jobStore.lastJob(stack, { states: ["running"] })) !== undefined);
    const leftovers = await checkouts?.pruneLeftovers();
    if (leftovers) logger.info({ removed: leftovers }, "removed pull-request checkouts of jobs the previous process ran");
    // After the CLI's version is known, so the warm workers need not ask it themselves.
    if (!options.startWorker) void cliVersion(config.pulumiBin).then(() => pool.prewarm(workerEnv, config.pulumiBin));
    await jobs.resume(requeued);
    if (shared) {
        await shared.queue.start();
        instances!.start(shared.queue.workerPoolId);
    }
    if (interrupted.length || requeued.length) logger.info({ interrupted: interrupted.length, requeued: requeued.length }, "recovered jobs from the store");
    logger.info({ policies: Object.fromEntries(stacks().map((s) => [s, policySource(policies, s)])) }, "environment policies per stack");
    if (policies.unused.length) logger.warn({ files: policies.unused }, "environment policy files name no stack of the project");
    if (config.stackRoles) {
        const without = stacks().filter((s) => !config.stackRoles![s]);
        logger.info({ stacks: Object.keys(config.stackRoles) }, "jobs run with their stack's AWS role (AUTOMATION_STACK_ROLES), never the service's own credentials");
        if (without.length) logger.warn({ stacks: without }, "stacks without a role in AUTOMATION_STACK_ROLES: their jobs fail before anything runs");
    }

    const server = app.listen(config.port, config.host);
    await new Promise<void>((resolve, reject) => {
        server.once("listening", resolve);
        server.once("error", reject);
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, projectDir: config.projectDir, stacks: stacks(), dataDir: config.dataDir }, "automation service listening");
    // Said once where the operator starting the service looks (a missing plugin, an old CLI);
    // /readyz and the dashboard's banner say it from then on. Not awaited: listening comes first.
    void readiness().then(
        (report) => {
            const message = notReadyMessage(report);
            if (message) logger.warn({ checks: failingChecks(report) }, message);
        },
        (err: unknown) => logger.warn({ err }, "the start-up readiness check failed; GET /readyz says what fails"),
    );
    schedules.start();
    const retention = new Retention({ store: jobStore, sharedPlans: stores.plans, plansDir: path.join(config.dataDir, "plans"), retentionMs: config.jobRetentionMs, now, logger });
    retention.start();
    // Ended sessions and abandoned sign-ins are dropped; every instance may do it.
    const sessionPruner = signIn ? setInterval(() => void signIn.prune().catch((err: unknown) => logger.warn({ err }, "dropping ended sessions failed; tried again later")), 10 * 60_000) : undefined;
    sessionPruner?.unref();

    let stopping: Promise<void> | undefined;
    const stop = () =>
        (stopping ??= (async () => {
            logger.info({ graceMs: config.shutdownGraceMs }, "shutting down: no new jobs; waiting for running ones");
            // Stop accepting connections, but keep serving open ones (SSE watchers see the end).
            server.close();
            await schedules.stop();
            await retention.stop();
            await jobs.shutdown(config.shutdownGraceMs);
            await notifier.close();
            // A database that stopped answering (a silently dropped connection) must not keep the
            // process from ending: each close gets 5 s, then is left behind, logged.
            // At most 5 s for the database's clients together, then 5 s for the stores: under the 30 s
            // a container platform waits after SIGTERM once the jobs' grace is spent.
            const closing = (what: string, work: Promise<unknown>) => settleWithin(5000, work, () => logger.warn({ what }, "shutting down: the database did not answer within 5 s; not waiting for it"));
            clearInterval(clockTimer);
            clearInterval(sessionPruner);
            await closing("the shared queue, the instance registry, the instance messages and the tokens reader", Promise.all([shared?.queue.close(), instances?.close(), shared?.bus.close(), sharedTokens?.close()]));
            pool.close();
            server.closeAllConnections();
            refusals.close();
            await closing("the stores", stores.close());
            await stackCredentials?.close();
            lock?.release();
            logger.info("shut down");
        })());
    stopWhenDisplaced = stop;
    const abandon = async () => {
        const abandoned = await jobs.abandon();
        logger.error({ abandoned }, abandoned.length ? "told again to stop: killed the running jobs, abandoning their in-flight steps (their stacks will need repair)" : "told again to stop: nothing was running");
    };
    return { url, app, config, jobs, approvals, audit, recovery, policies, store: jobStore, logger, instanceId, stop, abandon };
}

function urlPassword(url: string | undefined): string | undefined {
    try {
        const password = url ? new URL(url).password : "";
        return password ? decodeURIComponent(password) : undefined;
    } catch {
        return undefined;
    }
}

/** Where a stack's policy comes from, for the start-up log: its file, the default, or the error. */
function policySource(policies: PolicySet, stack: string): string {
    try {
        return policies.get(stack).source;
    } catch (e) {
        return `invalid (${(e as Error).message.split("\n")[0]})`;
    }
}

function jobAuditRecord(job: Job) {
    return {
        actor: { name: job.triggeredBy, via: job.triggeredVia },
        action: `job.${job.op}`,
        from: "service",
        result: job.state,
        stack: job.stack,
        jobId: job.id,
        ...(job.options.previewId ? { previewId: job.options.previewId } : {}),
        ...(job.error ? { details: { error: job.error } } : {}),
    };
}



/**
 * Sign-in through the identity provider. A role map that cannot be read stops the start (nobody
 * could get a role); the provider itself may be down: it is asked when someone signs in.
 */
async function openSignIn(config: ServiceConfig, stores: Stores, audit: AuditTrail, logger: Logger, now: () => Date): Promise<SignInService> {
    const settings = config.oidc!;
    try {
        readRoleMap(settings.roleMapFile);
    } catch (e) {
        throw new ConfigError([`AUTOMATION_OIDC_ROLE_MAP: ${(e as Error).message}`]);
    }
    const roleMap = fileRoleMap(settings.roleMapFile, (e) => logger.error({ err: e }, "the role map changed and does not validate; the last valid one stays in force"));
    const signIn = new SignInService({ relyingParty: new OidcRelyingParty(settings), sessions: stores.sessions, roleMap, audit, logger, now });
    await signIn.load();
    logger.info({ issuer: settings.issuer.origin, clientId: settings.clientId, rolesClaim: settings.rolesClaim, roleMap: settings.roleMapFile }, "sign-in through the identity provider is on");
    return signIn;
}

/**
 * The database's tokens for this instance. A new database is seeded from the tokens file, once;
 * after that the file is not read into it (its tokens the database lacks are named in the log),
 * so a token put in a file later never goes live by a restart. A tokens file that cannot be read
 * stops the start, as it does without a database.
 */
async function openSharedTokens(store: DatabaseTokenStore, file: string, o: { url: string; now: () => Date; logger: Logger }) {
    const seeded = await store.seedFrom(readTokenFile(file), o.now());
    if (seeded.imported.length) o.logger.info({ file, names: seeded.imported }, `copied ${seeded.imported.length} token(s) from the tokens file into the new shared database, where every instance reads them; from now on manage them there (npm run token with AUTOMATION_DATABASE_URL set, or /v1/tokens)`);
    if (seeded.refused.length) o.logger.warn({ file, refused: seeded.refused }, "tokens in the tokens file whose names the service refuses were not copied into the database; create them again under valid names");
    if (seeded.ignored.length) o.logger.warn({ file, names: seeded.ignored }, "the tokens file lists tokens the shared database does not have; they do not work: with a shared database the tokens live in it (npm run token with AUTOMATION_DATABASE_URL set, or /v1/tokens), and the file only seeds a new database");
    const reader = tokenReader(o.url);
    const verifier = await databaseTokens(reader, {
        now: o.now,
        onError: (err) => o.logger.warn({ err }, "re-reading the tokens from the database failed; requests are judged on the last list read for 15 s, then answered 503 until a read succeeds"),
        onRecovered: (downMs) => o.logger.info({ downMs: Math.round(downMs) }, "the tokens are read from the database again"),
    });
    return {
        ...verifier,
        close: async () => {
            verifier.close();
            await reader.close();
        },
    };
}
