// Which resource plugins a project needs and whether they are installed (/readyz), on project
// directories built here: a package.json, an installed @pulumi/* SDK declaring its plugin, and a
// plugin cache with or without it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pluginCheck, requiredPlugins } from "../../automation/pulumi/plugins";

describe("the resource plugins a project needs", () => {
    let root: string;
    const write = (file: string, value: unknown) => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(value));
    };
    before(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "plugins-"));
        write(path.join(root, "project", "package.json"), { dependencies: { "@pulumi/pulumi": "3.270.0", "@pulumi/aws": "7.48.0", "@pulumi/policy": "1.21.0", "left-pad": "1" } });
        write(path.join(root, "project", "node_modules", "@pulumi", "aws", "package.json"), { name: "@pulumi/aws", version: "7.48.0", pulumi: { resource: true, name: "aws", version: "7.48.0" } });
        write(path.join(root, "project", "node_modules", "@pulumi", "pulumi", "package.json"), { name: "@pulumi/pulumi", version: "3.270.0" });
        write(path.join(root, "project", "node_modules", "@pulumi", "policy", "package.json"), { name: "@pulumi/policy", version: "1.21.0" });
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("reads them from the installed @pulumi SDKs the project depends on, and none without a package.json", () => {
        assert.deepEqual(requiredPlugins(path.join(root, "project")), [{ name: "aws", version: "7.48.0" }]);
        assert.deepEqual(requiredPlugins(root), []);
    });

    it("reports a missing one with the command that installs it, and none once it is in the plugin cache", () => {
        const env = { PULUMI_HOME: path.join(root, "home"), PATH: "/nonexistent" };
        assert.deepEqual(pluginCheck(path.join(root, "project"), env),
            { ok: false, detail: "missing: aws v7.48.0 (pulumi plugin install resource aws v7.48.0)" });
        fs.mkdirSync(path.join(root, "home", "plugins", "resource-aws-v7.48.0"), { recursive: true });
        assert.deepEqual(pluginCheck(path.join(root, "project"), env), { ok: true, detail: "aws v7.48.0" });
    });

    it("names this repository's own plugins (aws, awsx and random at the SDKs' versions)", () => {
        const pinned = (pkg: string) => (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies[pkg];
        assert.equal(pinned("@pulumi/random"), "4.21.2");
        assert.deepEqual(requiredPlugins(path.join(__dirname, "..", "..")), [{ name: "aws", version: "7.48.0" }, { name: "awsx", version: "3.9.0" }, { name: "random", version: "4.21.2" }]);
    });
});
