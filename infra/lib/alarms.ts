// The environment's CloudWatch alarms as data, so every metric, dimension and threshold is
// unit-tested without the provider. Thresholds are sized for the book's app on the defaults
// (db.t4g.micro, 20 GiB, a few tasks) and are component args.

/** What the alarms watch (resolved values). */
export interface AlarmTargets {
    /** `app/<name>/<id>`, the ALB's ARN suffix (CloudWatch's LoadBalancer dimension). */
    loadBalancerArnSuffix: string;
    /** `targetgroup/<name>/<id>`. */
    targetGroupArnSuffix: string;
    clusterName: string;
    serviceName: string;
    dbInstanceIdentifier: string;
}

export interface AlarmThresholds {
    /** 5xx answers the load balancer itself gives (no healthy target, timeouts) in 5 minutes. */
    alb5xxCountPer5Minutes: number;
    /** 5xx answers of the app in 5 minutes. */
    target5xxCountPer5Minutes: number;
    /** Average database CPU over 15 minutes. */
    dbCpuPercent: number;
    /** Free database storage below which to warn (RDS does not grow it unless autoscaling is on). */
    dbFreeStorageGiB: number;
    /** Open database connections (db.t4g.micro allows about 85 on MySQL 8). */
    dbConnections: number;
}

export const DEFAULT_THRESHOLDS: AlarmThresholds = {
    alb5xxCountPer5Minutes: 5, target5xxCountPer5Minutes: 10, dbCpuPercent: 80, dbFreeStorageGiB: 2, dbConnections: 60,
};

/** The inputs of one `aws.cloudwatch.MetricAlarm` that depend on the targets. */
export interface AlarmShape {
    comparisonOperator: string;
    threshold: number;
    evaluationPeriods: number;
    datapointsToAlarm?: number;
    treatMissingData: "notBreaching" | "breaching" | "missing";
    metricName?: string;
    namespace?: string;
    statistic?: string;
    period?: number;
    dimensions?: Record<string, string>;
    metricQueries?: Array<{ id: string; expression?: string; label?: string; returnData?: boolean;
        metric?: { metricName: string; namespace: string; period: number; stat: string; dimensions: Record<string, string> } }>;
}

export interface AlarmDefinition {
    /** Child name suffix. */
    key: string;
    /** `<prefix>-<key>`. */
    name: string;
    description: string;
    alarm: (t: AlarmTargets) => AlarmShape;
}

export function validateThresholds(t: AlarmThresholds): void {
    for (const [key, value] of Object.entries(t)) {
        if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
            throw new Error(`alarm threshold \`${key}\` must be a positive number, got ${value}. Fix: pass a positive number or leave it out (default ${DEFAULT_THRESHOLDS[key as keyof AlarmThresholds]})`);
        }
    }
    if (t.dbCpuPercent > 100) throw new Error(`alarm threshold \`dbCpuPercent\` is ${t.dbCpuPercent}. Fix: pass a percentage up to 100`);
}

