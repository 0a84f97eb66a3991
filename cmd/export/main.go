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
	"runtime/debug"
	"syscall"

	"github.com/spf13/pflag"
)

// trainingGCPercent replaces Go's default GOGC of 100 unless GOGC is set.
// Training keeps its live heap (weights, optimizer state, the tape and
// the decoded images, about 1.3 GiB for AlexNet at batch 64) nearly
// constant and allocates little per step once the tape's buffers are
// recycled, and the live heap is almost all float32 buffers, which the
// collector does not scan; so a collection after every tenth of the live
// heap costs little, while the default lets the heap grow to twice the
// live set.
const trainingGCPercent = 10

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(trainingGCPercent)
	}
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
		if errors.As(err, new(usageError)) {
			return exitUsage
		}
		return exitFail
	}
	return exitOK
}

// usageError is an error of the command line found only once the run has
// started, such as a split fraction too small for the data; it exits
// with exitUsage.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }
