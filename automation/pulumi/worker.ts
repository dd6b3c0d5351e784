// Entry of a job's worker process: runs ONE Pulumi operation through the Automation API and
// reports over IPC. A separate process per job keeps an engine crash or hang away from the
// service and gives force-cancel a process group to kill.
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as cmd from "@pulumi/pulumi/automation/cmd.js";
import * as errors from "@pulumi/pulumi/automation/errors.js";
import * as minimum from "@pulumi/pulumi/automation/minimumVersion.js";
import { LocalWorkspace, PulumiCommand, Stack as StackApi } from "@pulumi/pulumi/automation/index.js";
import type { EngineEvent, OutputMap, Stack } from "@pulumi/pulumi/automation/index.js";
import type { ParentMessage, WorkerMessage, WorkerSpec } from "./protocol";

const abort = new AbortController();
let started = false;

/** `pulumi version` of the CLI in `bin` (PulumiCommand.get would look in `bin`'s parent's bin/ instead). */
function askVersion(bin: string): Promise<string> {
    return new Promise((resolve, reject) =>
        execFile(path.join(bin, "pulumi"), ["version"], { timeout: 30_000, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
    );
}

/**
 * What `PulumiCommand.get` makes of the CLI's version (checked as it checks it), without asking
 * the CLI again. Its twin for the service's own commands is in state.ts (this file imports no
 * code of the project, so Node's type stripping can run it).
 */
function commandOf(bin: string, version: string): PulumiCommand {
    const parsed = parseAndValidatePulumiVersion(minimumVersion, version, !!process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK);
    const Command = PulumiCommand as unknown as new (command: string, version: unknown) => PulumiCommand;
    return new Command(path.join(bin, "pulumi"), parsed);
}

// Both internal to the Automation API (not in its types): test/automation/cliVersion.test.ts runs jobs through them.
const { minimumVersion } = minimum as unknown as { minimumVersion: unknown };
const parseAndValidatePulumiVersion = (cmd as unknown as { parseAndValidatePulumiVersion: (min: unknown, current: string, optOut: boolean) => unknown }).parseAndValidatePulumiVersion;

// Started before any job arrives (a warm worker waits with this done). The service passes the
// CLI's version when it knows it (asking the CLI costs its whole start); otherwise it is asked here.
const [pulumiBin, knownVersion] = process.argv.slice(2);
const prepared = (async () => commandOf(pulumiBin, knownVersion ?? (await askVersion(pulumiBin))))();
prepared.catch(() => undefined); // reported by the job that awaits it
const send = (m: WorkerMessage) => new Promise<void>((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));

// Graceful cancel: the Automation API turns the abort into one SIGINT to the CLI, which lets
// in-flight resource operations finish and writes a consistent checkpoint.
process.on("SIGINT", () => abort.abort());
process.on("message", (m: ParentMessage) => {
    if (m.type === "cancel") abort.abort();
    else if (m.type === "start" && !started) {
        started = true;
        void main(m.spec);
    }
});
// Without the parent there is nobody to report to: an idle worker leaves, a busy one cancels
// rather than run on unobserved.
process.on("disconnect", () => {
    if (!started) process.exit(0);
    abort.abort();
});

/**
 * The job's stack. Creating or selecting it, and reading its config, run in the directory of the
 * job's stack config copy (where the CLI may write the secrets provider's state); the operation
 * itself runs in the project with `--config-file` on that copy. For a stack the service has run
 * before, `stack select` is skipped: every command names `--stack` itself.
 */
/** The job's copy of the stack's config file, written by the parent before the start. */
const stackConfigFile = (spec: WorkerSpec) => path.join(spec.stackConfig.dir, `Pulumi.${spec.stack}.yaml`);

async function openStack(spec: WorkerSpec, pulumiCommand: PulumiCommand): Promise<Stack> {
    const configDir = spec.stackConfig.dir;
    if (!spec.stackKnown) await LocalWorkspace.createOrSelectStack({ stackName: spec.stack, workDir: configDir }, { pulumiCommand });
    const workspace = await LocalWorkspace.create({ workDir: spec.projectDir, pulumiCommand });
    workspace.selectStack = async () => undefined;
    // A sandboxed CLI cannot reach this process's loopback, where the Automation API serves engine
    // events to CLIs newer than 3.205: ask it for the file event log, which the sandbox is given.
    if (spec.sandbox) Object.defineProperty(workspace, "pulumiVersion", { get: () => FILE_EVENT_LOG_VERSION });
    // Config reads go to the copy, not to the project's tracked stack file.
    const admin = await LocalWorkspace.create({ workDir: configDir, pulumiCommand });
    workspace.getAllConfig = (stackName: string) => admin.getAllConfig(stackName);
    const stack = await StackApi.select(spec.stack, workspace);
    // `up`, `refresh` and `destroy` end with `stack history` for a summary nothing here reads: one
    // CLI start saved per job (and, on a bucket, a listing of the stack's whole history).
    (stack as unknown as { info(): Promise<undefined> }).info = async () => undefined;
    // Nor the two `stack output` runs `up` ends with: the outputs are read once, by stackOutputs.
    (stack as unknown as { outputs(): Promise<OutputMap> }).outputs = async () => ({});
    return stack;
}

/** Only stack files that hold a `secure:` value need the (slower) decrypting config call. */
function hasSecureConfig(spec: WorkerSpec): boolean {
    try {
        return /\bsecure:/.test(fs.readFileSync(stackConfigFile(spec), "utf8"));
    } catch {
        return false;
    }
}

/** How Pulumi's state marks a secret value (the secret signature of its apitype). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The stack's outputs, read with one `stack export --show-secrets` (the Automation API's
 * `outputs()` runs `stack output` twice), with every secret masked where it sits, and the
 * secrets' plain text for the job's redactor. The state marks each secret value, so a secret
 * inside a plain output is masked too: `outputs()` marks only whole outputs secret, and gave
 * such an inner secret (a generated password in an object) in plain text.
 */
async function stackOutputs(stack: Stack): Promise<{ masked: Record<string, unknown>; secrets: string[] }> {
    const exported = await stack.exportStack();
    const resources = (exported.deployment as { resources?: Array<{ type?: string; outputs?: Record<string, unknown> }> } | undefined)?.resources ?? [];
    const outputs = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs ?? {};
    const secrets: string[] = [];
    const mask = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(mask);
        if (value === null || typeof value !== "object") return value;
        const o = value as Record<string, unknown>;
        if (o[SECRET_SIG] !== SECRET_SIG_VALUE) return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, mask(v)]));
        // `plaintext` is the value as JSON; without it (no --show-secrets) nothing is learnt, and still nothing shown.
        if (typeof o.plaintext === "string") {
            const plain: unknown = JSON.parse(o.plaintext);
            secrets.push(typeof plain === "string" ? plain : JSON.stringify(plain));
        }
        return "[secret]";
    };
    // Each output on its own: an outputs map that itself looks like a secret is still a map.
    const masked = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, mask(v)]));
    return { masked, secrets };
}

