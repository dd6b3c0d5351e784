import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { processAlive } from "../../../automation/lib/processes";
import { backendPaths, judgeLock, localProbe, LockInfo, needsRepair, ProcessProbe, readPendingOperations, scanStack } from "../../../automation/recovery/scan";

const probe = (alive: number[], cmd: Record<number, string> = {}): ProcessProbe => ({
    hostname: "here",
    alive: (pid) => alive.includes(pid),
    commandLine: (pid) => cmd[pid],
});
const lock = (pid: number, hostname = "here"): LockInfo => ({ file: "x", pid, hostname, username: "u", timestamp: "t" });

describe("lock judgement", () => {
    it("calls a lock stale only when this host wrote it and its pid is dead", () => {
        assert.equal(judgeLock(lock(10), probe([])), "stale");
        assert.equal(judgeLock(lock(10), probe([10], { 10: "/usr/bin/pulumi up" })), "live");
    });
    it("never calls a lock from another host stale, even with a dead-looking pid", () => {
        assert.equal(judgeLock(lock(10, "elsewhere"), probe([])), "foreign");
    });
    it("calls a lock stale when its pid was reused by a process that is not pulumi", () => {
        assert.equal(judgeLock(lock(10), probe([10], { 10: "nginx: worker" })), "stale");
    });
    it("calls a lock stale when its pid now belongs to a pulumi process that started after the lock was written (a reused pid)", () => {
        const written = { ...lock(10), timestamp: "2026-12-02T16:31:21.721753922Z" };
        const at = (ms: number) => ({ ...probe([10], { 10: "/usr/bin/pulumi version" }), startedAt: () => new Date(Date.parse(written.timestamp) + ms) });
        assert.equal(judgeLock(written, at(5_000)), "stale");
        assert.equal(judgeLock(written, at(-5_000)), "live", "the holder started before its lock");
        assert.equal(judgeLock(written, at(500)), "live", "within the clock's rounding it is not proof");
    });
    it("reads a process's start time from /proc, so a reused pid can be told from the lock's writer", () => {
        const started = localProbe.startedAt!(process.pid)!;
        const expected = Date.now() - process.uptime() * 1000;
        assert.ok(Math.abs(started.getTime() - expected) < 3000, `${started.toISOString()} vs ${new Date(expected).toISOString()}`);
        assert.equal(localProbe.startedAt!(2 ** 22 + 1), undefined);
    });
    it("keeps a lock whose live pid's command line cannot be read (or is empty, between exec images)", () => {
        assert.equal(judgeLock(lock(10), probe([10])), "live");
    });
    it("calls a lock stale when its holder is a zombie: it has exited, only nobody has reaped it yet", async () => {
        // A killed job's CLI is an orphan: it stays a zombie until pid 1 reaps it (1.2 s here,
        // in a container perhaps never). Here the inner sleep ends after bash has exec'd into
        // the outer one, which never reaps it: a real zombie, for 30 s.
        const parent = spawn("bash", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
        try {
            const zombie = Number((await once(parent.stdout!, "data"))[0].toString().trim());
            const holder = { ...lock(zombie), hostname: os.hostname(), timestamp: new Date().toISOString() };
            assert.equal(processAlive(zombie), true, "still running");
            for (let i = 0; i < 150 && !fs.readFileSync(`/proc/${zombie}/stat`, "utf8").includes(") Z "); i++) await new Promise((r) => setTimeout(r, 20));
            assert.match(fs.readFileSync(`/proc/${zombie}/stat`, "utf8"), /\) Z /, "a zombie now");
            assert.equal(processAlive(zombie), false);
            assert.equal(judgeLock(holder, localProbe), "stale");
            assert.equal(processAlive(parent.pid!), true, "its parent, which runs");
        } finally {
            parent.kill("SIGKILL");
        }
    });
    it("keeps alive a process whose main thread ended while another runs on, though /proc shows it as a zombie", async () => {
        const script = "import ctypes, sys, threading, time\nthreading.Thread(target=time.sleep, args=(30,)).start()\nprint(flush=True)\nctypes.CDLL(None).pthread_exit(None)";
        const p = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
        try {
            await once(p.stdout!, "data");
            for (let i = 0; i < 150 && !fs.readFileSync(`/proc/${p.pid}/stat`, "utf8").includes(") Z "); i++) await new Promise((r) => setTimeout(r, 20));
            assert.match(fs.readFileSync(`/proc/${p.pid}/stat`, "utf8"), /\) Z /, "its leader a zombie");
            assert.equal(processAlive(p.pid!), true, "its other thread still runs");
        } finally {
            p.kill("SIGKILL");
        }
    });
});

