package main

// The decisions of the language host (which process to start, with which arguments and
// environment) live here as pure functions so they can be unit tested without a CLI or node.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Options are the `runtime.options` of a nodejs Pulumi.yaml / PulumiPolicy.yaml that we honour.
type Options struct {
	// TypeScript makes @pulumi/pulumi/cmd/run load ts-node; Pulumi's default is true.
	TypeScript bool
	// TSConfig is a tsconfig path relative to the program directory ("tsconfig" option).
	TSConfig string
	// NodeArgs are extra arguments for node itself ("nodeargs" option, whitespace separated).
	NodeArgs []string
}

// ParseOptions validates runtime options; a wrong type is an error naming the option, because a
// silently ignored `typescript: "false"` would run a JS program through ts-node.
func ParseOptions(raw map[string]any) (Options, error) {
	opts := Options{TypeScript: true}
	if v, ok := raw["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return opts, fmt.Errorf("runtime option typescript must be a boolean (true or false), got %v", v)
		}
		opts.TypeScript = b
	}
	if v, ok := raw["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, fmt.Errorf("runtime option tsconfig must be a path string, got %v", v)
		}
		opts.TSConfig = s
	}
	if v, ok := raw["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, fmt.Errorf("runtime option nodeargs must be a string such as \"--max-old-space-size=4096\", got %v", v)
		}
		opts.NodeArgs = strings.Fields(s)
	}
	if v, ok := raw["packagemanager"]; ok && v != "npm" && v != "auto" {
		return opts, fmt.Errorf("runtime option packagemanager %v is not supported by this language host; use npm", v)
	}
	return opts, nil
}

// OptionsEnv is the environment through which @pulumi/pulumi's run scripts read the options.
func OptionsEnv(opts Options) []string {
	var env []string
	if opts.TypeScript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.TSConfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.TSConfig)
	}
	return env
}

