// Command pulumi-language-python is the Python language host this project builds for
// its engine tests, written here.
//
// Upstream's host (pulumi/pulumi sdk/python/cmd/pulumi-language-python) is a Go module
// of its own that the Go module proxy we build from does not serve at any version, so
// this one does the same job with the pieces the proxy does serve at the CLI's release:
// the Python toolchain resolution of github.com/pulumi/pulumi/sdk/v3/python/toolchain
// (virtualenv, pip, poetry, uv), the gRPC contract of sdk/v3/proto/go, and the exec shim
// `pulumi-language-python-exec` of the same sdk/v3 module, which must sit beside this
// binary and runs the program with the Python SDK.
//
// It serves what `pulumi preview/up/destroy` of a Python program needs: Handshake,
// GetPluginInfo, GetRequiredPackages (the pulumi-plugin.json files of the installed
// packages, so that the engine checks its plugins before running), Run and Cancel, and
// what `pulumi about` shows (About, GetProgramDependencies); and RunPlugin, through which
// the engine starts a Python policy pack for `--policy-pack`. The rest (code generation,
// `pulumi new` prompts, dependency installation) answers Unimplemented, which the engine
// reports as such.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// execShim is the Python script that connects a program to the engine; the Pulumi
// release archives ship it next to the host (sdk/python/cmd/pulumi-language-python-exec).
const execShim = "pulumi-language-python-exec"

// bailExitCode is the shim's exit status after it has shown the user an actionable
// error: the run failed, and there is nothing more to print
// (PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE in the shim).
const bailExitCode = 32

// listPluginsScript prints, as one JSON list, every pulumi-plugin.json that an
// installed distribution ships (the Python SDKs of providers carry one each).
const listPluginsScript = `
import importlib.metadata, json
found = []
for dist in importlib.metadata.distributions():
    for path in dist.files or ():
        if path.name == "pulumi-plugin.json":
            found.append(json.loads(path.read_text()))
print(json.dumps(found))
`

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if err := serve(flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
}

// serve starts the gRPC server, prints its port for the engine and serves until the
// engine goes away or the process is interrupted.
func serve(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this executable: %w", err)
	}
	shim := filepath.Join(filepath.Dir(self), execShim)
	if _, err := os.Stat(shim); err != nil {
		return fmt.Errorf("missing %s beside %s: %w", execShim, self, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	host := newHost(shim)
	if len(args) > 0 {
		host.engineAddress = args[0]
		// Exit when the engine does.
		if err := rpcutil.Healthcheck(ctx, host.engineAddress, 5*time.Minute, stop); err != nil {
			return fmt.Errorf("cannot watch the engine at %s: %w", host.engineAddress, err)
		}
	}

	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("cannot serve: %w", err)
	}
	fmt.Printf("%d\n", handle.Port)
	return <-handle.Done
}

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	shim          string
	engineAddress string
	// runs is cancelled by the Cancel RPC; every program run derives from it.
	runs   context.Context
	cancel context.CancelFunc
}

func newHost(shim string) *pythonHost {
	runs, cancel := context.WithCancel(context.Background())
	return &pythonHost{shim: shim, runs: runs, cancel: cancel}
}

func (h *pythonHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *pythonHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *pythonHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// pythonToolchain resolves the interpreter the project asks for in Pulumi.yaml
// (`runtime.options.virtualenv` and `toolchain`), as upstream's host does.
func pythonToolchain(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	for key, value := range info.GetOptions().AsMap() {
		text, ok := value.(string)
		if !ok {
			return nil, fmt.Errorf("runtime option %q must be a string", key)
		}
		switch key {
		case "virtualenv":
			opts.Virtualenv = text
		case "toolchain":
			switch text {
			case "pip":
				opts.Toolchain = toolchain.Pip
			case "poetry":
				opts.Toolchain = toolchain.Poetry
			case "uv":
				opts.Toolchain = toolchain.Uv
			default:
				return nil, fmt.Errorf("runtime option toolchain: %q is not pip, poetry or uv", text)
			}
		default:
			return nil, fmt.Errorf("runtime option %q is not supported by this language host", key)
		}
	}
	return toolchain.ResolveToolchain(opts)
}

// pluginJSON is the part of a pulumi-plugin.json the engine needs to find a provider.
type pluginJSON struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

func (h *pythonHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := pythonToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", listPluginsScript)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the pulumi-plugin.json of installed packages: %w", err)
	}
	var plugins []pluginJSON
	if err := json.Unmarshal(out, &plugins); err != nil {
		return nil, fmt.Errorf("reading the installed packages' plugins: %w", err)
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range plugins {
		if p.Resource && p.Name != "" {
			resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
				Kind: "resource", Name: p.Name, Version: p.Version, Server: p.Server,
			})
		}
	}
	return resp, nil
}

