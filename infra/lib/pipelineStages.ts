// The pipeline's stages as data (book §5.2, Pulumi in place of CloudFormation), so order, providers,
// run orders, artifacts and configuration are unit-tested without the provider.
export interface StageNames {
    connectionArn: string; appRepository: string; deploymentRepository: string; branch: string;
    appBuildProject: string; devProject: string; changeSetProject: string; executeProject: string;
    approvalTopicArn?: string; approvalUrl?: string;
}

export interface Action {
    name: string; category: string; owner: "AWS"; provider: string; version: "1"; runOrder: number;
    inputArtifacts?: string[]; outputArtifacts?: string[]; configuration: Record<string, string>;
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
    const approval: Action = { name: "ApproveChangeSet", category: "Approval", owner: "AWS", provider: "Manual", version: "1", runOrder: 2,
        configuration: { CustomData: "Review the prod preview (ChangeSetPlan/preview.txt, also in the ChangeSet build log) before approving.",
            ...(n.approvalTopicArn ? { NotificationArn: n.approvalTopicArn } : {}),
            ...(n.approvalUrl ? { ExternalEntityLink: n.approvalUrl } : {}) } };
    return [
        { name: "Source", actions: [source("MyApp", n.appRepository), source("DeploymentRepository", n.deploymentRepository)] },
        { name: "Build", actions: [build("Build", n.appBuildProject, 1, ["MyApp"], ["ApplicationVersion"])] },
        { name: "Dev", actions: [build("Deploy", n.devProject, 1, ["DeploymentRepository", "ApplicationVersion"])] },
        { name: "Production", actions: [
            build("ChangeSet", n.changeSetProject, 1, ["DeploymentRepository", "ApplicationVersion"], ["ChangeSetPlan"]),
            approval,
            build("ExecuteChangeSet", n.executeProject, 3, ["DeploymentRepository", "ChangeSetPlan"]),
        ] },
    ];
}
