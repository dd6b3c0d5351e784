// A real S3-compatible server for a test file (s3rver, in this process): a bucket in a
// temporary directory, on a free loopback port, closed and removed by `stop()`.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

/** The keys s3rver accepts by default (and the only ones it accepts). */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

export interface TestS3 {
    /** `http://127.0.0.1:<port>` */
    endpoint: string;
    bucket: string;
    /** The backend URL the Pulumi CLI takes for this bucket. */
    backendUrl: string;
    /** The keys under `prefix`, sorted. */
    keys(prefix: string): Promise<string[]>;
    read(key: string): Promise<string>;
    remove(key: string): Promise<void>;
    stop(): Promise<void>;
}

export async function startS3(bucket = "state"): Promise<TestS3> {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "s3rver-"));
    const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
    const { port } = await server.run();
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: S3RVER_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: S3RVER_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    return {
        endpoint,
        bucket,
        backendUrl: `s3://${bucket}?endpoint=${endpoint}&s3ForcePathStyle=true&region=us-east-1`,
        async keys(prefix) {
            const out: string[] = [];
            let token: string | undefined;
            do {
                const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
                out.push(...(page.Contents ?? []).map((o) => o.Key!));
                token = page.IsTruncated ? page.NextContinuationToken : undefined;
            } while (token);
            return out.sort();
        },
        async read(key) {
            return (await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString("utf8"));
        },
        async remove(key) {
            await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        },
        async stop() {
            client.destroy();
            await server.close();
            fs.rmSync(directory, { recursive: true, force: true });
        },
    };
}