func (h *pythonHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := pythonToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: info.PythonExecutable, Version: info.PythonVersion.String()}, nil
}

func (h *pythonHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := pythonToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	packages, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range packages {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}

// shimArguments is the command line of pulumi-language-python-exec for one run
// (the flags its argparse reads, then the program and its arguments).
func (h *pythonHost) shimArguments(req *pulumirpc.RunRequest) []string {
	args := []string{h.shim}
	flags := [][2]string{
		{"monitor", req.GetMonitorAddress()},
		{"engine", h.engineAddress},
		{"project", req.GetProject()},
		{"root_directory", req.GetInfo().GetRootDirectory()},
		{"stack", req.GetStack()},
		{"pwd", req.GetPwd()},
		{"dry_run", strconv.FormatBool(req.GetDryRun())},
		{"parallel", strconv.Itoa(int(req.GetParallel()))},
		{"organization", req.GetOrganization()},
	}
	for _, flag := range flags {
		if flag[1] != "" {
			args = append(args, "--"+flag[0], flag[1])
		}
	}
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

// configEnvironment passes the stack's configuration as the Python SDK reads it
// (pulumi.runtime.config: PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS, both JSON).
func configEnvironment(req *pulumirpc.RunRequest) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	return []string{"PULUMI_CONFIG=" + string(configJSON), "PULUMI_CONFIG_SECRET_KEYS=" + string(secretJSON)}, nil
}

func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, err := pythonToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	env, err := configEnvironment(req)
	if err != nil {
		return nil, fmt.Errorf("serialising the stack configuration: %w", err)
	}

	// The run ends with the request or with the Cancel RPC, whichever comes first.
	runCtx, stopRun := context.WithCancel(h.runs)
	defer stopRun()
	context.AfterFunc(ctx, stopRun)
	cmd, err := tc.Command(runCtx, h.shimArguments(req)...)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// Let the SDK shut down cleanly on cancellation before it is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second

	err = cmd.Run()
	// The engine shows the program's output: make sure all of it is out first.
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == bailExitCode:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run %s: %v", execShim, err)}, nil
	}
}

// RunPlugin runs a plugin written in Python and streams its output back. The engine asks
// for it when a plugin is a directory rather than an executable: for `--policy-pack DIR`,
// a directory with a PulumiPolicy.yaml whose runtime is python
// (sdk/go/common/resource/plugin/plugin.go newPlugin, analyzer_plugin.go NewPolicyAnalyzer).
// The directory runs as a program, `python DIR ARGS...` (its __main__.py; a pack's
// constructs the PolicyPack, which serves the analyzer and prints its port), with the
// interpreter of the directory's runtime options (PulumiPolicy.yaml `virtualenv`, `venv`
// when unset: a plugin never runs in the ambient Python), in the engine's working
// directory and environment. The exit code is the stream's last message.
func (h *pythonHost) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	info := req.GetInfo()
	if info == nil {
		return errors.New("RunPlugin without program info: the engine is older than this host supports")
	}
	options := info.GetOptions().AsMap()
	if _, set := options["virtualenv"]; !set {
		if info.Options == nil {
			info.Options = &structpb.Struct{Fields: map[string]*structpb.Value{}}
		}
		info.Options.Fields["virtualenv"] = structpb.NewStringValue("venv")
	}
	tc, err := pythonToolchain(info)
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(server.Context()); err != nil {
		return fmt.Errorf("plugin %s: %w", info.GetProgramDirectory(), err)
	}
	main := filepath.Join(info.GetProgramDirectory(), "__main__.py")
	if _, err := os.Stat(main); err != nil {
		return fmt.Errorf("plugin %s has no __main__.py to run: %w", info.GetProgramDirectory(), err)
	}
	cmd, err := tc.Command(server.Context(), append([]string{info.GetProgramDirectory()}, req.GetArgs()...)...)
	if err != nil {
		return err
	}
	// The engine's environment, with the virtualenv (if any) activated on top of it.
	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	if venv := lookupEnv(cmd.Env, "VIRTUAL_ENV"); venv != "" {
		env = toolchain.ActivateVirtualEnv(env, venv)
	}
	cmd.Env = env
	cmd.Dir = req.GetPwd()

	streams, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer streams.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fmt.Errorf("could not run plugin %s: %w", info.GetProgramDirectory(), err)
		}
		code = int32(exitErr.ExitCode())
	}
	// Everything the plugin wrote goes out before its exit code.
	if err := streams.Close(); err != nil {
		return err
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// lookupEnv is the value of key in an environment list (the last one wins, as in exec).
func lookupEnv(environ []string, key string) string {
	value := ""
	for _, entry := range environ {
		if k, v, ok := strings.Cut(entry, "="); ok && k == key {
			value = v
		}
	}
	return value
}
