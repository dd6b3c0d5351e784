// Process entry (`npm start`): configuration from the environment, the assembled service,
// and the signals that stop it gracefully.
import "./nodeVersion";
import { startService } from "./assembly";
import { ConfigError, loadConfig, type ServiceConfig } from "./config";

async function main(): Promise<void> {
    let config: ServiceConfig;
    try {
        config = loadConfig();
    } catch (e) {
        if (e instanceof ConfigError) {
            process.stderr.write(`${e.message}\n`);
            process.exit(2);
        }
        throw e;
    }
    const running = await startService(config);
    // The first signal stops gracefully (in-flight steps finish); a second one abandons them.
    let signals = 0;
    const onSignal = (signal: string) => {
        if (++signals === 1) {
            running.logger.info({ signal }, "signal received");
            void running.stop().then(() => process.exit(0));
        } else void running.abandon();
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    // A library's promise nobody awaited (graphile-worker completes jobs without awaiting) must
    // not take every running job down with the process: it is logged, and the service goes on.
    process.on("unhandledRejection", (reason) => running.logger.error({ err: reason }, "a promise was rejected and nothing handled it; the service goes on"));
}

main().catch((e: unknown) => {
    process.stderr.write(`automation service failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
});
