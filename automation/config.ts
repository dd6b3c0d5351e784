import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { z } from "zod";

/** The repository root: the project the service operates on when none is configured. */
export const REPO_ROOT = path.resolve(__dirname, "..");
/** The pinned CLI version `scripts/setup-pulumi.sh` provisions; /readyz refuses anything older. */
export const PULUMI_VERSION = "3.259.0";

const int = (min: number, max: number) =>
    z
        .string()
        .trim()
        .regex(/^\d+$/, "must be a whole number")
        .transform(Number)
        .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const absPath = z
    .string()
    .trim()
    .min(1, "must not be empty")
    .transform((p) => path.resolve(p));

/**
 * Every environment variable the service reads, with its default. This is the only place
 * `process.env` is interpreted; the rest of the service gets a typed `ServiceConfig`.
 */
const EnvSchema = z.object({
    /** TCP port to listen on; 0 picks a free one. @default 8080 */
    PORT: int(0, 65535).default(8080),
    /** Interface to bind. @default 127.0.0.1 (the service runs infrastructure changes: expose it deliberately) */
    HOST: z.string().trim().min(1).default("127.0.0.1"),
    /** The Pulumi project (a directory with Pulumi.yaml) the service operates on. @default the repository */
    AUTOMATION_PROJECT_DIR: absPath.default(REPO_ROOT),
    /** Where the job store, the passphrase and the default backend live. @default <project>/.automation */
    AUTOMATION_DATA_DIR: absPath.optional(),
    /** Pulumi state backend. @default file://<data dir>/state */
    PULUMI_BACKEND_URL: z.string().trim().regex(/^(file|s3|azblob|gs|https?):\/\//, "must be a backend URL such as file:///abs/dir or s3://bucket").optional(),
    /** Passphrase of the passphrase secrets provider. @default generated once into <data dir>/passphrase (mode 0600) */
    PULUMI_CONFIG_PASSPHRASE: z.string().min(1, "must not be empty (unset it to use the generated one)").optional(),
    /** Directory holding `pulumi` and `pulumi-language-nodejs`. @default ~/.pulumi/versions/3.259.0/bin (what scripts/setup-pulumi.sh fills) */
    AUTOMATION_PULUMI_BIN: absPath.optional(),
    /** Jobs running at once across all stacks (one per stack at most). @default 2 */
    AUTOMATION_CONCURRENCY: int(1, 64).default(2),
    /** Jobs that may wait per stack before new ones get 409 QUEUE_FULL. @default 20 */
    AUTOMATION_QUEUE_LIMIT: int(1, 1000).default(20),
    /** After a graceful cancel (SIGINT to the engine), how long before the job's process group is killed. @default 15000 */
    AUTOMATION_CANCEL_GRACE_MS: int(0, 3_600_000).default(15_000),
    /** On SIGTERM, how long running jobs may finish before they are cancelled and marked interrupted. @default 30000 */
    AUTOMATION_SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(30_000),
    /**
     * Comma-separated policy pack directories run on every preview and update; set but empty
     * turns packs off. @default <project>/policy when it holds a PulumiPolicy.yaml, else none
     */
    AUTOMATION_POLICY_PACKS: z
        .string()
        .optional()
        .transform((s) => (s === undefined ? undefined : s.split(",").map((p) => p.trim()).filter(Boolean).map((p) => path.resolve(p)))),
    /** Token file (hashed bearer tokens, see `npm run token`). @default <data dir>/tokens.json */
    AUTOMATION_TOKENS_FILE: absPath.optional(),
    /** Largest accepted request body in bytes. @default 65536 */
    AUTOMATION_BODY_LIMIT: int(256, 10 * 1024 * 1024).default(65_536),
    /** pino level. @default info */
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

const KEEP_EMPTY = new Set(["AUTOMATION_POLICY_PACKS"]);

/** Where a project keeps its own policy pack; the CI pipeline and the buildspecs run the same one. */
export const PROJECT_POLICY_DIR = "policy";

/**
 * The packs a project gets without AUTOMATION_POLICY_PACKS: its own `policy/` pack when it has
 * one, so the service's previews are held to the same rules as CI's.
 */
export function defaultPolicyPacks(projectDir: string): string[] {
    const dir = path.join(projectDir, PROJECT_POLICY_DIR);
    return fs.existsSync(path.join(dir, "PulumiPolicy.yaml")) ? [dir] : [];
}

export interface ServiceConfig {
    port: number;
    host: string;
    projectDir: string;
    dataDir: string;
    backendUrl: string;
    /** undefined: the server generates and keeps one in the data dir. */
    passphrase?: string;
    pulumiBin: string;
    concurrency: number;
    queueLimit: number;
    cancelGraceMs: number;
    shutdownGraceMs: number;
    policyPacks: string[];
    tokensFile: string;
    bodyLimit: number;
    logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/**
 * Reads and validates the configuration. Every bad value is reported at once, each naming the
 * variable, what it got and what it needs, so a start-up fails with one readable message.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
    // Empty means unset, except for the policy packs, where empty is the way to turn the default pack off.
    const known = Object.fromEntries(Object.keys(EnvSchema.shape).map((k) => [k, env[k] === "" && !KEEP_EMPTY.has(k) ? undefined : env[k]]));
    const parsed = EnvSchema.safeParse(known);
    if (!parsed.success) {
        throw new ConfigError(
            parsed.error.issues.map((i) => {
                const key = String(i.path[0]);
                const got = known[key];
                const shown = key === "PULUMI_CONFIG_PASSPHRASE" || got === undefined ? "" : ` (got "${got}")`;
                return `${key}: ${i.message}${shown}`;
            }),
        );
    }
    const e = parsed.data;
    const dataDir = e.AUTOMATION_DATA_DIR ?? path.join(e.AUTOMATION_PROJECT_DIR, ".automation");
    return {
        port: e.PORT,
        host: e.HOST,
        projectDir: e.AUTOMATION_PROJECT_DIR,
        dataDir,
        backendUrl: e.PULUMI_BACKEND_URL ?? `file://${path.join(dataDir, "state")}`,
        passphrase: e.PULUMI_CONFIG_PASSPHRASE,
        pulumiBin: e.AUTOMATION_PULUMI_BIN ?? path.join(os.homedir(), ".pulumi", "versions", PULUMI_VERSION, "bin"),
        concurrency: e.AUTOMATION_CONCURRENCY,
        queueLimit: e.AUTOMATION_QUEUE_LIMIT,
        cancelGraceMs: e.AUTOMATION_CANCEL_GRACE_MS,
        shutdownGraceMs: e.AUTOMATION_SHUTDOWN_GRACE_MS,
        policyPacks: e.AUTOMATION_POLICY_PACKS ?? defaultPolicyPacks(e.AUTOMATION_PROJECT_DIR),
        tokensFile: e.AUTOMATION_TOKENS_FILE ?? path.join(dataDir, "tokens.json"),
        bodyLimit: e.AUTOMATION_BODY_LIMIT,
        logLevel: e.LOG_LEVEL,
    };
}
