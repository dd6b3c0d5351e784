// Every component that makes physical names, given a name prefix it must refuse. Each attempt is
// caught so one evaluation reports every message; none may have registered a child.
import { AppService } from "../../../infra/appService";
import { AutomationService } from "../../../infra/automationService";
import { BuildProjects } from "../../../infra/buildProjects";
import { Cluster } from "../../../infra/cluster";
import { Database } from "../../../infra/database";
import { LoadBalancer } from "../../../infra/loadBalancer";
import { Migrations } from "../../../infra/migrations";
import { Monitoring } from "../../../infra/monitoring";
import { PipelineNotifications } from "../../../infra/notifications";
import { DeliveryPipeline } from "../../../infra/pipeline";
import { Registry } from "../../../infra/registry";
import { SecurityGroups } from "../../../infra/securityGroups";
import { StateBackend } from "../../../infra/stateBackend";
import { XrayDaemon } from "../../../infra/xray";

const BAD = "dev env!";
const LONG = `todobackend-${"x".repeat(240)}`;
const cluster = { clusterArn: "arn:c", clusterName: "c", capacityProviderName: "cp" };
const project = { name: "p", arn: "arn:p" };

function attempt(create: (namePrefix: string) => unknown): [string, string] {
    const message = (prefix: string) => {
        try {
            create(prefix);
            return "accepted";
        } catch (e) {
            return (e as Error).message;
        }
    };
    return [message(BAD), message(LONG)];
}

export function refusals() {
    return {
        SecurityGroups: attempt((namePrefix) => new SecurityGroups(`sg-${namePrefix.length}`, { vpcId: "vpc-1", namePrefix })),
        LoadBalancer: attempt((namePrefix) => new LoadBalancer(`lb-${namePrefix.length}`, { vpcId: "vpc-1", subnetIds: [], securityGroupId: "sg", namePrefix })),
        Database: attempt((namePrefix) => new Database(`db-${namePrefix.length}`, { subnetIds: [], securityGroupId: "sg", namePrefix })),
        Cluster: attempt((namePrefix) => new Cluster(`ecs-${namePrefix.length}`, { subnetIds: [], securityGroupId: "sg", namePrefix })),
        XrayDaemon: attempt((namePrefix) => new XrayDaemon(`xray-${namePrefix.length}`, { namePrefix, vpcId: "vpc-1", privateSubnetIds: [], cluster,
            securityGroupId: "sg", namespaceName: "a.org", image: "i" })),
        Migrations: attempt((namePrefix) => new Migrations(`m-${namePrefix.length}`, { namePrefix, cluster, taskDefinitionArn: "arn:td",
            taskDefinitionFamily: "f", executionRoleArn: "arn:e", taskRoleArn: "arn:t" })),
        AppService: attempt((namePrefix) => new AppService(`app-${namePrefix.length}`, { namePrefix, cluster,
            loadBalancer: { targetGroupArn: "arn:tg", listenerArn: "arn:l" }, appRepository: "r",
            database: { address: "h", masterUserSecretArn: "arn:s", username: "u", databaseName: "d" }, xrayDaemonAddress: "x:2000" })),
        BuildProjects: attempt((namePrefix) => new BuildProjects(`b-${namePrefix.length}`, { namePrefix, artifactBucketArn: "arn:a", artifactPipelineName: "p",
            repositories: { app: { arn: "arn:r", repositoryUrl: "r" }, buildImage: { arn: "arn:b" }, deploy: { arn: "arn:d" }, baseImageRegistry: "r/ecr-public/docker/library" }, buildImage: "i", deployImage: "i",
            state: { bucketArn: "arn:s", url: "s3://s", kmsKeyArn: "arn:k", environments: { dev: { kmsKeyArn: "arn:kd", secretsProvider: "awskms://alias/kd" },
                prod: { kmsKeyArn: "arn:kp", secretsProvider: "awskms://alias/kp" } } } })),
        DeliveryPipeline: attempt((namePrefix) => new DeliveryPipeline(`p-${namePrefix.length}`, { namePrefix, artifactBucket: "b", artifactBucketArn: "arn:b",
            appRepository: "a/b", deploymentRepository: "a/c", branch: "main", projects: { app: project, dev: project, changeSet: project, execute: project } })),
        StateBackend: attempt((namePrefix) => new StateBackend(`s-${namePrefix.length}`, { namePrefix })),
        Monitoring: attempt((namePrefix) => new Monitoring(`mon-${namePrefix.length}`, { namePrefix, targets: { loadBalancerArnSuffix: "app/a/1",
            targetGroupArnSuffix: "targetgroup/t/1", clusterName: "c", serviceName: "s", dbInstanceIdentifier: "d" } })),
        PipelineNotifications: attempt((namePrefix) => new PipelineNotifications(`n-${namePrefix.length}`, { namePrefix, watchedPipeline: "todobackend" })),
        Registry: attempt((namePrefix) => new Registry(`r-${namePrefix.length}`, { namePrefix })),
        AutomationService: attempt((namePrefix) => new AutomationService(`svc-${namePrefix.length}`, { namePrefix, vpcId: "vpc-1",
            publicSubnetIds: [], privateSubnetIds: [], certificateArn: "arn:cert", ingressCidrs: ["10.0.0.0/8"], image: "img:1",
            publicUrl: "https://automation.example.com", stackRoles: {}, backendUrl: "s3://b", stateBucketArn: "arn:b", stateKeyArn: "arn:k" })),
    };
}
