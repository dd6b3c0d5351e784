// What watches an environment: one SNS topic, and CloudWatch alarms on what users notice first
// (load balancer 5xx, unhealthy targets, fewer tasks than desired) and on what runs out quietly
// (database CPU, storage, connections). The book had none; its only alarms drove scaling.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NamedComponentArgs } from "./lib/componentArgs";
import { alarmDefinitions, AlarmTargets, AlarmThresholds } from "./lib/alarms";
import { withNameTag } from "./lib/tags";
import { validateNamePrefix } from "./lib/naming";

/** `namePrefix` → topic `<prefix>-alarms`, alarms `<prefix>-<what>`; at most 200 characters. */
export interface MonitoringArgs extends NamedComponentArgs {
    /** What the alarms watch: the load balancer and target group (ARN suffixes), the ECS cluster and service, the DB instance. */
    readonly targets: pulumi.Input<AlarmTargets>;
    /** Thresholds. @default - see DEFAULT_THRESHOLDS in infra/lib/alarms.ts */
    readonly thresholds?: Partial<AlarmThresholds>;
    /** An address subscribed to the topic (it must confirm the subscription). @default - no subscription */
    readonly email?: string;
}

/** The environment's notification topic, an optional e-mail subscription, and its alarms. */
export class Monitoring extends pulumi.ComponentResource {
    public readonly topic: aws.sns.Topic;
    public readonly alarmNames: pulumi.Output<string[]>;

    constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 200, component: "Monitoring" });
        if (args.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.email)) {
            throw new Error(`Monitoring: \`email\` "${args.email}" is not an e-mail address. Fix: pass one, or leave it out`);
        }
        const definitions = alarmDefinitions(args.namePrefix, args.thresholds ?? {});
        super("todobackend:infra:Monitoring", name, {}, opts);
        const parent = { parent: this };

        // Unencrypted on purpose: CloudWatch cannot publish to a topic encrypted with the AWS
        // managed key aws/sns, and alarm messages carry no secret.
        this.topic = new aws.sns.Topic(`${name}`, { name: `${args.namePrefix}-alarms`, tags: withNameTag(args.tags, `${args.namePrefix}-alarms`) }, parent);
        if (args.email !== undefined) {
            new aws.sns.TopicSubscription(`${name}-email`, { topic: this.topic.arn, protocol: "email", endpoint: args.email }, parent);
        }
        const targets = pulumi.output(args.targets);
        const alarms = definitions.map((d) => {
            // The shape's keys are fixed per alarm; only the dimensions' values wait for the targets.
            const shape = targets.apply((t) => d.alarm(t));
            const keys = Object.keys(d.alarm({ loadBalancerArnSuffix: "", targetGroupArnSuffix: "", clusterName: "", serviceName: "", dbInstanceIdentifier: "" }));
            const inputs = Object.fromEntries(keys.map((k) => [k, shape.apply((s) => (s as unknown as Record<string, unknown>)[k])]));
            return new aws.cloudwatch.MetricAlarm(`${name}-${d.key}`, {
                ...inputs, name: d.name, alarmDescription: d.description,
                alarmActions: [this.topic.arn], okActions: [this.topic.arn], tags: withNameTag(args.tags, d.name),
            } as aws.cloudwatch.MetricAlarmArgs, parent);
        });
        this.alarmNames = pulumi.all(alarms.map((a) => a.name));
        this.registerOutputs({ topic: this.topic, alarmNames: this.alarmNames });
    }
}