async function run(spec: WorkerSpec, stack: Stack): Promise<Record<string, unknown> | undefined> {
    const common = {
        signal: abort.signal,
        configFile: stackConfigFile(spec),
        // The run's summary (`stack history --show-secrets`) would open the secrets provider in
        // the project, where the CLI then writes its salt; nothing here reads that summary.
        showSecrets: false,
        onEvent: (event: EngineEvent) => void send({ type: "event", event: event as unknown as Record<string, unknown> }),
        onOutput: (out: string) => {
            for (const line of out.split("\n")) if (line.trim()) void send({ type: "output", line });
        },
    };
    const policy = spec.policyPacks.length ? { policyPacks: spec.policyPacks } : {};
    if (spec.planFile && spec.op === "preview") fs.mkdirSync(path.dirname(spec.planFile), { recursive: true, mode: 0o700 });
    const planned = spec.planFile ? { plan: spec.planFile } : {};
    const refreshed = spec.options.refresh ? { refresh: true } : {};
    switch (spec.op) {
        case "preview":
            await stack.preview({ ...common, ...policy, ...planned, ...refreshed });
            return undefined;
        case "update": {
            await stack.up({ ...common, ...policy, ...planned, ...refreshed });
            const { masked, secrets } = await stackOutputs(stack);
            if (secrets.length) await send({ type: "secrets", values: secrets });
            return masked;
        }
        case "refresh": {
            const apply = spec.options.mode === "apply";
            await stack.refresh({ ...common, previewOnly: !apply });
            if (!apply) return undefined;
            const { masked, secrets } = await stackOutputs(stack);
            if (secrets.length) await send({ type: "secrets", values: secrets });
            return masked;
        }
        case "destroy":
            await stack.destroy(common);
            return {};
    }
}

/** The last CLI version the Automation API gives a file event log (newer ones get a loopback gRPC server). */
const FILE_EVENT_LOG_VERSION = "3.205.0";

/**
 * A pull request's preview: this worker is the service's code and stays outside the sandbox
 * (its IPC channel to the service too, out of the program's reach); every CLI command it runs
 * goes into the job's bubblewrap sandbox instead, with the engine's event log file, made here,
 * the one path of this process's the sandbox may write. Cancelling sends SIGINT to the CLI,
 * which is the sandbox's process 1 (bubblewrap forwards no signal).
 */
