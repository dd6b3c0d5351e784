/**
 * Creates (or rotates) an API token of the automation service:
 *   npm run token -- --name <who> --role <viewer|operator|approver|admin> [--file <path>]
 * The token is printed once; only its SHA-256 hash is stored, in the file named by --file, else
 * AUTOMATION_TOKENS_FILE, else `tokens.json` in AUTOMATION_DATA_DIR (default `.automation/`).
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../automation/config";
import { ROLES, isRole } from "../automation/security/roles";
import { addToken, tokenNameProblem } from "../automation/security/tokens";

/** The file the service reads: the same rule as its configuration (automation/config.ts). */
export function defaultTokensFile(env: NodeJS.ProcessEnv = process.env, projectDir = path.resolve(__dirname, "..")): string {
    const { AUTOMATION_TOKENS_FILE, AUTOMATION_DATA_DIR, AUTOMATION_PROJECT_DIR } = env;
    return loadConfig({ AUTOMATION_PROJECT_DIR: AUTOMATION_PROJECT_DIR ?? projectDir, AUTOMATION_DATA_DIR, AUTOMATION_TOKENS_FILE }).tokensFile;
}

export function main(argv: string[], env: NodeJS.ProcessEnv = process.env): { code: number; out: string } {
    let values: { name?: string; role?: string; file?: string };
    try {
        ({ values } = parseArgs({ args: argv, options: { name: { type: "string" }, role: { type: "string" }, file: { type: "string" } } }));
    } catch (e) {
        return { code: 2, out: `${(e as Error).message}\nusage: npm run token -- --name <who> --role <${ROLES.join("|")}>` };
    }
    if (!values.name) return { code: 2, out: "`--name` is required: say who or what will use the token, e.g. --name alice" };
    if (!isRole(values.role)) return { code: 2, out: `\`--role\` must be one of ${ROLES.join(", ")}; got ${values.role ?? "nothing"}` };
    const file = values.file ?? defaultTokensFile(env);
    const problem = tokenNameProblem(values.name);
    if (problem) return { code: 2, out: `\`--name\` ${problem}; got "${values.name}"` };
    const token = addToken(file, values.name, values.role);
    return {
        code: 0,
        out: `${token}\n` + `# token for ${values.name} (${values.role}); shown once, only its hash is stored in ${file}\n`,
    };
}

if (require.main === module) {
    const { code, out } = main(process.argv.slice(2));
    (code === 0 ? process.stdout : process.stderr).write(out.endsWith("\n") ? out : out + "\n");
    process.exitCode = code;
}