/** Every alarm of an environment whose names start with `namePrefix`. */
export function alarmDefinitions(namePrefix: string, overrides: Partial<AlarmThresholds>): AlarmDefinition[] {
    const th: AlarmThresholds = { ...DEFAULT_THRESHOLDS, ...overrides };
    validateThresholds(th);
    const alb = (t: AlarmTargets) => ({ LoadBalancer: t.loadBalancerArnSuffix });
    const targets = (t: AlarmTargets) => ({ LoadBalancer: t.loadBalancerArnSuffix, TargetGroup: t.targetGroupArnSuffix });
    const db = (t: AlarmTargets) => ({ DBInstanceIdentifier: t.dbInstanceIdentifier });
    const def = (key: string, description: string, alarm: (t: AlarmTargets) => AlarmShape): AlarmDefinition =>
        ({ key, name: `${namePrefix}-${key}`, description, alarm });
    return [
        def("alb-5xx", `The load balancer answered 5xx more than ${th.alb5xxCountPer5Minutes} times in 5 minutes (no healthy target, or timeouts)`, (t) => ({
            namespace: "AWS/ApplicationELB", metricName: "HTTPCode_ELB_5XX_Count", statistic: "Sum", period: 300, evaluationPeriods: 1,
            comparisonOperator: "GreaterThanThreshold", threshold: th.alb5xxCountPer5Minutes, treatMissingData: "notBreaching", dimensions: alb(t) })),
        def("app-5xx", `The app answered 5xx more than ${th.target5xxCountPer5Minutes} times in 5 minutes`, (t) => ({
            namespace: "AWS/ApplicationELB", metricName: "HTTPCode_Target_5XX_Count", statistic: "Sum", period: 300, evaluationPeriods: 1,
            comparisonOperator: "GreaterThanThreshold", threshold: th.target5xxCountPer5Minutes, treatMissingData: "notBreaching", dimensions: alb(t) })),
        def("unhealthy-targets", "A target of the app's target group failed its health checks for 3 minutes", (t) => ({
            namespace: "AWS/ApplicationELB", metricName: "UnHealthyHostCount", statistic: "Maximum", period: 60, evaluationPeriods: 3,
            comparisonOperator: "GreaterThanThreshold", threshold: 0, treatMissingData: "notBreaching", dimensions: targets(t) })),
        // No data means no healthy target reported at all: that is the outage this alarm is for.
        def("no-healthy-targets", "The app's target group had no healthy target for 3 minutes", (t) => ({
            namespace: "AWS/ApplicationELB", metricName: "HealthyHostCount", statistic: "Minimum", period: 60, evaluationPeriods: 3,
            comparisonOperator: "LessThanThreshold", threshold: 1, treatMissingData: "breaching", dimensions: targets(t) })),
        // Container Insights (on for the cluster) reports both counts, 0 running included; a rollout
        // may briefly run fewer. No data (before the first report) is not an outage.
        def("tasks-below-desired", "The ECS service ran fewer tasks than desired for 10 minutes", (t) => {
            const metric = (metricName: string) => ({ metricName, namespace: "ECS/ContainerInsights", period: 60, stat: "Average",
                dimensions: { ClusterName: t.clusterName, ServiceName: t.serviceName } });
            return { comparisonOperator: "GreaterThanThreshold", threshold: 0, evaluationPeriods: 10, treatMissingData: "missing", metricQueries: [
                { id: "desired", metric: metric("DesiredTaskCount"), returnData: false },
                { id: "running", metric: metric("RunningTaskCount"), returnData: false },
                { id: "missing", expression: "desired - running", label: "tasks missing", returnData: true },
            ] };
        }),
        def("db-cpu", `The database's CPU averaged above ${th.dbCpuPercent} % for 15 minutes`, (t) => ({
            namespace: "AWS/RDS", metricName: "CPUUtilization", statistic: "Average", period: 300, evaluationPeriods: 3,
            comparisonOperator: "GreaterThanThreshold", threshold: th.dbCpuPercent, treatMissingData: "missing", dimensions: db(t) })),
        def("db-storage", `The database has less than ${th.dbFreeStorageGiB} GiB of storage free`, (t) => ({
            namespace: "AWS/RDS", metricName: "FreeStorageSpace", statistic: "Minimum", period: 300, evaluationPeriods: 1,
            comparisonOperator: "LessThanThreshold", threshold: th.dbFreeStorageGiB * 1024 ** 3, treatMissingData: "missing", dimensions: db(t) })),
        def("db-connections", `The database had more than ${th.dbConnections} connections for 10 minutes`, (t) => ({
            namespace: "AWS/RDS", metricName: "DatabaseConnections", statistic: "Maximum", period: 300, evaluationPeriods: 2,
            comparisonOperator: "GreaterThanThreshold", threshold: th.dbConnections, treatMissingData: "missing", dimensions: db(t) })),
    ];
}
