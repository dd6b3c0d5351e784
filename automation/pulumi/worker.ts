// Entry of a job's worker process: runs ONE Pulumi operation through the Automation API and
// reports over IPC. A separate process per job keeps an engine crash or hang away from the
// service and gives force-cancel a process group to kill.
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack as StackApi } from "@pulumi/pulumi/automation/index.js";
import type { EngineEvent, OutputMap, Stack } from "@pulumi/pulumi/automation/index.js";
import type { ParentMessage, WorkerMessage, WorkerSpec } from "./protocol";

const abort = new AbortController();
let started = false;
// Started before any job arrives (a warm worker waits with this done): `pulumi version` runs once here.
const pulumiBin = process.argv[2];
const prepared = PulumiCommand.get({ root: path.dirname(pulumiBin) });
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
    // Config reads go to the copy, not to the project's tracked stack file.
    const admin = await LocalWorkspace.create({ workDir: configDir, pulumiCommand });
    workspace.getAllConfig = (stackName: string) => admin.getAllConfig(stackName);
    return StackApi.select(spec.stack, workspace);
}

/** Only stack files that hold a `secure:` value need the (slower) decrypting config call. */
function hasSecureConfig(spec: WorkerSpec): boolean {
    try {
        return /\bsecure:/.test(fs.readFileSync(stackConfigFile(spec), "utf8"));
    } catch {
        return false;
    }
}

function maskOutputs(outputs: OutputMap): { masked: Record<string, unknown>; secrets: string[] } {
    const masked: Record<string, unknown> = {};
    const secrets: string[] = [];
    for (const [k, o] of Object.entries(outputs)) {
        if (o.secret) {
            masked[k] = "[secret]";
            secrets.push(typeof o.value === "string" ? o.value : JSON.stringify(o.value));
        } else masked[k] = o.value;
    }
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
            const r = await stack.up({ ...common, ...policy, ...planned, ...refreshed });
            const { masked, secrets } = maskOutputs(r.outputs);
            if (secrets.length) await send({ type: "secrets", values: secrets });
            return masked;
        }
        case "refresh": {
            const apply = spec.options.mode === "apply";
            await stack.refresh({ ...common, previewOnly: !apply });
            if (!apply) return undefined;
            const { masked, secrets } = maskOutputs(await stack.outputs());
            if (secrets.length) await send({ type: "secrets", values: secrets });
            return masked;
        }
        case "destroy":
            await stack.destroy(common);
            return {};
    }
}

async function main(spec: WorkerSpec): Promise<void> {
    try {
        const pulumiCommand = await prepared;
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
