// The internet-facing entry: ALB in the public subnets, the app's target group (HTTP 8000,
// instance targets because the app runs in bridge mode with dynamic host ports) and listeners.
// HTTP only, as the book, unless a certificate is configured: then HTTPS on 443 and a redirect on 80.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface LoadBalancerArgs {
    /** VPC of the target group. */
    vpcId: pulumi.Input<string>;
    /** Public subnets in ≥ 2 AZs. */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The ALB security group (SecurityGroups.albSecurityGroupId). */
    securityGroupId: pulumi.Input<string>;
    /** Prefix of physical names, e.g. `todobackend-dev` → `todobackend-dev-alb`. At most 28 characters (ALB names ≤ 32). */
    namePrefix: string;
    /** ACM certificate ARN; turns on HTTPS with an 80→443 redirect. */
    certificateArn?: pulumi.Input<string>;
    /** Port the app container listens on. @default 8000 */
    targetPort?: number;
    /** Seconds an idle connection stays open. @default 30 (the book's) */
    idleTimeout?: number;
    /** Seconds a deregistering target keeps draining. @default 30 (the book's) */
    deregistrationDelay?: number;
    /** Tags of every resource. */
    tags?: Record<string, string>;
}

/** TLS 1.3 with TLS 1.2 fallback: AWS's recommended policy for new HTTPS listeners. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export class LoadBalancer extends pulumi.ComponentResource {
    readonly loadBalancer: aws.lb.LoadBalancer;
    readonly targetGroup: aws.lb.TargetGroup;
    /** The listener that forwards to the app: the service must wait for it. */
    readonly listener: aws.lb.Listener;
    readonly dnsName: pulumi.Output<string>;
    /** `http://<dns name>` or, with a certificate, `https://<dns name>`. */
    readonly publicUrl: pulumi.Output<string>;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.namePrefix.length > 28) {
            throw new Error(`LoadBalancer: \`namePrefix\` "${args.namePrefix}" is longer than 28 characters; ALB and target group names allow 32. Fix: use a shorter stack name`);
        }
        super("todobackend:infra:LoadBalancer", name, {}, opts);
        const https = args.certificateArn !== undefined;
        const albName = `${args.namePrefix}-alb`;

        this.loadBalancer = new aws.lb.LoadBalancer(`${name}-alb`, {
            name: albName, internal: false, loadBalancerType: "application",
            subnets: args.subnetIds, securityGroups: [args.securityGroupId],
            idleTimeout: args.idleTimeout ?? 30,
            // Requests with malformed headers are dropped rather than passed to Django.
            dropInvalidHeaderFields: true,
            tags: { ...args.tags, Name: albName },
        }, { parent: this });

        this.targetGroup = new aws.lb.TargetGroup(`${name}-app`, {
            name: `${args.namePrefix}-app`, vpcId: args.vpcId, protocol: "HTTP", port: args.targetPort ?? 8000,
            targetType: "instance", deregistrationDelay: args.deregistrationDelay ?? 30,
            tags: { ...args.tags, Name: `${args.namePrefix}-app` },
        }, { parent: this });

        const forward = [{ type: "forward", targetGroupArn: this.targetGroup.arn }];
        const http = new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: this.loadBalancer.arn, protocol: "HTTP", port: 80,
            defaultActions: https
                ? [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]
                : forward,
            tags: args.tags,
        }, { parent: this });
        this.listener = https
            ? new aws.lb.Listener(`${name}-https`, {
                loadBalancerArn: this.loadBalancer.arn, protocol: "HTTPS", port: 443, sslPolicy: TLS_POLICY,
                certificateArn: args.certificateArn, defaultActions: forward, tags: args.tags,
            }, { parent: this })
            : http;

        this.dnsName = this.loadBalancer.dnsName;
        this.publicUrl = pulumi.interpolate`${https ? "https" : "http"}://${this.loadBalancer.dnsName}`;
        this.registerOutputs({ dnsName: this.dnsName, publicUrl: this.publicUrl, targetGroupArn: this.targetGroup.arn });
    }
}
