// Runs ONE program under Pulumi's runtime mocks and writes what it declared to a JSON file. It is
// a process of its own because the mocks are process-global and Node caches the program module:
// two evaluations in one process would share resources and config. Started by evaluate.ts.
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { createMocks } from "./mocks";
import { plain } from "./wire";
import type { ChildRequest, EvaluatedResource, Evaluation } from "./evaluate";

const request = JSON.parse(process.env.TODOBACKEND_OFFLINE_REQUEST ?? "{}") as ChildRequest;
const resources: EvaluatedResource[] = [];

// The mock monitor hides the parent, URN and secretness from `mocks.newResource`; we read them
// from the registration request and its response instead.
type Callback = (err: unknown, resp?: { getUrn(): string; getId(): string }) => void;
const register = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (this: MockMonitor, req: any, callback: Callback) {
    return register.call(this, req, (err: unknown, resp?: { getUrn(): string; getId(): string }) => {
        if (!err && resp) {
            const secretPaths: string[] = [];
            const inputs = plain(req.getObject()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>;
            resources.push({
                type: req.getType(), name: req.getName(), urn: resp.getUrn(), parent: req.getParent() || undefined,
                inputs, id: req.getCustom() ? resp.getId() || undefined : undefined, custom: req.getCustom(),
                ...(secretPaths.length > 0 ? { secretPaths } : {}), ...(req.getCustom() ? { protect: req.getProtect() === true } : {}),
            });
        }
        callback(err, resp);
    });
} as typeof register;

// Reads (StackReference is one) go through readResource; record them the same way.
const read = MockMonitor.prototype.readResource;
MockMonitor.prototype.readResource = function (this: MockMonitor, req: any, callback: (err: unknown, resp?: { getUrn(): string }) => void) {
    return read.call(this, req, (err: unknown, resp?: { getUrn(): string }) => {
        if (!err && resp) {
            const secretPaths: string[] = [];
            const inputs = plain(req.getProperties()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>;
            resources.push({ type: req.getType(), name: req.getName(), urn: resp.getUrn(), parent: req.getParent() || undefined,
                inputs, id: req.getId() || undefined, custom: true, read: true, ...(secretPaths.length > 0 ? { secretPaths } : {}) });
        }
        callback(err, resp);
    });
} as typeof read;

async function resolve(value: unknown): Promise<{ value: unknown; secret: boolean }> {
    const out = pulumi.output(value) as pulumi.Output<unknown>;
    const [v, secret] = await Promise.all([
        new Promise<unknown>((r) => out.apply((x) => { r(x); return x; })),
        pulumi.isSecret(out),
    ]);
    return { value: v, secret };
}

async function settle(): Promise<void> {
    // Registrations answer asynchronously; wait until no new resource appears between RPC drains.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
    let seen = -1;
    while (seen !== resources.length) {
        seen = resources.length;
        await waitForRPCs();
        await new Promise((r) => setTimeout(r, 10));
    }
}

async function main(): Promise<Evaluation> {
    pulumi.runtime.setAllConfig(request.config, request.secretKeys);
    const region = request.config["aws:region"] ?? "us-east-1";
    // "organization": the diy backend's organization, which the program's own StackReference names.
    await pulumi.runtime.setMocks(createMocks({ region, stack: request.stack, stackOutputs: request.stackOutputs }), request.project, request.stack, false, "organization");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(request.module);
    const program = request.exportName ? mod[request.exportName]() : mod;
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [k, v] of Object.entries((await program) ?? {})) {
        const r = await resolve(v);
        outputs[k] = r.value;
        if (r.secret) secretOutputs.push(k);
    }
    await settle();
    const cpu = process.cpuUsage();
    return { resources, outputs, secretOutputs, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
}

function fail(e: unknown): never {
    const message = e instanceof Error ? e.message : String(e);
    fs.writeFileSync(request.outFile, JSON.stringify({ error: message }));
    process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
main().then((result) => {
    fs.writeFileSync(request.outFile, JSON.stringify(result));
    process.exit(0);
}, fail);
