// The migrate task's provisioning of the app's own database user, run for real: the script the
// container definition carries, under Debian's Python, against a real MariaDB server started for
// this file in a temporary directory (installed by scripts/setup-database.sh).
//
// What stands in for what (named in each test):
//   - MariaDB 10.11 (Debian 12) for RDS MySQL 8.4. The statements the script sends mean the same
//     on both; what differs is listed in docs/infra.md ("The database password and its rotation").
//   - The app image's driver, mysql-connector-python (`mysql.connector`), is not packaged by
//     Debian 12 and PyPI is unreachable here: test/fixtures-delivery/mysql-connector-standin is
//     Debian's MySQLdb with Connector/Python's parameter substitution copied from its source.
//     The fallback driver, MySQLdb (mysqlclient), is Debian's real one.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { migrateContainerDefinitions, PROVISION_APP_USER_SCRIPT } from "../../infra/lib/appContainers";

const PYTHON = "/usr/bin/python3";
/** `mysql.connector` as a stand-in (see the top of this file); the script falls back to MySQLdb without it. */
const CONNECTOR_STANDIN = path.join(__dirname, "..", "fixtures-delivery", "mysql-connector-standin");
const MASTER = { user: "todobackend", password: "master-password-1" };

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer().listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        }).on("error", reject);
    });
}

async function waitForPort(port: number, deadline: number, logFile: string): Promise<void> {
    while (Date.now() < deadline) {
        const open = await new Promise<boolean>((resolve) => {
            const socket = net.connect(port, "127.0.0.1", () => { socket.destroy(); resolve(true); }).on("error", () => resolve(false));
        });
        if (open) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`MariaDB did not listen on ${port}: ${fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-2000) : "no log"}`);
}

