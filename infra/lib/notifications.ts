// Documents of the delivery stack's notifications, as pure functions.

/** EventBridge pattern of one pipeline's runs that FAILED (CodePipeline's execution state change events). */
export function pipelineFailedPattern(pipelineName: string): object {
    return { source: ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"],
        detail: { pipeline: [pipelineName], state: ["FAILED"] } };
}

export interface TopicPolicyArgs {
    topicArn: string;
    ruleArn: string;
    account: string;
    /** Alarms that publish to the topic: `arn:aws:cloudwatch:<region>:<account>:alarm:<prefix>-*` for each prefix. @default - none */
    alarmArnPatterns?: string[];
}

/**
 * EventBridge publishes for the failure rule only (aws:SourceArn, confused deputy); the account
 * keeps SNS's default owner rights. The pipeline's role publishes approval requests with its own
 * identity policy.
 */
export function topicPolicy(a: TopicPolicyArgs): { Version: "2012-10-17"; Statement: object[] } {
    return { Version: "2012-10-17", Statement: [
        { Sid: "AccountOwns", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${a.account}:root` },
            Action: ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish", "sns:DeleteTopic"], Resource: a.topicArn },
        { Sid: "PipelineFailures", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["sns:Publish"], Resource: a.topicArn,
            Condition: { ArnEquals: { "aws:SourceArn": a.ruleArn } } },
        // CloudWatch publishes an alarm as its service, not as the account: only these alarms, of this account.
        ...(a.alarmArnPatterns?.length ? [{ Sid: "Alarms", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["sns:Publish"],
            Resource: a.topicArn, Condition: { ArnLike: { "aws:SourceArn": a.alarmArnPatterns }, StringEquals: { "aws:SourceAccount": a.account } } }] : []),
    ] };
}