describe("stack scan of a file backend", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "scan-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const plant = (name: string, content: object) => {
        const { locks } = backendPaths(dir, "proj", "prod");
        fs.mkdirSync(locks, { recursive: true });
        fs.writeFileSync(path.join(locks, name), JSON.stringify(content));
        return path.join(locks, name);
    };
    const checkpoint = (pending: object[], gzip = false) => {
        const { checkpoint: file } = backendPaths(dir, "proj", "prod");
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const text = JSON.stringify({ version: 3, checkpoint: { stack: "organization/proj/prod", latest: { resources: [], pending_operations: pending } } });
        if (gzip) fs.writeFileSync(`${file}.gz`, zlib.gzipSync(text));
        else fs.writeFileSync(file, text);
    };

    it("deletes a stale lock, keeps live and foreign ones, and reports all three", () => {
        const stale = plant("a.json", { pid: 1, username: "u", hostname: "here", timestamp: "t" });
        const live = plant("b.json", { pid: 2, username: "u", hostname: "here", timestamp: "t" });
        const foreign = plant("c.json", { pid: 3, username: "u", hostname: "ci-7", timestamp: "t" });
        const findings = scanStack(dir, "proj", "prod", { probe: probe([2], { 2: "pulumi up" }), clearStale: true });
        assert.deepEqual(findings.map((f) => f.kind).sort(), ["foreign-lock", "live-lock", "stale-lock"]);
        assert.ok(!fs.existsSync(stale));
        assert.ok(fs.existsSync(live) && fs.existsSync(foreign));
        assert.equal(needsRepair(findings), false);
    });
    it("only reports a stale lock when not asked to clear it", () => {
        const stale = plant("a.json", { pid: 1, username: "u", hostname: "here", timestamp: "t" });
        assert.deepEqual(scanStack(dir, "proj", "prod", { probe: probe([]) }).map((f) => f.kind), ["stale-lock"]);
        assert.ok(fs.existsSync(stale));
    });
    it("reports pending operations with their type and urn, from plain or gzipped checkpoints", () => {
        const ops = [{ type: "creating", resource: { urn: "urn:pulumi:prod::proj::t::a" } }];
        checkpoint(ops);
        const findings = scanStack(dir, "proj", "prod", { probe: probe([]) });
        assert.deepEqual(findings, [{ kind: "pending-operations", operations: [{ type: "creating", urn: "urn:pulumi:prod::proj::t::a" }] }]);
        assert.equal(needsRepair(findings), true);
        fs.rmSync(backendPaths(dir, "proj", "prod").checkpoint);
        checkpoint(ops, true);
        assert.deepEqual(readPendingOperations(backendPaths(dir, "proj", "prod").checkpoint), [{ type: "creating", urn: "urn:pulumi:prod::proj::t::a" }]);
    });
    it("reports an unreadable lock file and leaves it for an operator", () => {
        const { locks } = backendPaths(dir, "proj", "prod");
        fs.mkdirSync(locks, { recursive: true });
        fs.writeFileSync(path.join(locks, "bad.json"), "{");
        const findings = scanStack(dir, "proj", "prod", { probe: probe([]), clearStale: true });
        assert.equal(findings[0].kind, "unreadable-lock");
        assert.equal(needsRepair(findings), true);
        assert.ok(fs.existsSync(path.join(locks, "bad.json")));
    });
    it("finds nothing on a stack that never ran", () => {
        assert.deepEqual(scanStack(dir, "proj", "prod"), []);
    });
});
