// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi CLI.
//
// The official host lives in an untagged Go module that the Go module proxy refuses to serve
// (403), and these machines cannot reach github.com, so we carry our own. It implements the
// parts of pulumirpc.LanguageRuntime the CLI and the Automation API need to run local nodejs
// programs and policy packs; node does the real work through @pulumi/pulumi's cmd/run,
// cmd/run-policy-pack and cmd/run-plugin scripts, exactly as with the official host.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func main() {
	// The CLI passes -tracing and -root; we accept and ignore what we do not use so that a
	// newer CLI adding a flag does not stop the host from starting.
	flag.String("tracing", "", "Zipkin-compatible tracing endpoint (ignored)")
	flag.String("root", "", "project root directory (ignored; ProgramInfo carries it)")
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	logging.InitLogging(false, 0, false)

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cancel := make(chan bool)
	go func() { <-ctx.Done(); close(cancel) }()

	if engineAddress != "" {
		// Exit when the engine goes away instead of lingering as an orphan. Checked every 10 s, not
		// the official host's 5 min: a CLI that died (killed, crashed) otherwise leaves this host
		// behind for minutes, seen as a process outliving the test suite. A check only fails when
		// the engine's socket refuses the connection, so a busy engine is not mistaken for a gone one.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 10*time.Second, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start engine health check: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, newHost(engineAddress))
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The CLI reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}