function runInSandbox(command: PulumiCommand, sandbox: NonNullable<WorkerSpec["sandbox"]>): void {
    const split = sandbox.args.indexOf("--remount-ro");
    const before = sandbox.args.slice(0, split);
    const after = sandbox.args.slice(split);
    (command as unknown as { run: SandboxedRun }).run = (args, cwd, additionalEnv, onOutput, onError, signal) =>
        new Promise((resolve, reject) => {
            if (!args.includes("--non-interactive")) args.push("--non-interactive");
            const i = args.indexOf("--event-log");
            const eventLog = i >= 0 && !args[i + 1].startsWith("tcp:") ? args[i + 1] : undefined;
            if (eventLog) fs.writeFileSync(eventLog, "", { flag: "a", mode: 0o600 });
            const binds = eventLog ? ["--bind", eventLog, eventLog] : [];
            const argv = [...before, ...binds, ...after, "--as-pid-1", "--info-fd", "3", "--chdir", cwd, "--", command.command, ...args];
            const env = { ...process.env, ...additionalEnv, PATH: `${path.dirname(command.command)}:${additionalEnv.PATH ?? process.env.PATH}`, PULUMI_AUTOMATION_API: "true", TMPDIR: "/tmp" };
            const child = spawn(sandbox.bwrap, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            let info = "";
            let cliPid: number | undefined;
            let interrupted = false;
            const interrupt = () => {
                interrupted = true;
                if (cliPid) process.kill(cliPid, "SIGINT");
            };
            (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => {
                info += d.toString();
                cliPid ??= Number(/"child-pid":\s*(\d+)/.exec(info)?.[1]) || undefined;
                if (cliPid && interrupted) process.kill(cliPid, "SIGINT");
            });
            child.stdout!.on("data", (d: Buffer) => {
                stdout += d.toString();
                onOutput?.(d.toString());
            });
            child.stderr!.on("data", (d: Buffer) => {
                stderr += d.toString();
                onError?.(d.toString());
            });
            signal?.addEventListener("abort", interrupt);
            child.on("error", (err) => reject(createCommandError(new CommandResult("", err.message, -2, err))));
            child.on("close", (code) => {
                const result = new CommandResult(stdout, stderr, code ?? -2);
                if (code === 0) resolve(result);
                else reject(createCommandError(result));
            });
        });
}

/** The Automation API's own result and error of a CLI command (internal to it, so not in its types). */
interface CommandResult {
    stdout: string;
    stderr: string;
    code: number;
}
const CommandResult = (cmd as unknown as { CommandResult: new (stdout: string, stderr: string, code: number, err?: Error) => CommandResult }).CommandResult;
const createCommandError = (errors as unknown as { createCommandError: (result: CommandResult) => Error }).createCommandError;

type SandboxedRun = (args: string[], cwd: string, additionalEnv: Record<string, string>, onOutput?: (data: string) => void, onError?: (data: string) => void, signal?: AbortSignal) => Promise<CommandResult>;

/**
 * A paused instance (a stopped VM, SIGSTOP of its processes) resumes all at once, its CLI
 * included, possibly long after the others interrupted its job and another took the stack. The
 * worker notices the gap on the monotonic clock within a tick and, before its CLI can write
 * anything more, kills every process of the job (they carry its tag) and leaves.
 */
function fenceOnPause(limitMs: number): void {
    let last = process.hrtime.bigint();
    setInterval(() => {
        const now = process.hrtime.bigint();
        const gapMs = Number(now - last) / 1e6;
        last = now;
        if (gapMs <= limitMs) return;
        const tag = process.env.AUTOMATION_WORKER_TAG;
        const needle = tag ? Buffer.from(`AUTOMATION_WORKER_TAG=${tag}\0`) : undefined;
        for (const entry of needle ? fs.readdirSync("/proc") : []) {
            if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
            try {
                if (fs.readFileSync(`/proc/${entry}/environ`).includes(needle!)) process.kill(Number(entry), "SIGKILL");
            } catch {
                /* ended meanwhile, or not ours */
            }
        }
        process.stderr.write(`worker paused for ${Math.round(gapMs)} ms, longer than ${limitMs} ms: its instance was given up on; killed the job's processes\n`);
        process.exit(75);
    }, 200);
}

async function main(spec: WorkerSpec): Promise<void> {
    if (spec.pauseLimitMs) fenceOnPause(spec.pauseLimitMs);
    // Before any CLI command: each inherits this process's environment.
    Object.assign(process.env, spec.env);
    try {
        const pulumiCommand = await prepared;
        if (spec.sandbox) runInSandbox(pulumiCommand, spec.sandbox);
        let stack = await openStack(spec, pulumiCommand);
        if (hasSecureConfig(spec)) {
            const config = await stack.getAllConfig();
            const values = Object.values(config).filter((c) => c.secret).map((c) => c.value);
            await send({ type: "secrets", values });
        }
        let outputs: Record<string, unknown> | undefined;
        try {
            outputs = await run(spec, stack);
        } catch (err) {
            // The stack vanished from the backend behind the service's back: create it and retry
            // once (nothing ran: the CLI stops before the engine when the stack is missing).
            if (!spec.stackKnown || (err as Error).name !== "StackNotFoundError") throw err;
            stack = await openStack({ ...spec, stackKnown: false }, pulumiCommand);
            outputs = await run(spec, stack);
        }
        await send({ type: "result", outputs });
        process.exit(0);
    } catch (err) {
        const e = err as { name?: string; message?: string };
        // The message goes to the parent's log (redacted there); clients only ever see the mapped code.
        await send({ type: "error", name: abort.signal.aborted ? "Cancelled" : (e.name ?? "Error"), message: String(e.message ?? err) });
        process.exit(1);
    }
}
