// What watches an environment (issue 23: nothing did): its topic and alarms in the real dev and
// prod programs under Pulumi's mocks, and the alarm definitions as data.
import * as assert from "node:assert/strict";
import { alarmDefinitions, DEFAULT_THRESHOLDS } from "../../infra/lib/alarms";
import { EVALUATION_WAIT_MS, Evaluated, evaluateStack, startEarly } from "./harness";

const ACCOUNT = "123456789012";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const stacks = startEarly(Promise.all([evaluateStack("dev", { background: true }), evaluateStack("prod", { background: true }),
    evaluateStack("dev", { config: { alarmEmail: "oncall@example.com" }, background: true })]));

describe("an environment's alarms and their topic", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let dev: Evaluated;
    let prod: Evaluated;
    let subscribed: Evaluated;
    before(async () => {
        [dev, prod, subscribed] = await stacks;
    });

    it("sends every alarm and its recovery to one topic per environment, exported for subscribers", () => {
        for (const [e, env] of [[dev, "dev"], [prod, "prod"]] as const) {
            const topic = e.one("aws:sns/topic:Topic", "monitoring");
            assert.equal(topic.inputs.name, `todobackend-${env}-alarms`);
            const topicArn = `arn:aws:sns:us-east-1:${ACCOUNT}:todobackend-${env}-alarms`;
            assert.equal(e.outputs.alarmTopicArn, topicArn);
            const alarms = e.byType(ALARM);
            assert.deepEqual(alarms.map((a) => String(a.inputs.name)).sort(), ["alb-5xx", "app-5xx", "unhealthy-targets", "no-healthy-targets", "tasks-below-desired",
                "db-cpu", "db-storage", "db-connections"].map((k) => `todobackend-${env}-${k}`).sort());
            for (const a of alarms) assert.deepEqual([a.inputs.alarmActions, a.inputs.okActions], [[topicArn], [topicArn]], String(a.inputs.name));
        }
        assert.deepEqual(dev.byType("aws:sns/topicSubscription:TopicSubscription"), []);
        assert.deepEqual(subscribed.one("aws:sns/topicSubscription:TopicSubscription", "monitoring-email").inputs,
            { topic: `arn:aws:sns:us-east-1:${ACCOUNT}:todobackend-dev-alarms`, protocol: "email", endpoint: "oncall@example.com" });
    });

    it("watches the stack's own load balancer, target group, service and database", () => {
        const alarm = (key: string) => dev.one(ALARM, `monitoring-${key}`).inputs as Record<string, any>;
        const lb = "app/todobackend-dev-alb/0123456789abcdef";
        assert.deepEqual(alarm("alb-5xx"), { ...alarm("alb-5xx"), namespace: "AWS/ApplicationELB", metricName: "HTTPCode_ELB_5XX_Count", statistic: "Sum",
            period: 300, evaluationPeriods: 1, comparisonOperator: "GreaterThanThreshold", threshold: 5, treatMissingData: "notBreaching", dimensions: { LoadBalancer: lb } });
        const tg = dev.one("aws:lb/targetGroup:TargetGroup", "web-app").inputs.name;
        assert.deepEqual(alarm("no-healthy-targets").dimensions, { LoadBalancer: lb, TargetGroup: `targetgroup/${tg}/0123456789abcdef` });
        assert.deepEqual([alarm("no-healthy-targets").comparisonOperator, alarm("no-healthy-targets").threshold, alarm("no-healthy-targets").treatMissingData],
            ["LessThanThreshold", 1, "breaching"]);
        const tasks = alarm("tasks-below-desired");
        assert.deepEqual(tasks.metricQueries.map((q: { id: string; expression?: string; metric?: { metricName: string; dimensions: object } }) =>
            [q.id, q.expression ?? q.metric!.metricName, q.metric?.dimensions]), [
            ["desired", "DesiredTaskCount", { ClusterName: "todobackend-dev-cluster", ServiceName: "todobackend" }],
            ["running", "RunningTaskCount", { ClusterName: "todobackend-dev-cluster", ServiceName: "todobackend" }],
            ["missing", "desired - running", undefined]]);
        assert.equal(tasks.metricName, undefined);
        assert.deepEqual(alarm("db-storage").dimensions, { DBInstanceIdentifier: "todobackend-dev-db" });
        assert.equal(alarm("db-storage").threshold, 2 * 1024 ** 3);
        assert.deepEqual(dev.one("aws:ecs/cluster:Cluster", "ecs").inputs.settings, [{ name: "containerInsights", value: "enabled" }], "the task counts exist");
    });

    it("keeps prod's app logs 30 days and dev's 7", () => {
        assert.equal(prod.one("aws:cloudwatch/logGroup:LogGroup", "app").inputs.retentionInDays, 30);
        assert.equal(dev.one("aws:cloudwatch/logGroup:LogGroup", "app").inputs.retentionInDays, 7);
    });

    it("fails on a threshold that cannot hold, naming it", () => {
        assert.throws(() => alarmDefinitions("p", { dbCpuPercent: 120 }), /`dbCpuPercent` is 120\. Fix:/);
        assert.throws(() => alarmDefinitions("p", { dbConnections: 0 }), /`dbConnections` must be a positive number, got 0\. Fix: .*default 60/);
        assert.equal(alarmDefinitions("p", {}).length, 8);
        assert.equal(DEFAULT_THRESHOLDS.alb5xxCountPer5Minutes, 5);
    });
});
