// The resource plugins a project needs and whether they are installed, for /readyz: a job of a
// project whose plugin is missing fails before the engine starts (MISSING_PLUGIN), and a
// machine without the internet cannot download it on the fly.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Plugin { name: string; version: string }

/**
 * The resource plugins of the project's own `package.json` dependencies: each `@pulumi/*`
 * package whose installed `package.json` declares `pulumi.resource` (the AWS SDK, awsx, ...).
 * A project without a package.json of its own needs none.
 */
export function requiredPlugins(projectDir: string): Plugin[] {
    const manifest = path.join(projectDir, "package.json");
    if (!fs.existsSync(manifest)) return [];
    const deps = Object.keys((JSON.parse(fs.readFileSync(manifest, "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {});
    const out: Plugin[] = [];
    for (const dep of deps.filter((d) => d.startsWith("@pulumi/"))) {
        let pkg: { pulumi?: { resource?: boolean; name?: string; version?: string }; version?: string };
        try {
            pkg = JSON.parse(fs.readFileSync(require.resolve(`${dep}/package.json`, { paths: [projectDir] }), "utf8"));
        } catch {
            continue; // not installed: `npm install` is the fix, and the job says so
        }
        if (pkg.pulumi?.resource) out.push({ name: pkg.pulumi.name ?? dep.slice("@pulumi/".length), version: (pkg.pulumi.version ?? pkg.version ?? "").replace(/^v/, "") });
    }
    return out;
}

/** True when the plugin is in Pulumi's plugin cache (`$PULUMI_HOME/plugins`) or on PATH. */
export function pluginInstalled(p: Plugin, env: NodeJS.ProcessEnv): boolean {
    const home = env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    if (fs.existsSync(path.join(home, "plugins", `resource-${p.name}-v${p.version}`))) return true;
    return (env.PATH ?? "").split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, `pulumi-resource-${p.name}`)));
}

/** The /readyz check: the project's plugins, and the command that installs each missing one. */
export function pluginCheck(projectDir: string, env: NodeJS.ProcessEnv): { ok: boolean; detail: string } {
    const needed = requiredPlugins(projectDir);
    if (needed.length === 0) return { ok: true, detail: "the project needs no resource plugin" };
    const missing = needed.filter((p) => !pluginInstalled(p, env));
    if (missing.length === 0) return { ok: true, detail: needed.map((p) => `${p.name} v${p.version}`).join(", ") };
    return { ok: false, detail: `missing: ${missing.map((p) => `${p.name} v${p.version} (pulumi plugin install resource ${p.name} v${p.version})`).join(", ")}` };
}
