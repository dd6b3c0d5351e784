package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// exitBail is the exit code cmd/run uses after it has already shown the user an actionable
// error; reporting "non-zero exit code" on top would only add noise.
const exitBail = 32

type host struct {
	// Unimplemented RPCs (code generation, packing, linking, templates) answer Unimplemented,
	// which the CLI reports as "not supported by this language".
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	// cancel stops every running node process when the engine sends Cancel.
	cancelCtx context.Context
	cancel    context.CancelFunc
}

func newHost(engineAddress string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{engineAddress: engineAddress, cancelCtx: ctx, cancel: cancel}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	nm, ok := NodeModulesDir(req.GetInfo().GetProgramDirectory())
	if !ok {
		return &pulumirpc.GetRequiredPackagesResponse{}, nil
	}
	deps, err := RequiredPackages(nm)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram()
	}
	pkgs, err := h.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: dir},
	})
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(pkgs.Packages))
	for _, p := range pkgs.Packages {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func nodeBinary() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("could not find node on PATH: install Node.js 22+ or put it first on PATH: %w", err)
	}
	return node, nil
}

// resolveModule asks node itself where a module is, from dir, so that each program or policy
// pack uses the @pulumi/pulumi copy it would import (local node_modules or a parent's).
func resolveModule(ctx context.Context, node, dir, module, installHint string) (string, error) {
	script := fmt.Sprintf("process.stdout.write(require.resolve(%q))", module)
	cmd := exec.CommandContext(ctx, node, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot find %s from %s; it looks like the Pulumi SDK is not installed: run %s", module, dir, installHint)
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	fail := func(err error) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := nodeBinary()
	if err != nil {
		return fail(err)
	}
	opts, err := ParseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return fail(err)
	}
	dir := ProgramDirectory(req)
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		if runPath, err = resolveModule(ctx, node, dir, "@pulumi/pulumi/cmd/run", "npm install (or pulumi install)"); err != nil {
			return fail(err)
		}
	}
	configEnv, err := ConfigEnv(req.GetConfig(), req.GetConfigSecretKeys())
	if err != nil {
		return fail(fmt.Errorf("failed to serialize configuration: %w", err))
	}
	args := append(append([]string{}, opts.NodeArgs...), RunArgs(runPath, h.engine(), req)...)

	cmdCtx, stop := context.WithCancel(h.cancelCtx)
	defer stop()
	context.AfterFunc(ctx, stop)
	cmd := exec.CommandContext(cmdCtx, node, args...)
	// SIGINT first so the SDK can flush outstanding registrations; WaitDelay kills it if not.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), configEnv...), OptionsEnv(opts)...)
	// Wrapped writers make exec copy through a goroutine: node may switch an inherited fd to
	// non-blocking mode, after which our own writes to it could fail with EAGAIN.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitBail:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return fail(fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode()))
	default:
		return fail(fmt.Errorf("could not run node (%s): %w", node, err))
	}
}

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	node, err := nodeBinary()
	if err != nil {
		return err
	}
	opts, err := ParseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	plan := PlanPlugin(req)
	module, err := resolveModule(ctx, node, plan.Dir, plan.Module, "npm install in "+plan.Dir)
	if err != nil {
		return err
	}
	env := append(append([]string{}, req.GetEnv()...), OptionsEnv(opts)...)

	// A policy pack learns the stack (and its config) from the engine's ConfigureStack call,
	// which only arrives after the plugin has printed its port. The SDK's proxy answers it
	// first, so we can start node with the stack in its environment, then forwards the rest.
	var proxy *sdk.PolicyProxy
	if req.GetKind() == "analyzer" {
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration for the policy pack: %w", err)
		}
		env = append(env, policyEnv(stack)...)
	}

	args := append(append(append([]string{}, opts.NodeArgs...), module), plan.Args...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = plan.Dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not run node (%s): %w", node, err)
	}
	if proxy != nil {
		// Attach waits for the pack's port and serves until it exits.
		if err := proxy.Attach(ctx, cmd); err != nil {
			return fmt.Errorf("could not attach to policy pack: %w", err)
		}
		return closer.Close()
	}
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("plugin exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return err
	}
	return closer.Close()
}

func policyEnv(stack *pulumirpc.AnalyzerStackConfigureRequest) []string {
	if stack == nil {
		return nil
	}
	var env []string
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", stack.GetOrganization())
	add("PULUMI_NODEJS_PROJECT", stack.GetProject())
	add("PULUMI_NODEJS_STACK", stack.GetStack())
	add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(stack.GetDryRun()))
	if cfg := stack.GetConfig(); cfg != nil {
		if b, err := json.Marshal(cfg); err == nil {
			add("PULUMI_CONFIG", string(b))
		}
	}
	return env
}

// InstallDependencies runs `npm install` only when the program cannot already load
// @pulumi/pulumi: here node_modules usually comes from a parent directory (the repo root), and
// an install in a fixture directory would create a second, divergent copy of the SDK.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	node, err := nodeBinary()
	if err != nil {
		return err
	}
	if _, err := resolveModule(server.Context(), node, dir, "@pulumi/pulumi", ""); err == nil {
		fmt.Fprintf(stdout, "dependencies already installed (@pulumi/pulumi resolves from %s)\n", dir)
		return closer.Close()
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("could not find npm on PATH to install dependencies in %s: %w", dir, err)
	}
	cmd := exec.CommandContext(server.Context(), npm, "install")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install in %s failed: %w", dir, err)
	}
	return closer.Close()
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := nodeBinary()
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("could not run %s --version: %w", node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
		Metadata:   map[string]string{"languageHost": "todobackend pulumi-language-nodejs"},
	}, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	deps, err := ProgramDependencies(dir)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// RuntimeOptionsPrompts: `pulumi new` would ask about package managers; we have no prompts.
func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}
