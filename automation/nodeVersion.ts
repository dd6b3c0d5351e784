// Imported first by every entry point (the service, the token command), before anything that
// loads node:sqlite: on an older Node the person gets the fix, not a stack trace about a module.

/** The oldest Node that runs the service: node:sqlite without a flag (22.13), and the Pulumi SDK (≥ 22). */
export const MINIMUM_NODE = [22, 13] as const;

/** Why `version` cannot run the service, with what to do instead; undefined when it can. */
export function nodeVersionProblem(version: string, execPath: string): string | undefined {
    const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
    const [needMajor, needMinor] = MINIMUM_NODE;
    if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
    return `This is Node.js ${version} (${execPath}); the automation service needs Node.js ≥ ${needMajor}.${needMinor} (it stores its data with node:sqlite).\n`
        + "Run it through npm (`npm start`, `npm run token -- …`), which puts the project's own Node (node_modules/.bin/node, installed by `npm run setup`) first on PATH,\n"
        + `or run node_modules/.bin/node directly, or install Node.js ${needMajor}.${needMinor} or later.`;
}

const problem = nodeVersionProblem(process.version, process.execPath);
if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
}
