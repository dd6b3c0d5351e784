// Entry of a job's worker process: runs ONE Pulumi operation through the Automation API and
// reports over IPC. A separate process per job keeps an engine crash or hang away from the
// service and gives force-cancel a process group to kill.
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import type { EngineEvent, OutputMap, Stack } from "@pulumi/pulumi/automation/index.js";
import type { ParentMessage, WorkerMessage, WorkerSpec } from "./protocol";

const abort = new AbortController();
const send = (m: WorkerMessage) => new Promise<void>((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));

// Graceful cancel: the Automation API turns the abort into one SIGINT to the CLI, which lets
// in-flight resource operations finish and writes a consistent checkpoint.
process.on("SIGINT", () => abort.abort());
process.on("message", (m: ParentMessage) => {
    if (m.type === "cancel") abort.abort();
    else if (m.type === "start") void main(m.spec);
});
// Without the parent there is nobody to report to; cancel rather than run on unobserved.
process.on("disconnect", () => abort.abort());

/** Only stack files that hold a `secure:` value need the (slower) decrypting config call. */
function hasSecureConfig(spec: WorkerSpec): boolean {
    try {
        return /\bsecure:/.test(fs.readFileSync(path.join(spec.projectDir, `Pulumi.${spec.stack}.yaml`), "utf8"));
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
        onEvent: (event: EngineEvent) => void send({ type: "event", event: event as unknown as Record<string, unknown> }),
        onOutput: (out: string) => {
            for (const line of out.split("\n")) if (line.trim()) void send({ type: "output", line });
        },
    };
    const policy = spec.policyPacks.length ? { policyPacks: spec.policyPacks } : {};
    switch (spec.op) {
        case "preview":
            await stack.preview({ ...common, ...policy });
            return undefined;
        case "update": {
            const r = await stack.up({ ...common, ...policy });
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
        const pulumiCommand = await PulumiCommand.get({ root: path.dirname(spec.pulumiBin) });
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: spec.stack, workDir: spec.projectDir }, { pulumiCommand });
        if (hasSecureConfig(spec)) {
            const config = await stack.getAllConfig();
            const values = Object.values(config).filter((c) => c.secret).map((c) => c.value);
            await send({ type: "secrets", values });
        }
        const outputs = await run(spec, stack);
        await send({ type: "result", outputs });
        process.exit(0);
    } catch (err) {
        const e = err as { name?: string; message?: string };
        // The message goes to the parent's log (redacted there); clients only ever see the mapped code.
        await send({ type: "error", name: abort.signal.aborted ? "Cancelled" : (e.name ?? "Error"), message: String(e.message ?? err) });
        process.exit(1);
    }
}
