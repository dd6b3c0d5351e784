// `npm run cost:offline -- <stack> [--config key=value]...`
//
// A monthly cost estimate of a stack from its resource inventory (the program under Pulumi's
// mocks, scripts/offline/evaluate.ts) at on-demand list prices (scripts/offline/cost.ts). Fixed
// costs only: traffic, requests, log ingestion and builds come on top.
import { monthlyCost, total, US_EAST_1 } from "./offline/cost";
import { evaluateStackFull, overrideFix } from "./offline/evaluate";
import { parsePlanArgs } from "./plan-offline";

async function main(argv: string[]): Promise<number> {
    let args: ReturnType<typeof parsePlanArgs>;
    try {
        args = parsePlanArgs(argv);
    } catch (e) {
        console.error(`${(e as Error).message}\nusage: npm run cost:offline -- <dev|prod|delivery> [--config key=value]...`);
        return 2;
    }
    try {
        const e = await evaluateStackFull(args.stack, { config: args.config });
        const lines = monthlyCost(e.resources);
        console.log(`Monthly estimate of ${args.stack} (us-east-1 on-demand list prices, ${US_EAST_1.asOf}; fixed costs only):`);
        console.log("| item | quantity | USD/month | basis |\n|---|---:|---:|---|");
        for (const l of lines) console.log(`| ${l.item} | ${l.quantity} | ${l.monthlyUsd.toFixed(2)} | ${l.basis} |`);
        console.log(`| **total** | | **${total(lines).toFixed(2)}** | |`);
        return 0;
    } catch (e) {
        console.error(overrideFix((e as Error).message, args.stack, args.config));
        return 1;
    }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
