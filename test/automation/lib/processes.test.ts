// Whether a job still runs on this host, judged by its worker's pid, on real processes: the
// worker leads its own session, where its CLI, language host and providers run (the last two in
// groups of their own), so any of them outliving the worker keeps the job alive.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import { jobProcessesAlive, processAlive } from "../../../automation/lib/processes";

describe("a job's processes, judged by its worker's pid", () => {
    it("is alive while something of its worker's session runs, in a process group of its own too, after the worker itself is gone, and dead once that ends", async () => {
        // A "worker" leading its own session starts a long "provider" in a group of its own (as
        // the CLI starts its language host and providers), prints its pid and exits.
        const worker = spawn("bash", ["-c", "set -m; sleep 30 & echo $!; exit 0"], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
        const cli = Number((await once(worker.stdout!, "data"))[0].toString().trim());
        await once(worker, "exit");
        try {
            assert.equal(processAlive(worker.pid!), false, "the worker is gone");
            assert.equal(processAlive(cli), true, "its provider runs on");
            const [pgrp, session] = fs.readFileSync(`/proc/${cli}/stat`, "utf8").split(") ")[1].split(" ").slice(2, 4).map(Number);
            assert.deepEqual([pgrp === worker.pid, session], [false, worker.pid], "in a group of its own, in the worker's session");
            assert.equal(jobProcessesAlive(worker.pid!), true);
        } finally {
            process.kill(cli, "SIGKILL");
        }
        for (let i = 0; i < 100 && processAlive(cli); i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(jobProcessesAlive(worker.pid!), false, "nothing of the job runs");
    });

    it("is alive while the worker itself runs, and not for a pid nobody holds", async () => {
        const worker = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
        try {
            assert.equal(jobProcessesAlive(worker.pid!), true);
        } finally {
            worker.kill("SIGKILL");
            await once(worker, "exit");
        }
        assert.equal(jobProcessesAlive(worker.pid!), false);
        assert.equal(jobProcessesAlive(2 ** 22 + 7), false);
    });
});
