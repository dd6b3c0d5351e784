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
    /** Bridge-mode links: the app reaches its X-Ray sidecar by the name `xray`. */
    links?: string[];
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

/**
 * Why the app has its own database user: RDS rotates the master password (its managed secret)
 * every 7 days, and ECS resolves `secrets` only when a task starts, so a running app holding the
 * master password loses the database within a week. The app therefore connects as a user of its
 * own, whose password lives in a secret nothing rotates behind its back; only the migrate task
 * uses the master password, resolved afresh each time it runs.
 *
 * This script runs in the migrate container (the app image) as the master user, before
 * `migrate`: it creates the app user if missing, sets its password to the app secret's current
 * value, and grants it data access only (SELECT, INSERT, UPDATE, DELETE on the app's database:
 * no DDL, no GRANT, no other schema). Then it runs the command given after it (`migrate`).
 *
 * It uses the MySQL driver the app image has: mysql-connector-python (`mysql.connector`, the
 * book's app, whose Django backend is `mysql.connector.django`), else mysqlclient (`MySQLdb`,
 * Django's own MySQL backend). Only what both drivers do alike: `%s` placeholders and no other
 * `%` in a statement (Connector/Python substitutes `%s` only and would send `%%` as it is),
 * `password=`. Tested against a real MariaDB server (test/infra/appDatabaseUser.test.ts).
 */
export const PROVISION_APP_USER_SCRIPT = [
    "import os, re, sys",
    "try:",
    "    import mysql.connector as driver",
    "except ImportError:",
    "    import MySQLdb as driver",
    "user, password, db = os.environ['APP_MYSQL_USER'], os.environ['APP_MYSQL_PASSWORD'], os.environ['MYSQL_DATABASE']",
    "if not re.fullmatch(r'[A-Za-z0-9_]{1,32}', user) or not re.fullmatch(r'[A-Za-z0-9_]{1,64}', db): sys.exit('APP_MYSQL_USER or MYSQL_DATABASE is not a plain MySQL name')",
    "conn = driver.connect(host=os.environ['MYSQL_HOST'], port=int(os.environ.get('MYSQL_PORT', '3306')), user=os.environ['MYSQL_USER'], password=os.environ['MYSQL_PASSWORD'])",
    "cur = conn.cursor()",
    "cur.execute('CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s', (user, '%', password))",
    "cur.execute('ALTER USER %s@%s IDENTIFIED BY %s', (user, '%', password))",
    "cur.execute('GRANT SELECT, INSERT, UPDATE, DELETE ON `' + db + '`.* TO %s@%s', (user, '%'))",
    "conn.commit()",
    "conn.close()",
    "print('app database user ' + user + ' ready (' + driver.__name__ + ')', flush=True)",
    "os.execvp(sys.argv[1], sys.argv[1:])",
].join("\n");

/** The migrate container's command: provision the app user, then Django's `migrate`. */
export const PROVISION_AND_MIGRATE_COMMAND = ["python3", "-c", PROVISION_APP_USER_SCRIPT, ...MIGRATE_COMMAND];
export const DJANGO_SETTINGS_MODULE = "todobackend.settings_release";