/** Runs SQL statements as `user` through MySQLdb; each result is "ok" or the server's error code. */
function sql(port: number, user: string, password: string, statements: string[]): string[] {
    const program = [
        "import json, sys, MySQLdb",
        "a = json.loads(sys.argv[1])",
        "try:",
        "    c = MySQLdb.connect(host='127.0.0.1', port=a['port'], user=a['user'], passwd=a['password'])",
        "except MySQLdb.Error as e:",
        "    print(json.dumps(['connect:' + str(e.args[0])])); sys.exit(0)",
        "out = []",
        "for s in a['statements']:",
        "    try:",
        "        cur = c.cursor(); cur.execute(s); c.commit(); out.append('ok')",
        "    except MySQLdb.Error as e:",
        "        out.append(str(e.args[0]))",
        "print(json.dumps(out))",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", program, JSON.stringify({ port, user, password, statements })], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as string[];
}

/** The hosts a user exists at, as the server lists them (read as root through MySQLdb, the test's own client). */
let hosts: (user: string) => string;

describe("the app's own database user, provisioned by the migrate task against a real MariaDB 10.11 standing in for RDS MySQL 8.4", function () {
    this.timeout(120_000);
    let dir: string;
    let port: number;
    let server: ChildProcess | undefined;

    /**
     * The migrate container's command, minus `migrate`: the provisioning script, then `echo migrated`.
     * With `mysql.connector` (the stand-in) importable, as in the app image, unless `driver` says MySQLdb.
     */
    const provision = (env: Record<string, string>, driver: "mysql.connector" | "MySQLdb" = "mysql.connector") => spawnSync(PYTHON,
        ["-c", PROVISION_APP_USER_SCRIPT, "sh", "-c", "echo migrated"], {
            encoding: "utf8",
            // No bytecode: Python would otherwise write __pycache__ into the stand-in's tracked directory.
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PYTHONDONTWRITEBYTECODE: "1", ...(driver === "mysql.connector" ? { PYTHONPATH: CONNECTOR_STANDIN } : {}),
                MYSQL_HOST: "127.0.0.1", MYSQL_PORT: String(port), MYSQL_DATABASE: "todobackend",
                MYSQL_USER: MASTER.user, MYSQL_PASSWORD: MASTER.password, APP_MYSQL_USER: "todobackend_app", ...env },
        });

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mariadb-"));
        port = await freePort();
        // mariadbd refuses to run as root; as root it drops to the `mysql` user the package created.
        const asUser = process.getuid?.() === 0 ? ["--user=mysql"] : [];
        if (asUser.length) fs.chownSync(dir, Number(spawnSync("id", ["-u", "mysql"], { encoding: "utf8" }).stdout), Number(spawnSync("id", ["-g", "mysql"], { encoding: "utf8" }).stdout));
        const data = path.join(dir, "data");
        const init = spawnSync("mariadb-install-db", ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=normal",
            "--skip-test-db", ...asUser], { encoding: "utf8" });
        assert.equal(init.status, 0, `mariadb-install-db failed (run npm run setup): ${init.stderr}`);
        const log = path.join(dir, "error.log");
        server = spawn("/usr/sbin/mariadbd", ["--no-defaults", `--datadir=${data}`, `--socket=${path.join(dir, "sock")}`, `--port=${port}`,
            "--bind-address=127.0.0.1", "--skip-name-resolve", `--pid-file=${path.join(dir, "pid")}`, `--log-error=${log}`, ...asUser], { stdio: "ignore" });
        await waitForPort(port, Date.now() + 60_000, log);
        // The master user as RDS makes it: every privilege on the instance, with GRANT OPTION.
        assert.deepEqual(sql(port, "root", "", [`CREATE USER '${MASTER.user}'@'%' IDENTIFIED BY '${MASTER.password}'`,
            `GRANT ALL PRIVILEGES ON *.* TO '${MASTER.user}'@'%' WITH GRANT OPTION`, "CREATE DATABASE todobackend"]), ["ok", "ok", "ok"]);
        // A table as `migrate` would leave it.
        assert.deepEqual(sql(port, MASTER.user, MASTER.password, ["CREATE TABLE todobackend.todo (id INT PRIMARY KEY, title VARCHAR(64))"]), ["ok"]);
    });

    hosts = (user: string) => {
        const r = spawnSync(PYTHON, ["-c", "import sys, MySQLdb; c = MySQLdb.connect(host='127.0.0.1', port=int(sys.argv[1]), user='root', passwd=''); cur = c.cursor(); "
            + "cur.execute('SELECT Host FROM mysql.user WHERE User = %s ORDER BY Host', (sys.argv[2],)); print(','.join(h[0] for h in cur.fetchall()))",
        String(port), user], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim();
    };

    after(() => {
        server?.kill("SIGKILL");
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("is what the migrate container runs before migrate, as the master user, with the app user's password from its own secret", () => {
        const [migrate] = migrateContainerDefinitions({ image: "repo/app:1", region: "us-east-1", logGroupName: "/g", databaseHost: "db", databaseUser: "todobackend",
            databaseName: "todobackend", appDatabaseUser: "todobackend_app", appDatabaseSecretArn: "arn:app", appDatabaseSecretVersion: "v1",
            xrayDaemonAddress: "x:2000", databaseSecretArn: "arn:master", databasePasswordKey: "password", djangoSecretArn: "arn:django" });
        assert.deepEqual(migrate.command, ["python3", "-c", PROVISION_APP_USER_SCRIPT, "python3", "manage.py", "migrate", "--no-input"]);
        assert.ok(migrate.environment.some((e) => e.name === "MYSQL_USER" && e.value === "todobackend"));
        assert.ok(migrate.environment.some((e) => e.name === "APP_MYSQL_USER" && e.value === "todobackend_app"));
        assert.deepEqual(migrate.secrets?.map((s) => [s.name, s.valueFrom]), [["MYSQL_PASSWORD", "arn:master:password::"],
            ["APP_MYSQL_PASSWORD", "arn:app"], ["SECRET_KEY", "arn:django"]]);
    });

    it("imports the app image's driver, mysql.connector, and needs no MySQLdb (which the book's app image lacks)", () => {
        assert.match(PROVISION_APP_USER_SCRIPT, /^import os, re, sys\ntry:\n    import mysql\.connector as driver\nexcept ImportError:\n    import MySQLdb as driver\n/);
        // Connector/Python substitutes `%s` only: a literal `%` (or `%%`) would reach the server as written.
        const statements = PROVISION_APP_USER_SCRIPT.split("\n").filter((l) => l.startsWith("cur.execute("));
        assert.equal(statements.length, 3);
        for (const line of statements) assert.doesNotMatch(line.slice(0, line.lastIndexOf(", (")).replace(/%s/g, ""), /%/, line);
    });

    it("creates the app user at host '%' with data access to the app's database only, then runs migrate (mysql.connector: a stand-in over MySQLdb)", () => {
        const r = provision({ APP_MYSQL_PASSWORD: "app-password-1" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "app database user todobackend_app ready (mysql.connector)\nmigrated\n");
        assert.deepEqual(sql(port, "root", "", ["SELECT 1 FROM mysql.user WHERE User = 'todobackend_app' AND Host = '%'"]), ["ok"]);
        assert.equal(hosts("todobackend_app"), "%");
        assert.deepEqual(sql(port, "todobackend_app", "app-password-1", [
            "INSERT INTO todobackend.todo VALUES (1, 'a')", "UPDATE todobackend.todo SET title = 'b' WHERE id = 1",
            "SELECT * FROM todobackend.todo", "DELETE FROM todobackend.todo WHERE id = 1",
        ]), ["ok", "ok", "ok", "ok"]);
        // 1142: command denied; 1044: access denied to database; 1227: needs a privilege it lacks.
        assert.deepEqual(sql(port, "todobackend_app", "app-password-1", [
            "CREATE TABLE todobackend.other (id INT)", "DROP TABLE todobackend.todo", "ALTER TABLE todobackend.todo ADD COLUMN x INT",
            "SELECT * FROM mysql.user", "CREATE USER 'intruder'@'%'", "GRANT SELECT ON todobackend.* TO 'todobackend_app'@'%'",
        ]), ["1142", "1142", "1142", "1142", "1227", "1044"]);
    });

    it("sets the app user's new password when its secret changes, and the old one stops working (MySQLdb, Debian's real one, as the fallback driver)", () => {
        const r = provision({ APP_MYSQL_PASSWORD: "app-password-2" }, "MySQLdb");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "app database user todobackend_app ready (MySQLdb)\nmigrated\n");
        assert.equal(hosts("todobackend_app"), "%");
        assert.deepEqual(sql(port, "todobackend_app", "app-password-2", ["SELECT 1"]), ["ok"]);
        assert.deepEqual(sql(port, "todobackend_app", "app-password-1", ["SELECT 1"]), ["connect:1045"]);
    });

    it("keeps the app connected when RDS rotates the master password, and provisions with the rotated one (mysql.connector: a stand-in)", () => {
        assert.deepEqual(sql(port, MASTER.user, MASTER.password, [`ALTER USER '${MASTER.user}'@'%' IDENTIFIED BY 'master-password-2'`]), ["ok"]);
        assert.deepEqual(sql(port, "todobackend_app", "app-password-2", ["SELECT COUNT(*) FROM todobackend.todo"]), ["ok"]);
        // The next migrate task resolves the master secret afresh.
        assert.equal(provision({ MYSQL_PASSWORD: "master-password-1", APP_MYSQL_PASSWORD: "app-password-2" }).status, 1);
        const r = provision({ MYSQL_PASSWORD: "master-password-2", APP_MYSQL_PASSWORD: "app-password-2" });
        assert.equal(r.status, 0, r.stderr);
    });

    it("refuses a user or database name that is not a plain MySQL name, changing nothing (mysql.connector: a stand-in)", () => {
        const r = provision({ MYSQL_PASSWORD: "master-password-2", APP_MYSQL_USER: "x'@'%'; DROP DATABASE todobackend; --", APP_MYSQL_PASSWORD: "p" });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /APP_MYSQL_USER or MYSQL_DATABASE is not a plain MySQL name/);
        assert.equal(r.stdout, "", "migrate did not run");
        assert.deepEqual(sql(port, "todobackend_app", "app-password-2", ["SELECT COUNT(*) FROM todobackend.todo"]), ["ok"]);
    });
});
