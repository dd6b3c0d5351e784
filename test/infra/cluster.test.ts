// ECS on EC2: launch template, Auto Scaling group, capacity provider and the instance role.
import * as assert from "node:assert/strict";
import { validateClusterArgs } from "../../infra/cluster";
import { clusterUserData, ECS_AMI_PARAMETER, instanceAgentPolicy, instanceAssumeRolePolicy, instanceManagedPolicyArns } from "../../infra/lib/cluster";
import { EVALUATION_WAIT_MS, Evaluated, evaluateProgram, startEarly } from "./harness";
import { COMPONENTS_PROGRAM, TAGS } from "./programs/components";

startEarly(evaluateProgram(COMPONENTS_PROGRAM, "all", { background: true }));

const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const ASG = "aws:autoscaling/group:Group";

describe("cluster helpers", () => {
    it("writes ECS_CLUSTER and prepares /data/public for uid 1000 in the user data", () => {
        assert.equal(clusterUserData("todobackend-dev-cluster"), [
            "#!/bin/bash", "set -euo pipefail",
            'echo "ECS_CLUSTER=todobackend-dev-cluster" >> /etc/ecs/ecs.config',
            "mkdir -p /data/public", "chown -R 1000:1000 /data/public", "",
        ].join("\n"));
    });

    it("refuses a cluster name that would break the user data", () => {
        assert.throws(() => clusterUserData("dev; rm -rf /"), /is not a valid ECS cluster name/);
    });

    it("lets only EC2 assume the instance role, with SSM's managed policy and the ECS agent's rights on its own cluster only", () => {
        assert.deepEqual(JSON.parse(instanceAssumeRolePolicy()), { Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });
        assert.deepEqual(instanceManagedPolicyArns("aws-cn"), { ssm: "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore" });
        const doc = instanceAgentPolicy({ clusterArn: "arn:aws:ecs:eu-west-1:111122223333:cluster/todobackend-dev-cluster", namePrefix: "todobackend-dev" });
        assert.deepEqual(doc.Statement.map((s) => [s.Sid, s.Resource]), [
            ["EcsAgentInOwnCluster", "arn:aws:ecs:eu-west-1:111122223333:cluster/todobackend-dev-cluster"],
            ["EcsAgentOnOwnInstances", "arn:aws:ecs:eu-west-1:111122223333:container-instance/todobackend-dev-cluster/*"],
            ["EcsAgentTagsOnRegister", "arn:aws:ecs:eu-west-1:111122223333:container-instance/todobackend-dev-cluster/*"],
            ["EcsAgentDiscovery", "*"], ["PullImages", "*"], ["WriteOwnLogs", "arn:aws:logs:eu-west-1:111122223333:log-group:/todobackend-dev/*"]]);
        assert.throws(() => instanceAgentPolicy({ clusterArn: "todobackend-dev-cluster", namePrefix: "x" }), /`clusterArn` "todobackend-dev-cluster" is not an ECS cluster ARN\. Fix:/);
    });

    it("refuses a minimum above the maximum and a target capacity over 100", () => {
        const base = { subnetIds: [], securityGroupId: "sg", namePrefix: "x" };
        assert.throws(() => validateClusterArgs({ ...base, minSize: 5, maxSize: 4 }), /`minSize` \(5\) and `maxSize` \(4\)/);
        assert.throws(() => validateClusterArgs({ ...base, targetCapacity: 120 }), /`targetCapacity` must be an integer percentage 1–100, got 120/);
    });
});