export interface AppContainerArgs {
    /** `<repository>:<tag>`. */
    image: string;
    region: string;
    logGroupName: string;
    databaseHost: string;
    /** The master user: only the migrate task connects as it. */
    databaseUser: string;
    databaseName: string;
    /** The app's own user (data access only), created by the migrate task. */
    appDatabaseUser: string;
    /** Secret whose whole string is the app user's password. */
    appDatabaseSecretArn: string;
    /**
     * Version id of that password. In both containers' environment so that a new password
     * (`pulumi up --replace` of its version) makes new task definitions: the migrate task sets it,
     * then the service rolls onto it.
     */
    appDatabaseSecretVersion: string;
    /** `<host>:<port>` of the X-Ray daemon (`xray:2000` for a sidecar). */
    xrayDaemonAddress: string;
    /** The daemon's image when it runs as a sidecar of each app task; unset when it is a service of its own. */
    xraySidecarImage?: string;
    /** Secret ARN holding the master password, and the JSON key inside it (RDS-managed secrets use `password`). */
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
export function appEnvironment(a: AppContainerArgs, user = a.appDatabaseUser, xrayDaemonAddress = a.xrayDaemonAddress): KeyValue[] {
    return [
        { name: "DJANGO_SETTINGS_MODULE", value: DJANGO_SETTINGS_MODULE },
        { name: "MYSQL_HOST", value: a.databaseHost },
        { name: "MYSQL_USER", value: user },
        { name: "MYSQL_DATABASE", value: a.databaseName },
        { name: "AWS_DEFAULT_REGION", value: a.region },
        { name: "AWS_XRAY_DAEMON_ADDRESS", value: xrayDaemonAddress },
        { name: "APP_MYSQL_USER_REVISION", value: a.appDatabaseSecretVersion },
    ];
}

/** ECS `secrets` of the app: its own user's password and the Django key. */
export function appSecrets(a: AppContainerArgs): SecretRef[] {
    return [
        { name: "MYSQL_PASSWORD", valueFrom: a.appDatabaseSecretArn },
        { name: "SECRET_KEY", valueFrom: a.djangoSecretArn },
    ];
}

/**
 * ECS `secrets` of the migrate task: the master password (the JSON-key form `<arn>:<key>::` picks
 * one field of the RDS-managed secret), the app user's password it sets, and the Django key.
 */
export function migrateSecrets(a: AppContainerArgs): SecretRef[] {
    return [
        { name: "MYSQL_PASSWORD", valueFrom: `${a.databaseSecretArn}:${a.databasePasswordKey}::` },
        { name: "APP_MYSQL_PASSWORD", valueFrom: a.appDatabaseSecretArn },
        { name: "SECRET_KEY", valueFrom: a.djangoSecretArn },
    ];
}

const publicMount = [{ sourceVolume: PUBLIC_VOLUME, containerPath: PUBLIC_PATH, readOnly: false }];

/** The X-Ray daemon next to the app in its task: a few MiB, not essential (traces are best effort). */
export const XRAY_SIDECAR_CPU = 32;
export const XRAY_SIDECAR_MEMORY_RESERVATION_MIB = 64;
export const XRAY_SIDECAR_ADDRESS = `xray:${XRAY_PORT}`;

/**
 * `todobackend` (uwsgi on a dynamic host port, bridge mode), its non-essential `collectstatic`
 * sidecar and, with `xraySidecarImage`, the X-Ray daemon, which the app reaches by a bridge link.
 */
export function appContainerDefinitions(a: AppContainerArgs): ContainerDefinition[] {
    const logConfiguration = awslogs(a.logGroupName, a.region);
    const sidecar: ContainerDefinition[] = a.xraySidecarImage === undefined ? [] : [{
        // Local mode (-o): the instance's metadata is out of the task's reach (IMDS hop limit 1);
        // the region comes from AWS_REGION and credentials from the task role.
        name: "xray", image: a.xraySidecarImage, essential: false, command: ["-o"],
        cpu: XRAY_SIDECAR_CPU, memoryReservation: XRAY_SIDECAR_MEMORY_RESERVATION_MIB,
        portMappings: [{ containerPort: XRAY_PORT, protocol: "udp" }],
        environment: [{ name: "AWS_REGION", value: a.region }], logConfiguration }];
    return [
        { name: APP_CONTAINER, image: a.image, essential: true, command: APP_COMMAND,
            cpu: APP_CPU, memoryReservation: APP_MEMORY_RESERVATION_MIB,
            portMappings: [{ containerPort: APP_PORT, hostPort: 0, protocol: "tcp" }],
            mountPoints: publicMount, environment: appEnvironment(a), secrets: appSecrets(a),
            ...(sidecar.length ? { links: ["xray"] } : {}), logConfiguration },
        // Only static files are collected, so it needs no database and no secrets.
        { name: "collectstatic", image: a.image, essential: false, command: COLLECTSTATIC_COMMAND,
            cpu: SIDECAR_CPU, memoryReservation: SIDECAR_MEMORY_RESERVATION_MIB, mountPoints: publicMount,
            environment: [{ name: "DJANGO_SETTINGS_MODULE", value: DJANGO_SETTINGS_MODULE }], logConfiguration },
        ...sidecar,
    ];
}

/** The one-off `migrate` container: the app's image and environment, as the master user; provisions the app user first. */
export function migrateContainerDefinitions(a: AppContainerArgs): ContainerDefinition[] {
    return [{ name: "migrate", image: a.image, essential: true, command: PROVISION_AND_MIGRATE_COMMAND,
        cpu: SIDECAR_CPU, memoryReservation: SIDECAR_MEMORY_RESERVATION_MIB,
        // With a sidecar daemon the migrate task has none: its traces go to a closed local port (UDP, dropped) rather than an unresolvable name.
        environment: [...appEnvironment(a, a.databaseUser, a.xraySidecarImage === undefined ? a.xrayDaemonAddress : `127.0.0.1:${XRAY_PORT}`),
            { name: "APP_MYSQL_USER", value: a.appDatabaseUser }],
        secrets: migrateSecrets(a), logConfiguration: awslogs(a.logGroupName, a.region) }];
}

export interface XrayContainerArgs { image: string; region: string; logGroupName: string }

/**
 * The daemon in local mode (`-o`: Fargate has no EC2 metadata), listening on UDP 2000 for segments
 * and TCP 2000 for the SDK's sampling requests, which it proxies to the X-Ray API.
 */
export function xrayContainerDefinitions(a: XrayContainerArgs): ContainerDefinition[] {
    return [{ name: "xray", image: a.image, essential: true, command: ["-o"],
        portMappings: [{ containerPort: XRAY_PORT, protocol: "udp" }, { containerPort: XRAY_PORT, protocol: "tcp" }],
        environment: [{ name: "AWS_REGION", value: a.region }], logConfiguration: awslogs(a.logGroupName, a.region) }];
}

/** What the app puts in `AWS_XRAY_DAEMON_ADDRESS`: the Cloud Map name of the daemon (book §7.5). */
export function xrayDaemonAddress(namespaceName: string): string {
    return `xray.${namespaceName.replace(/\.$/, "")}:${XRAY_PORT}`;
}
