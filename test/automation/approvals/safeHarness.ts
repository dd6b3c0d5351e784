// The service harness with the given environment policies (file name → YAML); kept for the
// tests that speak of policies first.
import { Harness, startHarness } from "../harness";

export interface SafeHarness extends Harness {
    /** Stops the service. */
    close(): Promise<void>;
}

export async function startSafeHarness(policies: Record<string, string>, env: Record<string, string> = {}): Promise<SafeHarness> {
    const h = await startHarness({ policies, env });
    return Object.assign(h, { close: () => h.stop() });
}
