package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
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
	ops.DefaultBudget = o.budget()
	inputs, err := prepareInputs(o, m)
	if err != nil {
		return err
	}
	if len(o.inputs) == 0 && len(inputs) > 0 && !o.jsonOutput {
		fmt.Fprintf(stdout, "inputs: random (--seed %d, symbolic dimensions --batch %d); the outputs say nothing about real data: give input files\n",
			o.seed, o.batch)
	}
	if o.engine == "native" || o.compare || o.bisect {
		if err := checkPlannedPeak(m, batchOf(m, inputs)); err != nil {
			return fmt.Errorf("%s: %w", o.model, err)
		}
	}
	switch {
	case o.compare:
		return runCompare(o, m, inputs, stdout, openNative(o), openORT(o))
	case o.bisect:
		return runBisect(o, m, inputs, stdout, openNative(o), openORT(o))
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

// budget is the native engine's budget from --max-tensor-bytes and
// --memory-limit; zero fields keep the defaults.
func (o *options) budget() ops.Budget {
	b := ops.Budget{MaxTensorBytes: int64(o.maxTensorBytes), MaxRunBytes: int64(o.memoryLimit)}
	if b.MaxTensorBytes == 0 {
		b.MaxTensorBytes = ops.DefaultMaxTensorBytes
	}
	if b.MaxRunBytes == 0 {
		b.MaxRunBytes = ops.DefaultMaxRunBytes
	}
	return b
}

// checkPlannedPeak refuses a run whose planned peak, the memory estimate
// of --summary from inferred shapes (symbolic dimensions taking batch),
// exceeds the memory limit, before anything is allocated. A model whose
// types cannot be inferred is left to the checks while it runs.
func checkPlannedPeak(m *graph.Model, batch int) error {
	types, err := graph.InferTypes(m)
	if err != nil {
		return nil
	}
	order, err := graph.TopoSort(m.Graph)
	if err != nil {
		return nil
	}
	est := estimateMemory(m, order, types, batch)
	what := fmt.Sprintf("the planned peak from inferred shapes (batch %d)", batch)
	if err := ops.DefaultBudget.CheckRun(what, float64(est.TotalBytes)); err != nil {
		return fmt.Errorf("%w (raise it with --memory-limit)", err)
	}
	return nil
}
