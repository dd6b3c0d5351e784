// Stack-state operations the safety layer needs (fingerprints, repair), run from the service
// process. None of them runs the program: they read or write the backend through the CLI.
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, PulumiCommand, Stack as StackApi, type Deployment, type Stack } from "@pulumi/pulumi/automation";
import * as minimum from "@pulumi/pulumi/automation/minimumVersion";
import { prepareStackConfig } from "./stackConfig";
import { cliVersion, knownCliVersion, parseAndValidatePulumiVersion } from "./stacks";

const execFileAsync = promisify(execFile);

export interface EngineContext {
    projectDir: string;
    /** Directory holding the `pulumi` binary. */
    pulumiBin: string;
    /** Backend, passphrase and PATH, as given to workers. */
    env: NodeJS.ProcessEnv;
    /** The stacks' config copies (pulumi/stackConfig.ts), where the CLI may write; never the project's files. */
    stackConfigDir: string;
    /** With stack roles: the variables that give a command on `stack` that stack's role (pulumi/stackRoles.ts). @default none */
    credentials?: (stack: string, access: "read" | "write") => Promise<Record<string, string>>;
}

/**
 * The CLI in `bin` (the very binary the jobs run) as the Automation API's command, with the
 * version the service asked once per binary, checked as `PulumiCommand.get` checks it; the
 * worker's twin is `commandOf` in worker.ts.
 */
async function commandIn(bin: string): Promise<PulumiCommand> {
    const version = knownCliVersion(bin) ?? (await cliVersion(bin));
    if (!version) throw new Error(`no working pulumi in ${bin}; run scripts/setup-pulumi.sh`);
    const parsed = parseAndValidatePulumiVersion(minimumVersion, version, !!process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK);
    const Command = PulumiCommand as unknown as new (command: string, version: unknown) => PulumiCommand;
    return new Command(path.join(bin, "pulumi"), parsed);
}
// Internal to the Automation API (not in its types), as is the version check (stacks.ts).
const { minimumVersion } = minimum as unknown as { minimumVersion: unknown };

/** The CLI and the environment a command on `stack` runs with. */
async function cli(ctx: EngineContext, stack: string, access: "read" | "write"): Promise<{ pulumiCommand: PulumiCommand; envVars: Record<string, string> }> {
    const env = Object.fromEntries(Object.entries(ctx.env).filter((e): e is [string, string] => typeof e[1] === "string"));
    return { pulumiCommand: await commandIn(ctx.pulumiBin), envVars: { ...env, ...(await ctx.credentials?.(stack, access)) } };
}

/**
 * The stack, opened in the directory of its config copy: these commands read and write the
 * backend only, and whatever the CLI writes into the stack's config goes to the copy. No
 * `stack select` first (one CLI start saved per call): every command names `--stack` itself,
 * and a stack that does not exist fails it (see `unlessAbsent`).
 */
async function openStack(ctx: EngineContext, stackName: string, access: "read" | "write" = "read"): Promise<Stack> {
    const { pulumiCommand, envVars } = await cli(ctx, stackName, access);
    prepareStackConfig({ projectDir: ctx.projectDir, stack: stackName, dir: ctx.stackConfigDir });
    const workspace = await LocalWorkspace.create({ workDir: ctx.stackConfigDir, pulumiCommand, envVars });
    workspace.selectStack = async () => undefined;
    return StackApi.select(stackName, workspace);
}

/**
 * Whether the CLI itself said the stack does not exist: its own closing line, naming this stack.
 * The Automation API's StackNotFoundError matches the phrase anywhere in stderr, and a refresh's
 * stderr carries what providers said (a provider's error quoting "no stack named … found").
 */
function saysMissing(stderr: string, stackName: string): boolean {
    const escaped = stackName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(`^error: no stack named '(?:[^'\\s]*/)?${escaped}' found$`, "m").test(stderr);
}

const stderrOf = (e: unknown): string => (e as { commandResult?: { stderr?: string }; stderr?: string }).commandResult?.stderr ?? (e as { stderr?: string }).stderr ?? "";

