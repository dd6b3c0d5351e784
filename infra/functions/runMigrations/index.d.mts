// Types of index.mjs for the TypeScript tests and tsc; the Lambda ships only the .mjs.
export interface CapacityProviderStrategyItem { capacityProvider: string; weight?: number; base?: number }
export interface RunMigrationsInput { cluster: string; taskDefinition: string; capacityProviderStrategy?: CapacityProviderStrategyItem[] }
export interface RunTaskRequest extends RunMigrationsInput { count: 1; startedBy: string }
export interface EcsContainer { name?: string; exitCode?: number | null; reason?: string }
export interface EcsTask { taskArn?: string; lastStatus?: string; stopCode?: string; stoppedReason?: string; containers?: EcsContainer[] }
export interface RunTaskResponse { tasks?: EcsTask[]; failures?: { arn?: string; reason?: string; detail?: string }[] }
export interface EcsLike {
    runTask(request: RunTaskRequest): Promise<RunTaskResponse>;
    describeTasks(request: { cluster: string; tasks: string[] }): Promise<{ tasks?: EcsTask[] }>;
}
export interface RunMigrationsDeps {
    ecs: EcsLike;
    sleep(ms: number): Promise<void>;
    now(): number;
    /** Epoch milliseconds after which the runner gives up. */
    deadline: number;
    pollMs: number;
    startedBy: string;
}
export interface RunMigrationsResult { taskArn: string; status: "SUCCEEDED"; message: string }

export function buildRunTaskRequest(event: unknown, startedBy: string): RunTaskRequest;
export function startedTaskArn(response: RunTaskResponse): string;
export function interpretStoppedTask(task: EcsTask): { ok: boolean; message: string };
export function runMigrations(event: unknown, deps: RunMigrationsDeps): Promise<RunMigrationsResult>;
export interface LambdaContext { getRemainingTimeInMillis(): number; awsRequestId: string }
export type Handler = (event: unknown, context: LambdaContext) => Promise<RunMigrationsResult>;
export function createHandler(deps?: { ecs?: () => Promise<EcsLike>; sleep?(ms: number): Promise<void>; now?(): number; pollMs?: number }): Handler;
export const handler: Handler;
