// One Migrations component with fixed ids standing in for the cluster and the migrate task definition.
import { Migrations } from "../../../infra/migrations";

export const TAGS = { ManagedBy: "Pulumi", Project: "todobackend", Stack: "prod", Environment: "prod" };

export function migrations() {
    const m = new Migrations("migrations", {
        namePrefix: "todobackend-prod",
        cluster: { clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-prod-cluster", clusterName: "todobackend-prod-cluster",
            capacityProviderName: "todobackend-prod-capacity" },
        taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/todobackend-prod-migrate:3",
        taskDefinitionFamily: "todobackend-prod-migrate",
        executionRoleArn: "arn:aws:iam::123456789012:role/todobackend-prod-app-execution",
        taskRoleArn: "arn:aws:iam::123456789012:role/todobackend-prod-app-task", tags: TAGS,
    });
    return { functionName: m.function.name, result: m.invocation.result };
}
