// RDS MySQL: private, encrypted, modern engine and storage, RDS-managed password; prod protections.
import * as assert from "node:assert/strict";
import { validateDatabaseArgs } from "../../infra/database";
import { EVALUATION_WAIT_MS, Evaluated, evaluateProgram, startEarly } from "./harness";
import { COMPONENTS_PROGRAM, TAGS } from "./programs/components";

startEarly(evaluateProgram(COMPONENTS_PROGRAM, "all", { background: true }));

const RDS = "aws:rds/instance:Instance";

describe("database", function () {
    this.timeout(EVALUATION_WAIT_MS);
    let e: Evaluated;
    before(async () => {
        e = await evaluateProgram(COMPONENTS_PROGRAM, "all");
    });

    it("declares a private, encrypted MySQL 8.4 (Extended Support off) on db.t4g.micro with 20 GiB gp3 and an RDS-managed password", () => {
        assert.deepEqual(e.one(RDS, "dev").inputs, {
            identifier: "todobackend-dev-db", engine: "mysql", engineVersion: "8.4", engineLifecycleSupport: "open-source-rds-extended-support-disabled", allowMajorVersionUpgrade: true, instanceClass: "db.t4g.micro",
            allocatedStorage: 20, storageType: "gp3", storageEncrypted: true,
            dbName: "todobackend", username: "todobackend", manageMasterUserPassword: true,
            dbSubnetGroupName: "todobackend-dev-db-subnet-group", vpcSecurityGroupIds: ["sg-db"], publiclyAccessible: false,
            multiAz: false, backupRetentionPeriod: 1, deletionProtection: false, skipFinalSnapshot: true,
            copyTagsToSnapshot: true, autoMinorVersionUpgrade: true, tags: { ...TAGS, Name: "todobackend-dev-db" },
        });
    });

    it("never declares a password of its own", () => {
        for (const db of e.byType(RDS)) assert.equal(db.inputs.password, undefined);
    });

    it("protects prod: deletion protection, 7-day backups, Multi-AZ and a final snapshot", () => {
        const prod = e.one(RDS, "prod").inputs;
        assert.deepEqual([prod.deletionProtection, prod.backupRetentionPeriod, prod.multiAz, prod.skipFinalSnapshot, prod.finalSnapshotIdentifier],
            [true, 7, true, false, "todobackend-prod-db-final"]);
        assert.deepEqual([prod.engineVersion, prod.instanceClass, prod.allocatedStorage], ["8.4", "db.t3.small", 50]);
    });

    it("places the database in the private subnets", () => {
        assert.deepEqual(e.one("aws:rds/subnetGroup:SubnetGroup", "dev-subnets").inputs, {
            name: "todobackend-dev-db-subnet-group", description: "Application Database Subnet Group",
            subnetIds: ["subnet-private-0", "subnet-private-1"], tags: { ...TAGS, Name: "todobackend-dev-db-subnet-group" },
        });
    });

    it("exposes the managed secret's ARN and the endpoint the app connects to", () => {
        assert.equal(e.outputs.devSecret, "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-dev-AbCdEf");
        assert.equal(e.outputs.devAddress, "todobackend-dev-db.abcdefghijkl.us-east-1.rds.amazonaws.com");
        assert.equal(e.outputs.prodEndpoint, "todobackend-prod-db.abcdefghijkl.us-east-1.rds.amazonaws.com:3306");
    });

    it("refuses the book's 10 GiB, MySQL 5.7 and deletion protection without a final snapshot", () => {
        const base = { subnetIds: [], securityGroupId: "sg", namePrefix: "x" };
        assert.throws(() => validateDatabaseArgs({ ...base, allocatedStorageGiB: 10 }), /`allocatedStorageGiB` must be ≥ 20/);
        assert.throws(() => validateDatabaseArgs({ ...base, engineVersion: "5.7" }), /`engineVersion` must be MySQL 8\.0 or 8\.4, got 5\.7/);
        assert.throws(() => validateDatabaseArgs({ ...base, deletionProtection: true }), /Fix: set finalSnapshot: true/);
    });
});
