// The delivery stack's notification topic: the approval action asks for a review there, and a
// failed pipeline run is told there (an EventBridge rule on the pipeline's execution state).
// Without it, nobody learned that a prod preview waited for approval or that Dev failed.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { pipelineFailedPattern, topicPolicy } from "./lib/notifications";
import { validateNamePrefix } from "./lib/naming";
import { NamedComponentArgs } from "./lib/componentArgs";

/** `namePrefix` → topic `<prefix>-notifications`, rule `<prefix>-failed`; at most 200 characters. */
export interface PipelineNotificationsArgs extends NamedComponentArgs {
    /** Name of the pipeline whose failed runs are told (fixed by the program, so no cycle with the pipeline, which names the topic). */
    readonly watchedPipeline: string;
    /** An address subscribed to the topic (it must confirm). @default - no subscription */
    readonly email?: string;
    /** Name prefixes of CloudWatch alarms that may publish to the topic (the automation service's). @default - none */
    readonly alarmNamePrefixes?: readonly string[];
}

/** The SNS topic, the rule sending failed pipeline runs to it, and who may publish there. */
export class PipelineNotifications extends pulumi.ComponentResource {
    public readonly topic: aws.sns.Topic;

    constructor(name: string, args: PipelineNotificationsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 200, component: "PipelineNotifications" });
        validateNamePrefix("watchedPipeline", args.watchedPipeline, { maxLength: 100, component: "PipelineNotifications" });
        super("todobackend:infra:PipelineNotifications", name, {}, opts);
        const parent = { parent: this };
        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent).region;

        this.topic = new aws.sns.Topic(name, { name: `${args.namePrefix}-notifications`, tags: args.tags }, parent);
        if (args.email !== undefined) {
            new aws.sns.TopicSubscription(`${name}-email`, { topic: this.topic.arn, protocol: "email", endpoint: args.email }, parent);
        }
        const rule = new aws.cloudwatch.EventRule(`${name}-failed`, {
            name: `${args.namePrefix}-failed`, description: `Failed runs of the ${args.watchedPipeline} pipeline`,
            eventPattern: JSON.stringify(pipelineFailedPattern(args.watchedPipeline)), tags: args.tags,
        }, parent);
        new aws.sns.TopicPolicy(name, { arn: this.topic.arn, policy: pulumi.all([this.topic.arn, rule.arn, identity.accountId, region])
            .apply(([topic, ruleArn, account, r]) => JSON.stringify(topicPolicy({ topicArn: topic, ruleArn, account,
                alarmArnPatterns: (args.alarmNamePrefixes ?? []).map((p) => `arn:aws:cloudwatch:${r}:${account}:alarm:${p}-*`) }))) }, parent);
        new aws.cloudwatch.EventTarget(`${name}-failed`, {
            rule: rule.name, arn: this.topic.arn,
            inputTransformer: {
                inputPaths: { pipeline: "$.detail.pipeline", execution: "$.detail.execution-id", state: "$.detail.state" },
                inputTemplate: '"The <pipeline> pipeline run <execution> ended <state>."',
            },
        }, parent);
        this.registerOutputs({ topic: this.topic });
    }
}
