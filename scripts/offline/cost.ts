// A monthly cost estimate of a stack from what it declares (the offline evaluation, awsx's VPC
// children included): each priced resource times AWS's on-demand list price. Usage-priced items
// (data through NAT, log ingestion, LCUs beyond one, requests, builds) are left out and said so.
import { withAwsxChildren } from "./awsxVpc";
import type { EvaluatedResource } from "./evaluate";

/** On-demand list prices, us-east-1, Linux, USD (AWS's pricing pages; check the AWS Pricing Calculator before relying on them). */
export const US_EAST_1 = {
    asOf: "2025 list prices, as this project last checked them",
    hoursPerMonth: 730,
    natGatewayHour: 0.045,
    publicIpv4Hour: 0.005,
    albHour: 0.0225,
    lcuHour: 0.008,
    ec2Hour: { "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416 } as Record<string, number>,
    ebsGp3GiBMonth: 0.08,
    rdsHour: { "db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t3.micro": 0.017, "db.t3.small": 0.034 } as Record<string, number>,
    rdsGp3GiBMonth: 0.115,
    fargateVcpuHour: 0.04048,
    fargateGiBHour: 0.004445,
    secretMonth: 0.40,
    hostedZoneMonth: 0.50,
    alarmMetricMonth: 0.10,
    /** Container Insights (standard) publishes about this many metrics for a cluster with one EC2 service. */
    containerInsightsMetrics: 20,
    customMetricMonth: 0.30,
    kmsKeyMonth: 1.00,
};
export type Prices = typeof US_EAST_1;

export interface CostLine { item: string; quantity: number; monthlyUsd: number; basis: string }

const round = (n: number) => Math.round(n * 100) / 100;

/** The stack's priced resources, one line each kind, cheapest assumptions (one LCU, no traffic). */
export function monthlyCost(resources: EvaluatedResource[], p: Prices = US_EAST_1): CostLine[] {
    const all = withAwsxChildren(resources).filter((r) => r.custom !== false && !r.read);
    const of = (type: string) => all.filter((r) => r.type === type);
    const inputs = (r: EvaluatedResource) => r.inputs as Record<string, any>;
    const h = p.hoursPerMonth;
    const lines: CostLine[] = [];
    const add = (item: string, quantity: number, each: number, basis: string) => {
        if (quantity > 0) lines.push({ item, quantity, monthlyUsd: round(quantity * each), basis });
    };

    add("NAT gateway", of("aws:ec2/natGateway:NatGateway").length, p.natGatewayHour * h, `$${p.natGatewayHour}/h, plus $0.045/GB processed`);
    const albs = of("aws:lb/loadBalancer:LoadBalancer");
    add("Application Load Balancer (1 LCU)", albs.length, (p.albHour + p.lcuHour) * h, `$${p.albHour}/h + $${p.lcuHour}/LCU-h`);
    const albIps = albs.reduce((n, lb) => n + (Array.isArray(inputs(lb).subnets) ? inputs(lb).subnets.length : 2), 0);
    add("public IPv4 address (NAT, ALB per AZ)", of("aws:ec2/eip:Eip").length + albIps, p.publicIpv4Hour * h, `$${p.publicIpv4Hour}/h each`);

    for (const asg of of("aws:autoscaling/group:Group")) {
        const template = all.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate");
        const type = String(inputs(template ?? asg).instanceType ?? "t3.micro");
        const hourly = p.ec2Hour[type];
        if (hourly === undefined) throw new Error(`no price for EC2 ${type} in scripts/offline/cost.ts. Fix: add it to the price table`);
        const n = Number(inputs(asg).minSize ?? 1);
        add(`EC2 ${type} (the group's minimum)`, n, hourly * h, `$${hourly}/h`);
        const gib = Number(inputs(template ?? asg).blockDeviceMappings?.[0]?.ebs?.volumeSize ?? 30);
        add(`EBS gp3 root volume, ${gib} GiB`, n, gib * p.ebsGp3GiBMonth, `$${p.ebsGp3GiBMonth}/GiB-month`);
    }
    for (const db of of("aws:rds/instance:Instance")) {
        const cls = String(inputs(db).instanceClass);
        const hourly = p.rdsHour[cls];
        if (hourly === undefined) throw new Error(`no price for RDS ${cls} in scripts/offline/cost.ts. Fix: add it to the price table`);
        const copies = inputs(db).multiAz ? 2 : 1;
        add(`RDS MySQL ${cls}${copies === 2 ? " Multi-AZ" : ""}`, 1, hourly * copies * h, `$${hourly}/h per instance${copies === 2 ? " × 2" : ""}`);
        const gib = Number(inputs(db).allocatedStorage ?? 20);
        add(`RDS gp3 storage, ${gib} GiB${copies === 2 ? " × 2" : ""}`, 1, gib * copies * p.rdsGp3GiBMonth, `$${p.rdsGp3GiBMonth}/GiB-month; backups up to its size free`);
    }
    for (const svc of of("aws:ecs/service:Service").filter((s) => inputs(s).launchType === "FARGATE")) {
        const td = all.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && String(inputs(svc).taskDefinition).includes(`task-definition/${inputs(r).family}:`));
        const vcpu = Number(inputs(td ?? svc).cpu ?? 256) / 1024;
        const gib = Number(inputs(td ?? svc).memory ?? 512) / 1024;
        add(`Fargate task ${inputs(svc).name} (${vcpu} vCPU, ${gib} GiB)`, Number(inputs(svc).desiredCount ?? 1),
            (vcpu * p.fargateVcpuHour + gib * p.fargateGiBHour) * h, `$${p.fargateVcpuHour}/vCPU-h + $${p.fargateGiBHour}/GiB-h`);
    }
    const rdsManaged = of("aws:rds/instance:Instance").filter((d) => inputs(d).manageMasterUserPassword).length;
    add("Secrets Manager secret", of("aws:secretsmanager/secret:Secret").length + rdsManaged, p.secretMonth, `$${p.secretMonth}/secret-month (RDS's managed one included)`);
    add("Route 53 private hosted zone (Cloud Map)", of("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace").length, p.hostedZoneMonth, `$${p.hostedZoneMonth}/zone-month`);
    const alarmMetrics = of("aws:cloudwatch/metricAlarm:MetricAlarm")
        .reduce((n, a) => n + (Array.isArray(inputs(a).metricQueries) ? inputs(a).metricQueries.filter((q: { metric?: unknown }) => q.metric).length : 1), 0);
    add("CloudWatch alarm metric", alarmMetrics, p.alarmMetricMonth, `$${p.alarmMetricMonth}/metric-month`);
    // Target tracking makes two alarms per policy (AlarmHigh, AlarmLow) that the stack never declares:
    // the app's CPU policy, and the policy ECS puts on the Auto Scaling group for managed scaling.
    const trackingPolicies = of("aws:appautoscaling/policy:Policy").filter((x) => inputs(x).policyType === "TargetTrackingScaling").length
        + of("aws:ecs/capacityProvider:CapacityProvider").filter((x) => inputs(x).autoScalingGroupProvider?.managedScaling?.status === "ENABLED").length;
    add("CloudWatch alarm AWS makes for target tracking", trackingPolicies * 2, p.alarmMetricMonth, `$${p.alarmMetricMonth}/metric-month, two per target-tracking policy`);
    const insights = of("aws:ecs/cluster:Cluster").filter((c) => (inputs(c).settings ?? []).some((s: { name: string; value: string }) => s.name === "containerInsights" && s.value === "enabled"));
    add("Container Insights metrics (about)", insights.length * p.containerInsightsMetrics, p.customMetricMonth, `$${p.customMetricMonth}/metric-month`);
    add("KMS key", of("aws:kms/key:Key").length, p.kmsKeyMonth, `$${p.kmsKeyMonth}/key-month`);
    return lines;
}

export function total(lines: CostLine[]): number {
    return round(lines.reduce((n, l) => n + l.monthlyUsd, 0));
}
