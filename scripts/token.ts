/**
 * The automation service's API tokens:
 *   npm run token -- --name <who> --role <viewer|operator|approver|admin> [--expires 30d|12h] [--file <path>]
 *       creates (or, for an existing name, rotates) a token; it is printed once, only its SHA-256
 *       hash is stored
 *   npm run token -- list [--json] [--file <path>]
 *       name, role, created, last used and expiry of each token (never a secret or a hash)
 *   npm run token -- revoke <name> [--file <path>]
 * The tokens are where the service reads them: with AUTOMATION_DATABASE_URL in that database
 * (every instance reads them there; the service migrates it at its first start), otherwise in the
 * file --file, else AUTOMATION_TOKENS_FILE, else `tokens.json` in AUTOMATION_DATA_DIR (default
 * `.automation/`); with AUTOMATION_DATABASE_URL set, --file is refused. "Last used" is what the service recorded: in
 * the data dir's safety.sqlite, or in the database of AUTOMATION_DATABASE_URL when that is set.
 */
import "../automation/nodeVersion";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { loadConfig, type ServiceConfig } from "../automation/config";
import { ROLES, isRole, type Role } from "../automation/security/roles";
import { withLastUse, type ListedToken } from "../automation/security/tokenAdmin";
import { TokenUse, type TokenUseRow } from "../automation/security/tokenUse";
import { DatabaseTokenStore, fileTokenStore, type TokenStore } from "../automation/security/tokenStore";
import { expiresInMs, expiresInProblem, tokenNameProblem } from "../automation/security/tokens";
import { openPool, postgresDb, sqliteDb } from "../automation/storage/db";

/** The settings the command shares with the service: the same rules as its configuration (automation/config.ts). */
function settings(env: NodeJS.ProcessEnv, projectDir: string): Pick<ServiceConfig, "tokensFile" | "dataDir" | "databaseUrl"> {
    const { AUTOMATION_TOKENS_FILE, AUTOMATION_DATA_DIR, AUTOMATION_PROJECT_DIR, AUTOMATION_DATABASE_URL } = env;
    // The passphrase is the service's business, not this command's; with a database URL the
    // configuration insists on one, so a stand-in lets an operator list tokens without it.
    const PULUMI_CONFIG_PASSPHRASE = env.PULUMI_CONFIG_PASSPHRASE || "not-used-by-npm-run-token";
    return loadConfig({ AUTOMATION_PROJECT_DIR: AUTOMATION_PROJECT_DIR ?? projectDir, AUTOMATION_DATA_DIR, AUTOMATION_TOKENS_FILE, AUTOMATION_DATABASE_URL, PULUMI_CONFIG_PASSPHRASE });
}

/** The file the service reads. */
export function defaultTokensFile(env: NodeJS.ProcessEnv = process.env, projectDir = path.resolve(__dirname, "..")): string {
    return settings(env, projectDir).tokensFile;
}

const USAGE = [
    `usage: npm run token -- --name <who> --role <${ROLES.join("|")}> [--expires <30d|12h>] [--file <path>]`,
    "       npm run token -- list [--json] [--file <path>]",
    "       npm run token -- revoke <name> [--file <path>]",
].join("\n");

