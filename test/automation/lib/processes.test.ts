// Whether a job still runs on this host, judged by its worker's pid, on real processes: the
// worker leads its own process group and its CLI runs in it, so a CLI outliving its worker
// keeps the job alive.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { jobProcessesAlive, processAlive } from "../../../automation/lib/processes";

describe("a job's processes, judged by its worker's pid", () => {
    it("is alive while something of its worker's process group runs, after the worker itself is gone, and dead once that ends", async () => {
        // A "worker" leading its own group starts a long "CLI" in it, prints its pid and exits.
        const worker = spawn("sh", ["-c", "sleep 30 & echo $!; exit 0"], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
        const cli = Number((await once(worker.stdout!, "data"))[0].toString().trim());
        await once(worker, "exit");
        try {
            assert.equal(processAlive(worker.pid!), false, "the worker is gone");
            assert.equal(processAlive(cli), true, "its CLI runs on");
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
