package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestParseOptionsDefaultsToTypeScriptLikePulumi(t *testing.T) {
	opts, err := ParseOptions(map[string]any{})
	if err != nil || !opts.TypeScript {
		t.Fatalf("want typescript on by default, got %+v, %v", opts, err)
	}
}

func TestParseOptionsRefusesANonBooleanTypeScriptOptionAndNamesIt(t *testing.T) {
	_, err := ParseOptions(map[string]any{"typescript": "false"})
	if err == nil || !strings.Contains(err.Error(), "typescript") {
		t.Fatalf("want an error naming the typescript option, got %v", err)
	}
}

func TestParseOptionsRefusesPackageManagersOtherThanNpm(t *testing.T) {
	if _, err := ParseOptions(map[string]any{"packagemanager": "yarn"}); err == nil {
		t.Fatal("want yarn refused")
	}
}

func TestOptionsEnvTurnsOffTypeScriptForJavaScriptProgramsAndPassesTheTsconfigPath(t *testing.T) {
	opts, err := ParseOptions(map[string]any{"typescript": false, "tsconfig": "tsconfig.pulumi.json", "nodeargs": "--max-old-space-size=512 --trace-warnings"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := OptionsEnv(opts), []string{"PULUMI_NODEJS_TSCONFIG_PATH=tsconfig.pulumi.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("env %v, want %v", got, want)
	}
	if want := []string{"--max-old-space-size=512", "--trace-warnings"}; !reflect.DeepEqual(opts.NodeArgs, want) {
		t.Fatalf("node args %v, want %v", opts.NodeArgs, want)
	}
}

func TestConfigEnvPassesConfigAsJSONAndSecretKeysSorted(t *testing.T) {
	env, err := ConfigEnv(map[string]string{"proj:greeting": "hi"}, []string{"proj:z", "proj:greeting"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`PULUMI_CONFIG={"proj:greeting":"hi"}`, `PULUMI_CONFIG_SECRET_KEYS=["proj:greeting","proj:z"]`}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("got %v, want %v", env, want)
	}
}

func TestConfigEnvSendsEmptyJSONRatherThanNullWhenThereIsNoConfig(t *testing.T) {
	env, _ := ConfigEnv(nil, nil)
	if want := []string{"PULUMI_CONFIG={}", "PULUMI_CONFIG_SECRET_KEYS=[]"}; !reflect.DeepEqual(env, want) {
		t.Fatalf("got %v, want %v", env, want)
	}
}

func TestRunArgsRunsTheEntryPointInTheMainSubdirectoryWithDryRunAndParallelism(t *testing.T) {
	opts, _ := structpb.NewStruct(map[string]any{})
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Organization: "organization", Project: "p", Stack: "dev",
		DryRun: true, Parallel: 8, Args: []string{"extra"},
		Info: &pulumirpc.ProgramInfo{RootDirectory: "/proj", ProgramDirectory: "/proj/src", EntryPoint: ".", Options: opts},
	}
	got := RunArgs("/nm/run", "127.0.0.1:2", req)
	want := []string{"/nm/run", "--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--organization", "organization",
		"--project", "p", "--root-directory", "/proj", "--stack", "dev", "--pwd", "/proj/src", "--dry-run",
		"--parallel", "8", ".", "extra"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestRunArgsFallsBackToPwdAndProgramForCLIsWithoutProgramInfo(t *testing.T) {
	got := RunArgs("run", "", &pulumirpc.RunRequest{Pwd: "/old", Program: "index.js"})
	if want := []string{"run", "--pwd", "/old", "index.js"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPlanPluginPutsAPolicyPackDirectoryLastAndRunsInItButAResourcePluginDirectoryFirst(t *testing.T) {
	cases := map[string]PluginPlan{
		"analyzer": {Module: "@pulumi/pulumi/cmd/run-policy-pack", Args: []string{"127.0.0.1:9", "/plugins/x"}, Dir: "/plugins/x"},
		"resource": {Module: "@pulumi/pulumi/cmd/run-plugin", Args: []string{"/plugins/x", "127.0.0.1:9"}, Dir: "/program"},
	}
	for kind, want := range cases {
		plan := PlanPlugin(&pulumirpc.RunPluginRequest{
			Kind: kind, Pwd: "/program", Args: []string{"127.0.0.1:9"},
			Info: &pulumirpc.ProgramInfo{ProgramDirectory: "/plugins/x"},
		})
		if !reflect.DeepEqual(plan, want) {
			t.Errorf("%s: got %+v, want %+v", kind, plan, want)
		}
	}
}

func writePackage(t *testing.T, dir string, pkg map[string]any) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(pkg)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRequiredPackagesListsProviderPackagesFromTheNearestParentNodeModules(t *testing.T) {
	root := t.TempDir()
	nm := filepath.Join(root, "node_modules")
	writePackage(t, filepath.Join(nm, "@pulumi", "aws"), map[string]any{"name": "@pulumi/aws", "version": "7.48.0", "pulumi": map[string]any{"resource": true}})
	writePackage(t, filepath.Join(nm, "@pulumi", "pulumi"), map[string]any{"name": "@pulumi/pulumi", "version": "3.270.0"})
	writePackage(t, filepath.Join(nm, "acme-provider"), map[string]any{"name": "acme-provider", "version": "1.0.0", "pulumi": map[string]any{"resource": true, "name": "acme", "server": "https://example.test"}})
	program := filepath.Join(root, "test", "fixture")
	if err := os.MkdirAll(program, 0o755); err != nil {
		t.Fatal(err)
	}

	found, ok := NodeModulesDir(program)
	if !ok || found != nm {
		t.Fatalf("node_modules %q (%v), want %q", found, ok, nm)
	}
	deps, err := RequiredPackages(found)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, d.Name+"@"+d.Version+" "+d.Server)
	}
	if want := []string{"acme@v1.0.0 https://example.test", "aws@v7.48.0 "}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestRequiredPackagesRefusesAThirdPartyProviderThatDoesNotNameItsPlugin(t *testing.T) {
	nm := filepath.Join(t.TempDir(), "node_modules")
	writePackage(t, filepath.Join(nm, "acme-provider"), map[string]any{"name": "acme-provider", "version": "1.0.0", "pulumi": map[string]any{"resource": true}})
	if _, err := RequiredPackages(nm); err == nil || !strings.Contains(err.Error(), `"name"`) {
		t.Fatalf("want an error asking for pulumi.name, got %v", err)
	}
}

func TestProgramDependenciesReportsInstalledVersionsOfDeclaredDependencies(t *testing.T) {
	root := t.TempDir()
	writePackage(t, root, map[string]any{"name": "app", "dependencies": map[string]any{"@pulumi/pulumi": "^3.0.0", "missing": "^1.0.0"}})
	writePackage(t, filepath.Join(root, "node_modules", "@pulumi", "pulumi"), map[string]any{"name": "@pulumi/pulumi", "version": "3.270.0"})
	deps, err := ProgramDependencies(filepath.Join(root))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, d.Name+"="+d.Version)
	}
	if want := []string{"@pulumi/pulumi=3.270.0", "missing=^1.0.0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
