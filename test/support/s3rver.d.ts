// s3rver ships no types; this describes the little of it test/support/s3.ts uses.
declare module "s3rver" {
    interface S3rverOptions {
        address?: string;
        port?: number;
        silent?: boolean;
        directory: string;
        resetOnClose?: boolean;
        configureBuckets?: { name: string }[];
    }
    class S3rver {
        constructor(options: S3rverOptions);
        run(): Promise<{ address: string; port: number }>;
        close(): Promise<void>;
    }
    export = S3rver;
}