/** `run`'s answer, or `absent` when the CLI said the stack does not exist in the backend. */
async function unlessAbsent<T, A>(stackName: string, run: () => Promise<T>, absent: A): Promise<T | A> {
    try {
        return await run();
    } catch (e) {
        if (saysMissing(stderrOf(e), stackName)) return absent;
        throw e;
    }
}

/**
 * The version of the stack's last update (0 if none or no stack) and its deployment with the
 * secrets decrypted, for a fingerprint's hash only (never stored): every update or refresh
 * encrypts each secret afresh, so a hash of the ciphertext would call a no-op refresh (a
 * scheduled drift check) a change of state and void the approvals of the stack.
 */
export async function readStackState(ctx: EngineContext, stackName: string): Promise<{ version: number; deployment: unknown }> {
    const stack = await openStack(ctx, stackName);
    return unlessAbsent(stackName, async () => {
        const [history, exported] = await Promise.all([stack.history(1, 1, false), stack.exportStack()]);
        return { version: history[0]?.version ?? 0, deployment: exported.deployment as unknown };
    }, { version: 0, deployment: null });
}

/**
 * `pulumi stack export`: the whole checkpoint with its secrets encrypted, as the backend holds
 * it (repair's backups are written from it). Run directly: the Automation API's `exportStack`
 * always adds `--show-secrets`, and would decrypt every secret into the service's memory and
 * the backup file.
 */
export async function exportStackState(ctx: EngineContext, stackName: string): Promise<Deployment | undefined> {
    const { pulumiCommand, envVars } = await cli(ctx, stackName, "read");
    prepareStackConfig({ projectDir: ctx.projectDir, stack: stackName, dir: ctx.stackConfigDir });
    try {
        const { stdout } = await execFileAsync(pulumiCommand.command, ["stack", "export", "--stack", stackName, "--non-interactive"], {
            cwd: ctx.stackConfigDir,
            env: { ...process.env, ...envVars },
            maxBuffer: 1024 ** 3,
        });
        return JSON.parse(stdout) as Deployment;
    } catch (e) {
        const stderr = stderrOf(e);
        if (saysMissing(stderr, stackName)) return undefined;
        const said = stderr.trim().split("\n").filter((l) => l.startsWith("error:")).pop();
        throw new Error(`pulumi stack export --stack ${stackName} failed: ${said ?? (e as Error).message}`);
    }
}

/** `pulumi stack import`: replaces the stack's checkpoint. */
export async function importStackState(ctx: EngineContext, stackName: string, state: Deployment): Promise<void> {
    const stack = await openStack(ctx, stackName, "write");
    const imported = await unlessAbsent(stackName, () => stack.importStack(state).then(() => true), false);
    if (!imported) throw new Error(`stack ${stackName} does not exist`);
}

/**
 * `pulumi refresh --clear-pending-creates --yes`: reads every resource back from its provider
 * and drops pending creates (the engine cannot know whether they exist). Runs provider code,
 * so it needs the program's plugins like any refresh.
 */
export async function refreshClearingPendingCreates(ctx: EngineContext, stackName: string): Promise<void> {
    prepareStackConfig({ projectDir: ctx.projectDir, stack: stackName, dir: ctx.stackConfigDir });
    // The refresh runs the program's providers: in the project, on the config copy.
    const workspace = await LocalWorkspace.create({ workDir: ctx.projectDir, ...(await cli(ctx, stackName, "write")) });
    workspace.selectStack = async () => undefined;
    const inProject = await StackApi.select(stackName, workspace);
    const configFile = path.join(ctx.stackConfigDir, `Pulumi.${stackName}.yaml`);
    const refreshed = await unlessAbsent(stackName, () => inProject.refresh({ clearPendingCreates: true, configFile, showSecrets: false }).then(() => true), false);
    if (!refreshed) throw new Error(`stack ${stackName} does not exist`);
}

/**
 * `pulumi cancel --yes`: on a self-managed backend, removes every lock of the stack. The lock's
 * holder, should it still run, is not stopped; the caller decides that it may go.
 */
export async function removeStackLocks(ctx: EngineContext, stackName: string): Promise<boolean> {
    const stack = await openStack(ctx, stackName, "write");
    return unlessAbsent(stackName, () => stack.cancel().then(() => true), false);
}
