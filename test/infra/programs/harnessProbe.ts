// A tiny program for the harness's own tests: a component with a child holding a secret, a
// StackReference and an invoke, so the test can check parents, secrets and mock outputs.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

class Probe extends pulumi.ComponentResource {
    readonly secret: aws.secretsmanager.SecretVersion;
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("todobackend:test:Probe", name, {}, opts);
        this.secret = new aws.secretsmanager.SecretVersion(`${name}-secret`, {
            secretId: "probe", secretString: pulumi.secret(new pulumi.Config().require("password")),
        }, { parent: this });
        this.registerOutputs({});
    }
}

export function probe() {
    const p = new Probe("probe");
    const delivery = new pulumi.StackReference("delivery", { name: "organization/todobackend/delivery" });
    const ami = aws.ssm.getParameterOutput({ name: "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id" });
    return { secretId: p.secret.secretId, appRepositoryUrl: delivery.getOutput("appRepositoryUrl"), ami: ami.value, password: pulumi.secret("x") };
}

export function broken() {
    throw new Error("todobackend:thing is wrong. Fix: set it");
}
