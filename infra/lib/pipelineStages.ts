// The pipeline's stages as data (book §5.2, Pulumi in place of CloudFormation), so order, providers,
// run orders, artifacts and configuration are unit-tested without the provider.
export interface StageNames {
    connectionArn: string; appRepository: string; deploymentRepository: string; branch: string;
    appBuildProject: string; devProject: string; changeSetProject: string; executeProject: string;
    approvalTopicArn?: string;
}

/** The pipeline's artifacts by role: the two sources, the app build's version.json, the prod preview's plan. */
export const ARTIFACTS = { app: "MyApp", deployment: "DeploymentRepository", version: "ApplicationVersion", plan: "ChangeSetPlan" } as const;

/** What each Pulumi action reads and writes, and so what its role may: nothing else of the bucket. */
export const STAGE_ARTIFACTS = {
    app: { inputs: [ARTIFACTS.app], outputs: [ARTIFACTS.version] },
    dev: { inputs: [ARTIFACTS.deployment, ARTIFACTS.version], outputs: [] },
    changeSet: { inputs: [ARTIFACTS.deployment, ARTIFACTS.version], outputs: [ARTIFACTS.plan] },
    execute: { inputs: [ARTIFACTS.deployment, ARTIFACTS.plan], outputs: [] },
} as const;

/**
 * The objects of one artifact in the pipeline's bucket. CodePipeline stores each as
 * `<pipeline name>/<artifact name>/<random>`, both names cut short (to 20 and 10 characters:
 * `todobackend/Deployment/…` for DeploymentRepository, `todobackend/ChangeSetP/…`); the folder is
 * per pipeline, not per execution, so a role that may write one may write every execution's.
 */
export function artifactObjects(bucketArn: string, pipelineName: string, artifact: string): string {
    return `${bucketArn}/${pipelineName.slice(0, 20)}/${artifact.slice(0, 10)}/*`;
}

/** Namespace of the ChangeSet action's variables (exported by buildspecs/deploy-changeset.yml). */
export const CHANGESET_NAMESPACE = "ChangeSet";

export interface Action {
    name: string; category: string; owner: "AWS"; provider: string; version: "1"; runOrder: number;
    inputArtifacts?: string[]; outputArtifacts?: string[]; configuration: Record<string, string>; namespace?: string;
}
export interface Stage { name: string; actions: Action[] }

export function pipelineStages(n: StageNames): Stage[] {
    const source = (name: string, repo: string): Action => ({ name, category: "Source", owner: "AWS", provider: "CodeStarSourceConnection",
        version: "1", runOrder: 1, outputArtifacts: [name], configuration: { ConnectionArn: n.connectionArn, FullRepositoryId: repo,
            BranchName: n.branch, OutputArtifactFormat: "CODE_ZIP", DetectChanges: "true" } });
    const build = (name: string, project: string, runOrder: number, inputs: string[], outputs?: string[]): Action => ({
        name, category: "Build", owner: "AWS", provider: "CodeBuild", version: "1", runOrder, inputArtifacts: inputs,
        ...(outputs ? { outputArtifacts: outputs } : {}),
        configuration: { ProjectName: project, ...(inputs.length > 1 ? { PrimarySource: inputs[0] } : {}) } });
    // The approver sees what prod would do (summary) and a link to the full diff (the build log),
    // filled in per execution from the ChangeSet action's variables.
    const v = (name: string) => `#{${CHANGESET_NAMESPACE}.${name}}`;
    const approval: Action = { name: "ApproveChangeSet", category: "Approval", owner: "AWS", provider: "Manual", version: "1", runOrder: 2,
        configuration: {
            CustomData: `prod preview of image ${v("APP_VERSION")}: ${v("PREVIEW_SUMMARY")}. ` +
                "Read the full diff at the link (also ChangeSetPlan/preview.txt); approving applies exactly this preview.",
            ExternalEntityLink: v("PREVIEW_URL"),
            ...(n.approvalTopicArn ? { NotificationArn: n.approvalTopicArn } : {}) } };
    // What the preview exported, kept by CodePipeline where the preview's role cannot rewrite it:
    // ExecuteChangeSet checks its ChangeSetPlan artifact against these (buildspecs/approved-tag.sh).
    const executeChangeSet = build("ExecuteChangeSet", n.executeProject, 3, [...STAGE_ARTIFACTS.execute.inputs]);
    executeChangeSet.configuration.EnvironmentVariables = JSON.stringify([
        { name: "APPROVED_APP_VERSION", value: v("APP_VERSION"), type: "PLAINTEXT" },
        { name: "APPROVED_PLAN_SHA256", value: v("PLAN_SHA256"), type: "PLAINTEXT" },
    ]);
    const a = STAGE_ARTIFACTS;
    return [
        { name: "Source", actions: [source(ARTIFACTS.app, n.appRepository), source(ARTIFACTS.deployment, n.deploymentRepository)] },
        { name: "Build", actions: [build("Build", n.appBuildProject, 1, [...a.app.inputs], [...a.app.outputs])] },
        { name: "Dev", actions: [build("Deploy", n.devProject, 1, [...a.dev.inputs])] },
        { name: "Production", actions: [
            { ...build("ChangeSet", n.changeSetProject, 1, [...a.changeSet.inputs], [...a.changeSet.outputs]), namespace: CHANGESET_NAMESPACE },
            approval,
            executeChangeSet,
        ] },
    ];
}
