// A worker that dies without a word (OOM killer, SIGKILL) must not leave its Pulumi CLI,
// language host and dynamic providers running (the CLI puts its plugins in process groups of
// their own, so killing the worker's group is not enough): they would keep changing the
// stand-in cloud behind the service's back.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadConfig } from "../../automation/config";

import { startWorker, workerEnvironment } from "../../automation/pulumi/spawn";
import { prepareFixture, until } from "./harness";

interface Proc { pid: number; ppid: number; pgid: number; cmd: string }

/** Live (non-zombie) processes, read from /proc/<pid>/stat. */
function processes(): Proc[] {
    const found: Proc[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const cmd = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            if (fields[0] !== "Z") found.push({ pid: Number(entry), ppid: Number(fields[1]), pgid: Number(fields[2]), cmd });
        } catch {
            /* the process ended while we looked */
        }
    }
    return found;
}

/** `root` and every live process below it. */
function tree(root: number): Proc[] {
    const all = processes();
    const inTree = new Set([root]);
    for (let grew = true; grew;) {
        grew = false;
        for (const p of all) if (!inTree.has(p.pid) && inTree.has(p.ppid)) { inTree.add(p.pid); grew = true; }
    }
    return all.filter((p) => inTree.has(p.pid));
}

const alive = (pids: number[]) => {
    const live = new Set(processes().map((p) => p.pid));
    return pids.filter((pid) => live.has(pid));
};

describe("a worker killed in the middle of an update", function () {
    this.timeout(240_000);

    it("takes its CLI, language host and providers down with it instead of leaving them running", async () => {
        const copy = prepareFixture();
        copy.configure("dev", { count: 2, delayMs: 60_000 });
        const config = loadConfig({ ...process.env, AUTOMATION_PROJECT_DIR: copy.projectDir, AUTOMATION_DATA_DIR: copy.dataDir });
        fs.mkdirSync(path.join(copy.dataDir, "state"), { recursive: true });
        const env = workerEnvironment({
            base: config.inheritedEnv, pulumiBin: config.pulumiBin, nodeBin: path.dirname(process.execPath),
            backendUrl: `file://${path.join(copy.dataDir, "state")}`, passphrase: "worker-crash-test",
        });
        let creating = false;
        const handle = startWorker(
            { jobId: "crash-1", stack: "dev", op: "update", options: {}, projectDir: copy.projectDir, pulumiBin: config.pulumiBin, policyPacks: [], stackKnown: false,
                stackConfig: { dir: path.join(copy.dataDir, "stack-config"), keptFile: path.join(copy.dataDir, "stack-config", "Pulumi.dev.yaml") } },
            env,
            {
                onSecrets: () => undefined,
                onOutput: () => undefined,
                onEvent: (e) => { if (e.resourcePreEvent && JSON.stringify(e.resourcePreEvent).includes("item-")) creating = true; },
            },
        );
        await until(() => (creating ? true : undefined), "the update to start creating an item", 180_000);
        const job = tree(handle.pid);
        assert.ok(job.some((p) => p.cmd === "pulumi"), `the CLI runs under the worker: ${job.map((p) => p.cmd).join(", ")}`);
        assert.ok(job.length >= 4, `worker, CLI, language host and provider expected: ${job.map((p) => p.cmd).join(", ")}`);

        process.kill(handle.pid, "SIGKILL"); // the worker alone, as the OOM killer would
        const outcome = await handle.done;
        assert.equal(outcome.kind, "crashed");
        // The provider sleeps 60 s in its create: anything still alive 10 s after the kill was left behind.
        await new Promise((r) => setTimeout(r, 10_000));
        const left = alive(job.map((p) => p.pid));
        assert.deepEqual(left, [], `still running after the worker died: ${job.filter((p) => left.includes(p.pid)).map((p) => `${p.pid} ${p.cmd}`).join(", ")}`);
    });
});
