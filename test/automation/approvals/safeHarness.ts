// The service harness with the safety layer built as `npm start` builds it, and the given
// environment policies (file name → YAML) in a directory of the copy's data dir.
import * as fs from "node:fs";
import * as path from "node:path";
import { createSafetyLayer, SafetyLayer } from "../../../automation/safety";
import { Harness, startHarness } from "../harness";

export interface SafeHarness extends Harness {
    safety: SafetyLayer;
    /** Stops the service and closes the safety layer's files. */
    close(): Promise<void>;
}

export async function startSafeHarness(policies: Record<string, string>, env: Record<string, string> = {}): Promise<SafeHarness> {
    const h = await startHarness();
    const envDir = path.join(h.dataDir, "environments");
    fs.mkdirSync(envDir, { recursive: true });
    for (const [file, yaml] of Object.entries(policies)) fs.writeFileSync(path.join(envDir, file), yaml);
    const safety = createSafetyLayer(h.server.config, { env: { ...process.env, AUTOMATION_ENVIRONMENTS_DIR: envDir, ...env } });
    await h.restart(safety);
    return Object.assign(h, {
        safety,
        async close() {
            await h.stop();
            safety.close();
        },
    });
}
