// The pipeline's stages as data (book §5.2, Pulumi in place of CloudFormation), so order, providers,
// run orders, artifacts and configuration are unit-tested without the provider.
export interface StageNames {
    connectionArn: string; appRepository: string; deploymentRepository: string; branch: string;
    appBuildProject: string; devProject: string; changeSetProject: string; executeProject: string;
    approvalTopicArn?: string;
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
    return [
        { name: "Source", actions: [source("MyApp", n.appRepository), source("DeploymentRepository", n.deploymentRepository)] },
        { name: "Build", actions: [build("Build", n.appBuildProject, 1, ["MyApp"], ["ApplicationVersion"])] },
        { name: "Dev", actions: [build("Deploy", n.devProject, 1, ["DeploymentRepository", "ApplicationVersion"])] },
        { name: "Production", actions: [
            { ...build("ChangeSet", n.changeSetProject, 1, ["DeploymentRepository", "ApplicationVersion"], ["ChangeSetPlan"]), namespace: CHANGESET_NAMESPACE },
            approval,
            build("ExecuteChangeSet", n.executeProject, 3, ["DeploymentRepository", "ChangeSetPlan"]),
        ] },
    ];
}
