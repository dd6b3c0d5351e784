// One AppService with fixed ids standing in for ENV-A's cluster, ALB, database and X-Ray daemon.
// A transformation on the component records the options the mocks do not see (dependsOn, ignoreChanges) of
// the ECS service, the task definitions and the secret version, keyed `<type>::<name>`, with
// dependencies as URNs.
import * as pulumi from "@pulumi/pulumi";
import { AppService } from "../../../infra/appService";

export const TAGS = { ManagedBy: "Pulumi", Project: "todobackend", Stack: "dev", Environment: "dev" };
export const DB_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123-AbCdEf";
const RECORDED = ["aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "aws:secretsmanager/secretVersion:SecretVersion"];

export function appService() {
    const options: Record<string, pulumi.Output<{ dependsOn: string[]; ignoreChanges: string[] }>> = {};
    const record: pulumi.ResourceTransformation = (t) => {
        if (RECORDED.includes(t.type)) {
            const deps = ([] as pulumi.Resource[]).concat((t.opts.dependsOn ?? []) as pulumi.Resource | pulumi.Resource[]);
            options[`${t.type}::${t.name}`] = pulumi.all(deps.map((d) => d.urn)).apply((urns) => ({ dependsOn: urns, ignoreChanges: t.opts.ignoreChanges ?? [] }));
        }
        return undefined;
    };
    const app = new AppService("app", {
        namePrefix: "todobackend-dev",
        cluster: { clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-dev-cluster", clusterName: "todobackend-dev-cluster",
            capacityProviderName: "todobackend-dev-capacity" },
        loadBalancer: { targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/todobackend-dev/0123",
            listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/todobackend-dev/0123/4567" },
        appRepository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-in-aws/todobackend", imageTag: "abc123.build-1",
        database: { address: "todobackend-dev.abcdefghijkl.us-east-1.rds.amazonaws.com", masterUserSecretArn: DB_SECRET,
            username: "todobackend", databaseName: "todobackend" },
        xrayDaemonAddress: "xray.dev.services.dockerinaws.org:2000", desiredCount: 2, tags: TAGS,
    }, { transformations: [record] });
    return { serviceName: app.service.name, options: pulumi.output(options) };
}
