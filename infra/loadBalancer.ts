// The internet-facing entry: ALB in the public subnets, the app's target group (HTTP 8000,
// instance targets because the app runs in bridge mode with dynamic host ports) and listeners.
// HTTP only, as the book, unless a certificate is configured: then HTTPS on 443 and a redirect on 80
// (a production stack requires one, infra/config/environment.ts).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NamedComponentArgs } from "./lib/componentArgs";
import { plainTags, withNameTag } from "./lib/tags";
import { checkWholeNumber } from "./lib/validation";
import { validateNamePrefix } from "./lib/naming";

/** Where an ECS service registers its tasks (a LoadBalancer is one). */
export interface LoadBalancerTarget {
    targetGroupArn: pulumi.Input<string>;
    /** A listener forwarding to the target group: ECS refuses a target group no load balancer uses yet. */
    listenerArn: pulumi.Input<string>;
}

/** `namePrefix` → e.g. `todobackend-dev-alb`; at most 28 characters (ALB names ≤ 32). */
export interface LoadBalancerArgs extends NamedComponentArgs {
    /** VPC of the target group. */
    readonly vpcId: pulumi.Input<string>;
    /** Public subnets in ≥ 2 AZs. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The ALB security group (SecurityGroups.albSecurityGroupId). */
    readonly securityGroupId: pulumi.Input<string>;
    /** ACM certificate ARN; turns on HTTPS with an 80→443 redirect. */
    readonly certificateArn?: pulumi.Input<string>;
    /** Port the app container listens on. @default 8000 */
    readonly targetPort?: number;
    /** `instance` for tasks in bridge mode on EC2 (the app), `ip` for awsvpc tasks (Fargate). @default "instance" */
    readonly targetType?: "instance" | "ip";
    /** Path the target group checks; a 200 answer means healthy. @default - the target group's default ("/") */
    readonly healthCheckPath?: string;
    /** How long an idle connection stays open. @default 30 (the book's) */
    readonly idleTimeoutSeconds?: number;
    /** How long a deregistering target keeps draining. @default 30 (the book's) */
    readonly deregistrationDelaySeconds?: number;
    /** Refuse deletion of the load balancer (prod: its DNS name is what clients and DNS records point at). @default false */
    readonly deletionProtection?: boolean;
}

/** TLS 1.3 with TLS 1.2 fallback: AWS's recommended policy for new HTTPS listeners. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** The internet-facing ALB, the app's target group and the listener(s) forwarding to it. */
export class LoadBalancer extends pulumi.ComponentResource implements LoadBalancerTarget {
    readonly loadBalancer: aws.lb.LoadBalancer;
    readonly targetGroup: aws.lb.TargetGroup;
    /** The listener that forwards to the app: the service must wait for it. */
    readonly listener: aws.lb.Listener;
    readonly dnsName: pulumi.Output<string>;
    /** `http://<dns name>` or, with a certificate, `https://<dns name>`. */
    readonly publicUrl: pulumi.Output<string>;
    readonly targetGroupArn: pulumi.Output<string>;
    readonly listenerArn: pulumi.Output<string>;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        // ALB and target group names allow 32 characters; the longest suffix here is "-alb".
        validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 28, component: "LoadBalancer" });
        checkWholeNumber("idleTimeoutSeconds", args.idleTimeoutSeconds, 1, 4000, "pass 1 to 4000 seconds (the ALB's range).");
        checkWholeNumber("deregistrationDelaySeconds", args.deregistrationDelaySeconds, 0, 3600, "pass 0 to 3600 seconds (the target group's range).");
        if (args.healthCheckPath !== undefined && !/^\/[\w./-]*$/.test(args.healthCheckPath)) {
            throw new Error(`LoadBalancer: \`healthCheckPath\` "${args.healthCheckPath}" is not a path. Fix: pass e.g. "/readyz"`);
        }
        super("todobackend:infra:LoadBalancer", name, {}, opts);
        const https = args.certificateArn !== undefined;
        const albName = `${args.namePrefix}-alb`;

        this.loadBalancer = new aws.lb.LoadBalancer(`${name}-alb`, {
            name: albName, internal: false, loadBalancerType: "application",
            subnets: args.subnetIds, securityGroups: [args.securityGroupId],
            idleTimeout: args.idleTimeoutSeconds ?? 30,
            // Requests with malformed headers are dropped rather than passed to Django.
            dropInvalidHeaderFields: true,
            enableDeletionProtection: args.deletionProtection ?? false,
            tags: withNameTag(args.tags, albName),
        }, { parent: this });

        this.targetGroup = new aws.lb.TargetGroup(`${name}-app`, {
            name: `${args.namePrefix}-app`, vpcId: args.vpcId, protocol: "HTTP", port: args.targetPort ?? 8000,
            targetType: args.targetType ?? "instance", deregistrationDelay: args.deregistrationDelaySeconds ?? 30,
            ...(args.healthCheckPath !== undefined ? { healthCheck: { path: args.healthCheckPath, matcher: "200", interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 } } : {}),
            tags: withNameTag(args.tags, `${args.namePrefix}-app`),
        }, { parent: this });

        const forward = [{ type: "forward", targetGroupArn: this.targetGroup.arn }];
        const http = new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: this.loadBalancer.arn, protocol: "HTTP", port: 80,
            defaultActions: https
                ? [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]
                : forward,
            tags: plainTags(args.tags),
        }, { parent: this });
        this.listener = https
            ? new aws.lb.Listener(`${name}-https`, {
                loadBalancerArn: this.loadBalancer.arn, protocol: "HTTPS", port: 443, sslPolicy: TLS_POLICY,
                certificateArn: args.certificateArn, defaultActions: forward, tags: plainTags(args.tags),
            }, { parent: this })
            : http;

        this.dnsName = this.loadBalancer.dnsName;
        this.publicUrl = pulumi.interpolate`${https ? "https" : "http"}://${this.loadBalancer.dnsName}`;
        this.targetGroupArn = this.targetGroup.arn;
        this.listenerArn = this.listener.arn;
        this.registerOutputs({ loadBalancer: this.loadBalancer, targetGroup: this.targetGroup, listener: this.listener, dnsName: this.dnsName,
            publicUrl: this.publicUrl, targetGroupArn: this.targetGroupArn, listenerArn: this.listenerArn });
    }
}
