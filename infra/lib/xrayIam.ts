// IAM documents of the X-Ray daemon's task roles (book §7.3), shared with the app where the
// statements are the same. Pure functions so each statement is asserted without mocks.
import { PolicyDocument, Statement } from "./deliveryIam";

/**
 * The book granted only the two Put* actions; daemon 3.x also fetches centralised sampling rules,
 * so this is the action list of the managed policy AWSXRayDaemonWriteAccess.
 */
export const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"];

/** X-Ray has no resource-level permissions, hence `*`. */
export function xrayWriteStatement(): Statement {
    return { Sid: "XrayWrite", Effect: "Allow", Action: XRAY_WRITE_ACTIONS, Resource: "*" };
}

/**
 * Pull any ECR image and write to one log group (the book's `EcsTaskExecutionRole` statements).
 * ECR stays `*` because the image repository comes from config and may live in the delivery stack.
 */
export function executionBaseStatements(logGroupArn: string): Statement[] {
    return [
        { Sid: "EcrPermissions", Effect: "Allow", Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken"], Resource: "*" },
        // Streams are sub-resources of the group: `<group arn>:*` covers them and nothing else.
        { Sid: "CloudwatchLogsPermissions", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `${logGroupArn}:*` },
    ];
}

export function xrayExecutionPolicy(logGroupArn: string): PolicyDocument {
    return { Version: "2012-10-17", Statement: executionBaseStatements(logGroupArn) };
}

export function xrayTaskPolicy(): PolicyDocument {
    return { Version: "2012-10-17", Statement: [xrayWriteStatement()] };
}
