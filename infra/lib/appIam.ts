// IAM documents of the app's task roles and of the migrations runner, as pure functions.
import { PolicyDocument } from "./deliveryIam";
import { executionBaseStatements, xrayWriteStatement } from "./xrayIam";

export interface AppExecutionPolicyArgs {
    logGroupArn: string;
    /** Exactly the secrets the containers reference in `secrets`. */
    secretArns: string[];
}

/**
 * The execution role (not the task role) reads the secrets: ECS resolves `secrets` before the
 * container starts, so the running app holds no Secrets Manager permission at all.
 */
export function appExecutionPolicy(a: AppExecutionPolicyArgs): PolicyDocument {
    if (a.secretArns.length === 0) throw new Error("appExecutionPolicy: `secretArns` is empty; the app and migrate tasks need their secrets.");
    // Both secrets use the AWS-managed key aws/secretsmanager, whose policy already lets Secrets
    // Manager decrypt for any principal of the account it authorises: no kms statement needed.
    return { Version: "2012-10-17", Statement: [...executionBaseStatements(a.logGroupArn),
        { Sid: "ReadAppSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: a.secretArns }] };
}

/** The app's own identity: it only sends traces (through the daemon). */
export function appTaskPolicy(): PolicyDocument {
    return { Version: "2012-10-17", Statement: [xrayWriteStatement()] };
}

export interface MigrationRunnerPolicyArgs {
    region: string;
    account: string;
    clusterArn: string;
    clusterName: string;
    /** Family of the migrate task definition; any revision of it, nothing else. */
    migrateFamily: string;
    /** The execution and task roles of the migrate task definition. */
    passRoleArns: string[];
    /** The runner's own log group. */
    logGroupArn: string;
}

/**
 * Run one family in one cluster, watch its tasks, pass exactly its two roles to ECS, write its own
 * logs. The book's runner had `ecs:*Task*` on `*` and no PassRole (book §11.12).
 */
export function migrationRunnerPolicy(a: MigrationRunnerPolicyArgs): PolicyDocument {
    const inCluster = { ArnEquals: { "ecs:cluster": a.clusterArn } };
    return { Version: "2012-10-17", Statement: [
        { Sid: "RunMigrateTask", Effect: "Allow", Action: ["ecs:RunTask"],
            Resource: `arn:aws:ecs:${a.region}:${a.account}:task-definition/${a.migrateFamily}:*`, Condition: inCluster },
        { Sid: "WatchMigrateTask", Effect: "Allow", Action: ["ecs:DescribeTasks"],
            Resource: `arn:aws:ecs:${a.region}:${a.account}:task/${a.clusterName}/*`, Condition: inCluster },
        { Sid: "PassMigrateRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: a.passRoleArns,
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } },
        { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${a.logGroupArn}:*` },
    ] };
}