describe("cluster", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let e: Evaluated;
    before(async () => {
        e = await evaluateProgram(COMPONENTS_PROGRAM, "all");
    });

    it("names the cluster <env>-cluster and attaches the capacity provider as its default", () => {
        // Container Insights: the environment's "tasks below desired" alarm reads its task counts.
        assert.deepEqual(e.one("aws:ecs/cluster:Cluster", "ssm").inputs, { name: "todobackend-dev-cluster", settings: [{ name: "containerInsights", value: "enabled" }],
            tags: { ...TAGS, Name: "todobackend-dev-cluster" } });
        assert.deepEqual(e.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "ssm").inputs, {
            clusterName: "todobackend-dev-cluster", capacityProviders: ["todobackend-dev-ec2"],
            defaultCapacityProviderStrategies: [{ capacityProvider: "todobackend-dev-ec2", weight: 1, base: 0 }],
        });
        assert.equal(e.outputs.clusterName, "todobackend-dev-cluster");
    });

    it("launches the SSM-published AL2023 ECS AMI with IMDSv2 required, no key pair and encrypted gp3", () => {
        const lt = e.one(LT, "ssm-instances").inputs;
        assert.equal(ECS_AMI_PARAMETER, "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id");
        assert.equal(lt.imageId, "ami-0123456789abcdef0");
        assert.equal(lt.instanceType, "t3.micro");
        assert.deepEqual(lt.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
        assert.equal(lt.keyName, undefined);
        assert.deepEqual(lt.vpcSecurityGroupIds, ["sg-instances"]);
        assert.deepEqual(lt.iamInstanceProfile, { arn: "arn:aws:iam::123456789012:instance-profile/todobackend-dev/todobackend-dev-ecs-instance" });
        assert.equal(Buffer.from(String(lt.userData), "base64").toString(), clusterUserData("todobackend-dev-cluster"));
        assert.deepEqual(lt.blockDeviceMappings, [{ deviceName: "/dev/xvda", ebs: { volumeSize: 30, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }]);
        assert.deepEqual(lt.tagSpecifications, ["instance", "volume", "network-interface"].map((resourceType) => ({ resourceType, tags: { ...TAGS, Name: "todobackend-dev-instance" } })));
    });

    it("uses the configured AMI and instance type when given", () => {
        const lt = e.one(LT, "pinned-instances").inputs;
        assert.deepEqual([lt.imageId, lt.instanceType], ["ami-0fedcba9876543210", "t3.small"]);
    });

    it("runs the Auto Scaling group in the private subnets, protected from scale-in, tagging its instances", () => {
        const asg = e.one(ASG, "ssm-instances").inputs;
        assert.deepEqual([asg.name, asg.vpcZoneIdentifiers, asg.minSize, asg.maxSize, asg.protectFromScaleIn, asg.desiredCapacity],
            ["todobackend-dev-instances", ["subnet-private-0", "subnet-private-1"], 1, 4, true, undefined]);
        // the mocks give every launch template version 1 (scripts/offline/mocks.ts)
        assert.deepEqual(asg.launchTemplate, { id: "ssm-instances-id", version: "1" });
        assert.deepEqual(asg.tags, [...Object.entries({ ...TAGS, Name: "todobackend-dev-instance" }).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
            { key: "AmazonECSManaged", value: "true", propagateAtLaunch: true }]);
        assert.deepEqual([e.one(ASG, "pinned-instances").inputs.minSize, e.one(ASG, "pinned-instances").inputs.maxSize], [2, 6]);
    });

    it("re-images the instances when the launch template changes: a rolling refresh that keeps full capacity and includes protected instances", () => {
        const asg = e.one(ASG, "ssm-instances").inputs;
        assert.notEqual((asg.launchTemplate as { version: string }).version, "$Latest", "a refresh never starts on $Latest");
        assert.deepEqual(asg.instanceRefresh, {
            strategy: "Rolling",
            preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, scaleInProtectedInstances: "Refresh", skipMatching: true, autoRollback: true, instanceWarmup: "300" },
        });
    });

    it("scales the group through a capacity provider with managed scaling, termination protection and draining", () => {
        assert.deepEqual(e.one("aws:ecs/capacityProvider:CapacityProvider", "ssm-ec2").inputs, {
            name: "todobackend-dev-ec2",
            autoScalingGroupProvider: {
                autoScalingGroupArn: "arn:aws:autoscaling:us-east-1:123456789012:todobackend-dev-instances",
                managedTerminationProtection: "ENABLED", managedDraining: "ENABLED",
                managedScaling: { status: "ENABLED", targetCapacity: 100, minimumScalingStepSize: 1, maximumScalingStepSize: 2 },
            },
            tags: TAGS,
        });
    });

    it("gives the instances SSM's managed policy and the ECS agent's rights on their own cluster as an inline policy", () => {
        const attachments = e.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.name.startsWith("ssm-"));
        assert.deepEqual(attachments.map((a) => [a.inputs.role, a.inputs.policyArn]), [
            ["todobackend-dev-ecs-instance", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"],
        ]);
        const inline = e.one("aws:iam/rolePolicy:RolePolicy", "ssm-instance").inputs;
        assert.equal(inline.role, "ssm-instance-id");
        assert.deepEqual(JSON.parse(String(inline.policy)), instanceAgentPolicy({ clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/todobackend-dev-cluster",
            namePrefix: "todobackend-dev" }));
        const role = e.one("aws:iam/role:Role", "ssm-instance").inputs;
        assert.deepEqual(JSON.parse(String(role.assumeRolePolicy)), JSON.parse(instanceAssumeRolePolicy()));
        assert.deepEqual(e.one("aws:iam/instanceProfile:InstanceProfile", "ssm-instance").inputs.role, "todobackend-dev-ecs-instance");
    });
});