type Result = { code: number; out: string };

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, projectDir = path.resolve(__dirname, "..")): Promise<Result> {
    let values: { name?: string; role?: string; file?: string; expires?: string; json?: boolean };
    let positionals: string[];
    try {
        ({ values, positionals } = parseArgs({
            args: argv,
            allowPositionals: true,
            options: { name: { type: "string" }, role: { type: "string" }, file: { type: "string" }, expires: { type: "string" }, json: { type: "boolean" } },
        }));
    } catch (e) {
        return { code: 2, out: `${(e as Error).message}\n${USAGE}` };
    }
    const config = settings(env, projectDir);
    const [command, ...rest] = positionals;
    let usage: string | undefined;
    if (command === "list") {
        if (rest.length || values.name || values.role || values.expires) usage = "`list` takes no name, role or expiry";
    } else if (command === "revoke") {
        const name = rest[0] ?? values.name;
        if (!name || rest.length > 1 || (rest.length && values.name)) usage = "`revoke` needs exactly one name, e.g. npm run token -- revoke ci-deploy";
        else if (values.role || values.expires) return { code: 2, out: "`revoke` takes no --role or --expires" };
    } else if (command !== undefined) usage = `unknown command "${command}"`;
    if (usage) return { code: 2, out: `${usage}\n${USAGE}` };
    if (values.file !== undefined && config.databaseUrl) {
        // The service reads the database then; a file changed here would do nothing, or go live by surprise.
        return { code: 2, out: "AUTOMATION_DATABASE_URL is set, so the service's tokens are in that database and a tokens file only seeds a new one: drop --file to change the database's tokens (or unset AUTOMATION_DATABASE_URL to edit a file on purpose)" };
    }
    const checked = command === undefined ? checkCreate(values) : undefined;
    if (checked && "code" in checked) return checked;
    const { store, close } = openStore(values.file, config);
    try {
        if (command === "list") return await list(store, config, values.json === true);
        if (command === "revoke") return await revoke(store, (rest[0] ?? values.name)!);
        return await create(store, checked!);
    } catch (e) {
        const problem = databaseProblem(e, store.where);
        if (problem) return { code: 1, out: problem };
        throw e;
    } finally {
        await close();
    }
}

/** What an operator can do about a database error, in words; undefined for anything else. */
function databaseProblem(e: unknown, where: string): string | undefined {
    const { code, message } = e as { code?: string; message?: string };
    if (code === "42P01") return `${where} has no table api_tokens on its user's search path: start the automation service (this version) on it once, which migrates it (schema migration 9), or connect as the user the service uses`;
    if (code === "42501") return `${where}: its user may not read or change the tokens (${message}); use the service's database user`;
    if (code === "3D000") return `${where} does not exist (${message}); fix the database name in AUTOMATION_DATABASE_URL`;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || /timeout|terminated|connect/i.test(message ?? "")) return `${where} cannot be reached (${message}); start it or fix AUTOMATION_DATABASE_URL, then run this again; nothing was changed`;
    if (code === "28P01" || code === "28000") return `${where} refused the credentials in AUTOMATION_DATABASE_URL (${message})`;
    return undefined;
}

/** The service's store: the database of AUTOMATION_DATABASE_URL, else the tokens file (--file, or the service's). */
function openStore(file: string | undefined, config: Pick<ServiceConfig, "tokensFile" | "databaseUrl">): { store: TokenStore; close: () => Promise<void> } {
    // --file with a database URL was refused before: a file here is the service's own store.
    if (!config.databaseUrl) return { store: fileTokenStore(file ?? config.tokensFile), close: async () => undefined };
    const where = new URL(config.databaseUrl);
    const pool = openPool(config.databaseUrl, 1);
    return { store: new DatabaseTokenStore(pool, `the database ${where.host}${where.pathname} (AUTOMATION_DATABASE_URL)`), close: () => pool.end().catch(() => undefined) };
}

type CreateInput = { name: string; role: Role; expiresAt?: Date; now: Date };

function checkCreate(values: { name?: string; role?: string; expires?: string }): CreateInput | Result {
    if (!values.name) return { code: 2, out: "`--name` is required: say who or what will use the token, e.g. --name alice" };
    if (!isRole(values.role)) return { code: 2, out: `\`--role\` must be one of ${ROLES.join(", ")}; got ${values.role ?? "nothing"}` };
    const problem = tokenNameProblem(values.name);
    if (problem) return { code: 2, out: `\`--name\` ${problem}; got "${values.name}"` };
    const expiresProblem = values.expires === undefined ? undefined : expiresInProblem(values.expires);
    if (expiresProblem) return { code: 2, out: `\`--expires\` ${expiresProblem}` };
    const now = new Date();
    return { name: values.name, role: values.role, now, ...(values.expires === undefined ? {} : { expiresAt: new Date(now.getTime() + expiresInMs(values.expires)) }) };
}

async function create(store: TokenStore, input: CreateInput): Promise<Result> {
    const { token, replaced } = await store.create(input.name, input.role, { now: input.now, expiresAt: input.expiresAt });
    const expiry = input.expiresAt ? `, expires ${seconds(input.expiresAt.toISOString())}` : ", never expires";
    return {
        code: 0,
        out: `${token}\n# token for ${input.name} (${input.role}${expiry})${replaced ? "; replaces the name's earlier token, which stops working now" : ""}; shown once, only its hash is stored in ${store.where.replace(/^the tokens file /, "")}\n`,
    };
}

