// The pipeline's CodeBuild previews and updates run the same policy pack as CI, so a violation
// blocks an update everywhere.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const dir = path.resolve(__dirname, "../../buildspecs");

function pulumiCommands(): Array<{ file: string; command: string }> {
    const found: Array<{ file: string; command: string }> = [];
    for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
        const spec = parse(fs.readFileSync(path.join(dir, file), "utf8")) as { phases?: Record<string, { commands?: string[] }> };
        for (const phase of Object.values(spec.phases ?? {})) {
            for (const command of phase.commands ?? []) {
                if (/\bpulumi\s+(preview|up)\b/.test(command)) found.push({ file, command });
            }
        }
    }
    return found;
}

describe("pipeline buildspecs", () => {
    it("run every pulumi preview and up with the policy pack", () => {
        const commands = pulumiCommands();
        assert.ok(commands.length > 0, "no buildspec runs pulumi preview or up");
        for (const { file, command } of commands) {
            assert.match(command, /--policy-pack[ =]+(\.\/)?policy\b/, `${file}: ${command}`);
        }
    });
});