// ConfigEnv passes stack config and the names of secret keys the way the Node SDK expects them
// (runtime/config reads PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS). Secret values arrive
// already decrypted; the key list is what makes the SDK wrap them as secret outputs again.
func ConfigEnv(config map[string]string, secretKeys []string) ([]string, error) {
	if config == nil {
		config = map[string]string{}
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	keys := append([]string{}, secretKeys...)
	sort.Strings(keys)
	if keys == nil {
		keys = []string{}
	}
	secret, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	return []string{"PULUMI_CONFIG=" + string(cfg), "PULUMI_CONFIG_SECRET_KEYS=" + string(secret)}, nil
}

// RunArgs is the node command line (after node's own args) for a program run; see
// @pulumi/pulumi/cmd/run/index.js for the flags it accepts.
func RunArgs(runPath, engineAddress string, req *pulumirpc.RunRequest) []string {
	args := []string{runPath}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	info := req.GetInfo()
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", info.GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", ProgramDirectory(req))
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		flag("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram() // CLIs before ProgramInfo sent only the program path
	}
	if entry == "" {
		entry = "." // lets cmd/run pick package.json's main/exports, then index
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// ProgramDirectory is where the program runs; older CLIs only sent pwd.
func ProgramDirectory(req *pulumirpc.RunRequest) string {
	if dir := req.GetInfo().GetProgramDirectory(); dir != "" {
		return dir
	}
	return req.GetPwd()
}

// PluginPlan says how to start a plugin written in node (policy pack or resource plugin).
type PluginPlan struct {
	// Module is resolved from the plugin directory so the plugin's own @pulumi/pulumi is used.
	Module string
	// Args follow the resolved module on node's command line.
	Args []string
	// Dir is the working directory of the node process.
	Dir string
}

// PlanPlugin mirrors what the official host does: a policy pack (kind "analyzer") runs through
// cmd/run-policy-pack with the engine address first and the pack directory last, in the pack
// directory; other plugins run through cmd/run-plugin with their directory first.
func PlanPlugin(req *pulumirpc.RunPluginRequest) PluginPlan {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram()
	}
	if req.GetKind() == "analyzer" {
		args := append(append([]string{}, req.GetArgs()...), dir)
		return PluginPlan{Module: "@pulumi/pulumi/cmd/run-policy-pack", Args: args, Dir: dir}
	}
	args := append([]string{dir}, req.GetArgs()...)
	wd := req.GetPwd()
	if wd == "" {
		wd = dir
	}
	return PluginPlan{Module: "@pulumi/pulumi/cmd/run-plugin", Args: args, Dir: wd}
}

// NodeModulesDir finds the node_modules directory node would use for a program in dir: the
// nearest one walking up, as in this repo where test fixtures share the root node_modules.
func NodeModulesDir(dir string) (string, bool) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules")
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

type packageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	DevDeps      map[string]string `json:"devDependencies"`
	Pulumi       struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (packageJSON, error) {
	var pkg packageJSON
	b, err := os.ReadFile(path)
	if err != nil {
		return pkg, err
	}
	return pkg, json.Unmarshal(b, &pkg)
}

// RequiredPackages lists the resource plugins declared by installed packages
// (`"pulumi": {"resource": true}` in their package.json). Only top-level and scoped packages
// are scanned: nested copies are the same plugins, and a deep walk of a large node_modules
// costs seconds on every preview.
func RequiredPackages(nodeModules string) ([]*pulumirpc.PackageDependency, error) {
	var pkgDirs []string
	entries, err := os.ReadDir(nodeModules)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if strings.HasPrefix(name, "@") {
			scoped, err := os.ReadDir(filepath.Join(nodeModules, name))
			if err != nil {
				continue
			}
			for _, s := range scoped {
				pkgDirs = append(pkgDirs, filepath.Join(nodeModules, name, s.Name()))
			}
			continue
		}
		pkgDirs = append(pkgDirs, filepath.Join(nodeModules, name))
	}
	var deps []*pulumirpc.PackageDependency
	for _, dir := range pkgDirs {
		pkg, err := readPackageJSON(filepath.Join(dir, "package.json"))
		if err != nil || !pkg.Pulumi.Resource {
			continue
		}
		dep, err := pluginOf(pkg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err)
		}
		deps = append(deps, dep)
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return deps, nil
}

func pluginOf(pkg packageJSON) (*pulumirpc.PackageDependency, error) {
	name := pkg.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(pkg.Name, "@pulumi/") {
			return nil, errors.New(`a third-party provider package must name its plugin in "pulumi": {"name": ...}`)
		}
		name = strings.TrimPrefix(pkg.Name, "@pulumi/")
	}
	version := pkg.Pulumi.Version
	if version == "" {
		version = pkg.Version
	}
	if version == "" {
		return nil, errors.New(`missing "version"`)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	return &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: version, Server: pkg.Pulumi.Server}, nil
}

// ProgramDependencies reports the direct dependencies of the program's package.json with the
// versions actually installed (falling back to the declared range when not installed).
func ProgramDependencies(programDir string) ([]*pulumirpc.DependencyInfo, error) {
	root := programDir
	for {
		if _, err := os.Stat(filepath.Join(root, "package.json")); err == nil {
			break
		}
		if filepath.Dir(root) == root {
			return nil, fmt.Errorf("no package.json in %s or any parent directory", programDir)
		}
		root = filepath.Dir(root)
	}
	pkg, err := readPackageJSON(filepath.Join(root, "package.json"))
	if err != nil {
		return nil, err
	}
	nodeModules, _ := NodeModulesDir(root)
	var out []*pulumirpc.DependencyInfo
	for _, declared := range []map[string]string{pkg.Dependencies, pkg.DevDeps} {
		for name, rng := range declared {
			version := rng
			if nodeModules != "" {
				if installed, err := readPackageJSON(filepath.Join(nodeModules, name, "package.json")); err == nil {
					version = installed.Version
				}
			}
			out = append(out, &pulumirpc.DependencyInfo{Name: name, Version: version})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