async function revoke(store: TokenStore, name: string): Promise<Result> {
    const gone = await store.revoke(name);
    if (!gone) return { code: 1, out: `no token is named "${name}" in ${store.where}; npm run token -- list shows the names` };
    return { code: 0, out: `revoked ${gone.name} (${gone.role}); the service refuses it from its next request, and the jobs it queued do not start\n` };
}

async function list(store: TokenStore, config: Pick<ServiceConfig, "dataDir" | "databaseUrl">, asJson: boolean): Promise<Result> {
    const tokens = await store.list();
    const { uses, note } = await recordedUses(config);
    const listed = withLastUse(tokens, uses ?? [], new Date());
    const file = store.where.replace(/^the tokens file /, "");
    const isFile = file !== store.where;
    if (asJson) {
        // Without the recorded uses, "never" would be a guess: lastUsedAt is left out instead.
        const shown = uses ? listed : listed.map(({ lastUsedAt: _unknown, ...t }) => t);
        return { code: 0, out: JSON.stringify({ ...(isFile ? { file } : { store: store.where }), tokens: shown, ...(note ? { lastUsedUnknown: note } : {}) }, null, 2) + "\n" };
    }
    if (!tokens.length) return { code: 0, out: `no tokens in ${isFile ? file : store.where}; create one with npm run token -- --name <who> --role <role>\n` };
    const rows = [["NAME", "ROLE", "CREATED", "LAST USED", "EXPIRES"], ...listed.map((t) => row(t, uses !== undefined))];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const table = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
    return { code: 0, out: `${table}\n${note ? `# last used unknown: ${note}\n` : ""}` };
}

function row(t: ListedToken, known: boolean): string[] {
    const expires = !t.expiresAt ? "never" : t.expired ? `expired ${seconds(t.expiresAt)}` : seconds(t.expiresAt);
    return [t.name, t.role, t.createdAt ? seconds(t.createdAt) : "-", !known ? "unknown" : t.lastUsedAt ? seconds(t.lastUsedAt) : "never", expires];
}

/** An ISO time to the second. */
const seconds = (iso: string) => iso.replace(/\.\d{3}Z$/, "Z");

/**
 * The uses the service recorded, or why they cannot be read: with AUTOMATION_DATABASE_URL its
 * database, otherwise the data dir's safety.sqlite, read-only (the running service keeps it).
 */
async function recordedUses(config: Pick<ServiceConfig, "dataDir" | "databaseUrl">): Promise<{ uses?: TokenUseRow[]; note?: string }> {
    if (config.databaseUrl) {
        const where = new URL(config.databaseUrl);
        const pool = openPool(config.databaseUrl, 1);
        try {
            return { uses: await new TokenUse(postgresDb(pool)).all() };
        } catch (e) {
            return { note: `the database ${where.host}${where.pathname} (AUTOMATION_DATABASE_URL) could not be read: ${(e as Error).message}` };
        } finally {
            await pool.end().catch(() => undefined);
        }
    }
    const file = path.join(config.dataDir, "safety.sqlite");
    if (!fs.existsSync(file)) return { note: `${file} does not exist: no service has run on this data dir (set AUTOMATION_DATA_DIR, or AUTOMATION_DATABASE_URL for a shared database, to the service's)` };
    let db: DatabaseSync | undefined;
    try {
        db = new DatabaseSync(file, { readOnly: true });
        return { uses: await new TokenUse(sqliteDb(db)).all() };
    } catch (e) {
        const why = /no such table/.test((e as Error).message) ? "the service that wrote it has not recorded token use (it predates that; upgrade and start it)" : (e as Error).message;
        return { note: `${file} could not be read: ${why}` };
    } finally {
        db?.close();
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        ({ code, out }) => {
            (code === 0 ? process.stdout : process.stderr).write(out.endsWith("\n") ? out : out + "\n");
            process.exitCode = code;
        },
        (e: unknown) => {
            process.stderr.write(`${(e as Error).message}\n`);
            process.exitCode = 1;
        },
    );
}
