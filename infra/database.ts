// The app's MySQL database (book §6.6, modernised per §10 #9, #11): MySQL 8, gp3 ≥ 20 GiB,
// encrypted, private, reachable only through its security group, with the master password
// generated and rotated by RDS in its own Secrets Manager secret, so no password ever passes
// through config, code or Pulumi state.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NamedComponentArgs } from "./lib/componentArgs";
import { withNameTag } from "./lib/tags";
import { validateNamePrefix } from "./lib/naming";

/** What the app needs of its database (a Database is one). */
export interface DatabaseRef {
    /** Host name (MYSQL_HOST). */
    address: pulumi.Input<string>;
    /** The RDS-managed secret of the master user (`{"username", "password"}`), rotated by RDS. */
    masterUserSecretArn: pulumi.Input<string>;
    /** The master user. */
    username: pulumi.Input<string>;
    databaseName: pulumi.Input<string>;
}

/** `namePrefix` → e.g. `todobackend-dev-db`; at most 40 characters (the final snapshot's name allows 63). */
export interface DatabaseArgs extends NamedComponentArgs {
    /** Private subnets in ≥ 2 AZs. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The database security group (SecurityGroups.databaseSecurityGroupId). */
    readonly securityGroupId: pulumi.Input<string>;
    /** @default "db.t4g.micro" */
    readonly instanceClass?: string;
    /**
     * MySQL 8.4 or 8.0. 8.0 left RDS standard support on 2026-07-31: a new 8.0 instance would be
     * enrolled in (and billed for) Extended Support, which this component turns off, so only an
     * existing 8.0 instance keeps it until its upgrade (docs/infra.md). @default "8.4"
     */
    readonly engineVersion?: string;
    /** gp3 storage; RDS needs ≥ 20 GiB. @default 20 */
    readonly allocatedStorageGiB?: number;
    /** Standby in a second AZ. @default false */
    readonly multiAz?: boolean;
    /** Days of automated backups. @default 7 */
    readonly backupRetentionDays?: number;
    /** Refuse deletion (prod). @default false */
    readonly deletionProtection?: boolean;
    /** Take a final snapshot when the instance is deleted (prod); dev skips it. @default false */
    readonly finalSnapshot?: boolean;
    /** Master user (the app connects as its own user, see AppService). @default "todobackend" (the book's) */
    readonly username?: string;
    /** Schema the app uses, its MYSQL_DATABASE. @default "todobackend" (the book's) */
    readonly databaseName?: string;
}

/** Refuses settings RDS would reject or that break the book's intent, before anything is registered. */
export function validateDatabaseArgs(args: DatabaseArgs): void {
    validateNamePrefix("namePrefix", args.namePrefix, { maxLength: 40, component: "Database" });
    if ((args.allocatedStorageGiB ?? 20) < 20) {
        throw new Error(`Database: \`allocatedStorageGiB\` must be ≥ 20 for gp3 MySQL, got ${args.allocatedStorageGiB}. Fix: pass 20 or more`);
    }
    if (!/^8\.(0|4)(\.\d+)?$/.test(args.engineVersion ?? "8.4")) {
        throw new Error(`Database: \`engineVersion\` must be MySQL 8.0 or 8.4, got ${args.engineVersion}. Fix: pass "8.4" (or "8.0" for an instance not yet upgraded)`);
    }
    if (args.deletionProtection && !args.finalSnapshot) {
        throw new Error("Database: `deletionProtection` without `finalSnapshot` protects the instance but not its data. Fix: set finalSnapshot: true as well");
    }
}

/** The app's RDS MySQL instance, private and encrypted, with its subnet group and an RDS-managed master password. */
export class Database extends pulumi.ComponentResource implements DatabaseRef {
    readonly instance: aws.rds.Instance;
    /** Host name the app connects to (MYSQL_HOST). */
    readonly address: pulumi.Output<string>;
    /** `host:port`. */
    readonly endpoint: pulumi.Output<string>;
    /** ARN of the RDS-managed secret holding `{"username", "password"}`; ECS `secrets` read `<arn>:password::`. */
    readonly masterUserSecretArn: pulumi.Output<string>;
    readonly username: string;
    readonly databaseName: string;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        validateDatabaseArgs(args);
        super("todobackend:infra:Database", name, {}, opts);
        this.username = args.username ?? "todobackend";
        this.databaseName = args.databaseName ?? "todobackend";
        const identifier = `${args.namePrefix}-db`;

        const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, {
            name: `${args.namePrefix}-db-subnet-group`, description: "Application Database Subnet Group",
            subnetIds: args.subnetIds, tags: withNameTag(args.tags, `${args.namePrefix}-db-subnet-group`),
        }, { parent: this });

        this.instance = new aws.rds.Instance(name, {
            identifier, engine: "mysql", engineVersion: args.engineVersion ?? "8.4",
            // Explicit, so nothing is enrolled in paid Extended Support by default; and 8.0 → 8.4
            // is a major upgrade RDS only runs when allowed (in the maintenance window).
            engineLifecycleSupport: "open-source-rds-extended-support-disabled",
            allowMajorVersionUpgrade: true,
            instanceClass: args.instanceClass ?? "db.t4g.micro",
            allocatedStorage: args.allocatedStorageGiB ?? 20, storageType: "gp3", storageEncrypted: true,
            dbName: this.databaseName, username: this.username, manageMasterUserPassword: true,
            dbSubnetGroupName: subnetGroup.name, vpcSecurityGroupIds: [args.securityGroupId], publiclyAccessible: false,
            multiAz: args.multiAz ?? false,
            backupRetentionPeriod: args.backupRetentionDays ?? 7,
            deletionProtection: args.deletionProtection ?? false,
            skipFinalSnapshot: !(args.finalSnapshot ?? false),
            finalSnapshotIdentifier: args.finalSnapshot ? `${identifier}-final` : undefined,
            copyTagsToSnapshot: true,
            autoMinorVersionUpgrade: true,
            tags: withNameTag(args.tags, identifier),
        }, { parent: this });

        this.address = this.instance.address;
        this.endpoint = this.instance.endpoint;
        this.masterUserSecretArn = this.instance.masterUserSecrets.apply((s) => {
            if (!s?.[0]?.secretArn) throw new Error(`Database ${identifier}: RDS reported no managed master user secret`);
            return s[0].secretArn;
        });
        this.registerOutputs({ instance: this.instance, address: this.address, endpoint: this.endpoint, masterUserSecretArn: this.masterUserSecretArn,
            username: this.username, databaseName: this.databaseName });
    }
}
