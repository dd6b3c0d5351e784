// Container definitions for the app, migrate and X-Ray task definitions (book §6.4, §7.2) as pure
// functions: ECS takes them as one JSON string, so every field is asserted here without mocks.

export interface KeyValue { name: string; value: string }
export interface SecretRef { name: string; valueFrom: string }

/** The subset of an ECS container definition this program writes. */
export interface ContainerDefinition {
    name: string;
    image: string;
    essential: boolean;
    command: string[];
    cpu?: number;
    memoryReservation?: number;
    portMappings?: { containerPort: number; hostPort?: number; protocol: "tcp" | "udp" }[];
    mountPoints?: { sourceVolume: string; containerPath: string; readOnly: boolean }[];
    environment: KeyValue[];
    secrets?: SecretRef[];
    logConfiguration: { logDriver: "awslogs"; options: Record<string, string> };
}

/** Book sizes: the app shares a t3.micro-class host with its sidecar and the migrate one-off. */
export const APP_CPU = 245;
export const APP_MEMORY_RESERVATION_MIB = 395;
export const SIDECAR_CPU = 5;
export const SIDECAR_MEMORY_RESERVATION_MIB = 5;
export const APP_PORT = 8000;
export const XRAY_PORT = 2000;
/** The volume the collectstatic sidecar fills and uwsgi serves (`--check-static=/public`). */
export const PUBLIC_VOLUME = "public";
export const PUBLIC_PATH = "/public";
export const APP_CONTAINER = "todobackend";

export const APP_COMMAND = ["uwsgi", "--http=0.0.0.0:8000", "--module=todobackend.wsgi", "--master", "--die-on-term",
    "--processes=4", "--threads=2", "--check-static=/public"];
export const COLLECTSTATIC_COMMAND = ["python3", "manage.py", "collectstatic", "--no-input"];
export const MIGRATE_COMMAND = ["python3", "manage.py", "migrate", "--no-input"];
export const DJANGO_SETTINGS_MODULE = "todobackend.settings_release";

export interface AppContainerArgs {
    /** `<repository>:<tag>`. */
    image: string;
    region: string;
    logGroupName: string;
    databaseHost: string;
    databaseUser: string;
    databaseName: string;
    /** `<host>:<port>` of the X-Ray daemon. */
    xrayDaemonAddress: string;
    /** Secret ARN holding the database password, and the JSON key inside it (RDS-managed secrets use `password`). */
    databaseSecretArn: string;
    databasePasswordKey: string;
    /** Secret ARN whose whole string is the Django SECRET_KEY. */
    djangoSecretArn: string;
}

/** `<repository>:<tag>`; refuses a repository that already carries a tag or digest so they never stack. */
export function imageReference(repository: string, tag: string): string {
    if (repository.includes("@") || /:[^/]*$/.test(repository)) {
        throw new Error(`\`appRepository\` must be a repository without a tag or digest, got "${repository}". ` +
            "Fix: give the tag separately in `imageTag`.");
    }
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
        throw new Error(`\`imageTag\` "${tag}" is not a valid Docker tag. Fix: use letters, digits, '_', '.', '-' (max 128).`);
    }
    return `${repository}:${tag}`;
}

export function awslogs(logGroupName: string, region: string): ContainerDefinition["logConfiguration"] {
    return { logDriver: "awslogs", options: { "awslogs-group": logGroupName, "awslogs-region": region, "awslogs-stream-prefix": "docker" } };
}

/**
 * The book's environment, minus `SECRETS`: the entrypoint no longer fetches secrets with the AWS CLI
 * because ECS injects them (book §10 row 28), and with `SECRETS` unset it skips that step.
 */
export function appEnvironment(a: AppContainerArgs): KeyValue[] {
    return [
        { name: "DJANGO_SETTINGS_MODULE", value: DJANGO_SETTINGS_MODULE },
        { name: "MYSQL_HOST", value: a.databaseHost },
        { name: "MYSQL_USER", value: a.databaseUser },
        { name: "MYSQL_DATABASE", value: a.databaseName },
        { name: "AWS_DEFAULT_REGION", value: a.region },
        { name: "AWS_XRAY_DAEMON_ADDRESS", value: a.xrayDaemonAddress },
    ];
}

/** ECS `secrets`: the JSON-key form `<arn>:<key>::` picks one field of the RDS-managed secret. */
export function appSecrets(a: AppContainerArgs): SecretRef[] {
    return [
        { name: "MYSQL_PASSWORD", valueFrom: `${a.databaseSecretArn}:${a.databasePasswordKey}::` },
        { name: "SECRET_KEY", valueFrom: a.djangoSecretArn },
    ];
}

const publicMount = [{ sourceVolume: PUBLIC_VOLUME, containerPath: PUBLIC_PATH, readOnly: false }];

/** `todobackend` (uwsgi on a dynamic host port, bridge mode) and its non-essential `collectstatic` sidecar. */
export function appContainerDefinitions(a: AppContainerArgs): ContainerDefinition[] {
    const logConfiguration = awslogs(a.logGroupName, a.region);
    return [
        { name: APP_CONTAINER, image: a.image, essential: true, command: APP_COMMAND,
            cpu: APP_CPU, memoryReservation: APP_MEMORY_RESERVATION_MIB,
            portMappings: [{ containerPort: APP_PORT, hostPort: 0, protocol: "tcp" }],
            mountPoints: publicMount, environment: appEnvironment(a), secrets: appSecrets(a), logConfiguration },
        // Only static files are collected, so it needs no database and no secrets.
        { name: "collectstatic", image: a.image, essential: false, command: COLLECTSTATIC_COMMAND,
            cpu: SIDECAR_CPU, memoryReservation: SIDECAR_MEMORY_RESERVATION_MIB, mountPoints: publicMount,
            environment: [{ name: "DJANGO_SETTINGS_MODULE", value: DJANGO_SETTINGS_MODULE }], logConfiguration },
    ];
}

/** The one-off `migrate` container: same image, environment and secrets as the app. */
export function migrateContainerDefinitions(a: AppContainerArgs): ContainerDefinition[] {
    return [{ name: "migrate", image: a.image, essential: true, command: MIGRATE_COMMAND,
        cpu: SIDECAR_CPU, memoryReservation: SIDECAR_MEMORY_RESERVATION_MIB,
        environment: appEnvironment(a), secrets: appSecrets(a), logConfiguration: awslogs(a.logGroupName, a.region) }];
}

export interface XrayContainerArgs { image: string; region: string; logGroupName: string }

/** The daemon in local mode (`-o`: Fargate has no EC2 metadata), listening on UDP 2000. */
export function xrayContainerDefinitions(a: XrayContainerArgs): ContainerDefinition[] {
    return [{ name: "xray", image: a.image, essential: true, command: ["-o"],
        portMappings: [{ containerPort: XRAY_PORT, protocol: "udp" }],
        environment: [{ name: "AWS_REGION", value: a.region }], logConfiguration: awslogs(a.logGroupName, a.region) }];
}

/** What the app puts in `AWS_XRAY_DAEMON_ADDRESS`: the Cloud Map name of the daemon (book §7.5). */
export function xrayDaemonAddress(namespaceName: string): string {
    return `xray.${namespaceName.replace(/\.$/, "")}:${XRAY_PORT}`;
}
