// Command export trains AlexNet in the native engine, or loads a
// checkpoint of such a run, and writes it as a standard ONNX model.
//
//	go run ./cmd/export -o alexnet.onnx
//
// trains the notebook's network on the Oxford 17 Flowers images with the
// default recipe and writes the inference graph. See --help for the flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// run parses args, runs the command and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "export: %v\n", err)
		return exitUsage
	}
	if err := export(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "export: %v\n", err)
		return exitFail
	}
	return exitOK
}
