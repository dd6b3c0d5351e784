// The monthly cost estimate from each stack's resource inventory (scripts/offline/cost.ts), on
// the real programs under Pulumi's mocks: what drives it and what the cost options save.
import * as assert from "node:assert/strict";
import { CostLine, monthlyCost, total, US_EAST_1 } from "../../scripts/offline/cost";
import { EVALUATION_WAIT_MS, evaluateStack, startEarly } from "./harness";

const runs = startEarly(Promise.all([evaluateStack("dev", { background: true }), evaluateStack("prod", { background: true }),
    evaluateStack("dev", { config: { xrayMode: "sidecar" }, background: true })]));

describe("the monthly cost estimate from a stack's resources", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let dev: CostLine[];
    let prod: CostLine[];
    let sidecar: CostLine[];
    before(async () => {
        [dev, prod, sidecar] = (await runs).map((e) => monthlyCost(e.resources));
    });
    const quantity = (lines: CostLine[], item: RegExp) => lines.filter((l) => item.test(l.item)).reduce((n, l) => n + l.quantity, 0);

    it("counts what each stack declares: dev one NAT gateway and one instance, prod one of each per AZ, a Multi-AZ database", () => {
        assert.deepEqual([/^NAT gateway/, /^EC2 /, /^public IPv4/, /^Fargate/].map((r) => quantity(dev, r)), [1, 1, 3, 2]);
        assert.deepEqual([/^NAT gateway/, /^EC2 /, /^public IPv4/, /^Fargate/].map((r) => quantity(prod, r)), [2, 2, 4, 2]);
        assert.ok(prod.some((l) => l.item === "RDS MySQL db.t4g.micro Multi-AZ"));
        assert.ok(dev.some((l) => l.item === "RDS MySQL db.t4g.micro"));
        assert.equal(dev.find((l) => l.item.startsWith("NAT"))!.monthlyUsd, Math.round(US_EAST_1.natGatewayHour * 730 * 100) / 100);
    });

    it("counts the alarms AWS makes for target tracking: two for the service's CPU policy, two for the capacity provider's managed scaling", () => {
        for (const lines of [dev, prod]) {
            const line = lines.find((l) => l.item.startsWith("CloudWatch alarm AWS makes for target tracking"));
            assert.deepEqual([line?.quantity, line?.monthlyUsd], [4, 0.4]);
        }
    });

    it("totals about $117 for dev and $178 for prod, NAT gateways the largest item", () => {
        assert.ok(Math.abs(total(dev) - 117.06) < 0.01, String(total(dev)));
        assert.ok(Math.abs(total(prod) - 177.53) < 0.01, String(total(prod)));
        for (const lines of [dev, prod]) assert.match([...lines].sort((a, b) => b.monthlyUsd - a.monthlyUsd)[0].item, /^NAT gateway/);
    });

    it("saves the Fargate tasks and the hosted zone with the daemon as a sidecar", () => {
        assert.equal(quantity(sidecar, /^Fargate/), 0);
        assert.equal(quantity(sidecar, /hosted zone/), 0);
        assert.ok(Math.abs(total(dev) - total(sidecar) - 18.52) < 0.01, String(total(dev) - total(sidecar)));
    });
});
