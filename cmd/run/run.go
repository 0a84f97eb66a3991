package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/simd"
	"github.com/onnxkit/onnxkit/onnx"
)

// run is the whole command: it parses args, does what they ask, writes
// results to stdout and problems to stderr, and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stdout)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err == nil {
		err = execute(o, stdout)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "run: %v\n(run --help for usage)\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "run: %v\n", err)
	return exitFailure
}

// errOutOfTolerance reports that --compare or --bisect found the engines
// disagreeing beyond the tolerances; the details have been printed.
var errOutOfTolerance = errors.New("the engines disagree beyond the tolerances")

// execute reads the model and runs the selected mode. ONNX Runtime, when
// the mode needs it, is loaded first, so that a missing library is
// reported before a large model is read.
func execute(o *options, stdout io.Writer) error {
	if err := simd.StartupError(); err != nil {
		return err
	}
	if needsORT(o) {
		if err := loadORT(o); err != nil {
			return err
		}
	}
	m, err := onnx.ReadFile(o.model)
	if err != nil {
		return err
	}
	if m.Graph == nil {
		return fmt.Errorf("%s: the model has no graph", o.model)
	}
	if o.summary {
		return runSummary(o, m, stdout)
	}
	parallel.SetThreads(o.threads)
	inputs, err := prepareInputs(o, m)
	if err != nil {
		return err
	}
	switch {
	case o.compare:
		return runCompare(o, m, inputs, stdout, openNative, openORT(o))
	case o.bisect:
		return runBisect(o, m, inputs, stdout, openNative, openORT(o))
	case o.bench > 0:
		return runBench(o, m, inputs, stdout)
	}
	return runOnce(o, m, inputs, stdout)
}

// graphInputs returns the graph inputs that a run must be given: those
// that are not initializers.
func graphInputs(g *graph.Graph) []*graph.Value {
	var out []*graph.Value
	for _, v := range g.Inputs {
		if g.Initializer(v.Name) == nil {
			out = append(out, v)
		}
	}
	return out
}
