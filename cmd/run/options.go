package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/native/preprocess"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// options are the parsed command line.
type options struct {
	model  string
	inputs []string

	engine  string
	ortLib  string
	threads int
	timeout time.Duration
	// optimize is the native engine's level of graph rewriting
	// (--optimize); --bisect runs the graph as given whatever it says.
	optimize onnxkit.Optimization

	seed  uint64
	batch int

	size       int
	resize     int
	mean, std  []float64
	show, top  int
	outDir     string
	jsonOutput bool

	compare    bool
	bisect     bool
	summary    bool
	bench      int
	rtol, atol float64

	// maxTensorBytes and memoryLimit are the native engine's budget
	// (ops.Budget); 0 keeps the defaults.
	maxTensorBytes, memoryLimit byteSize
}

// usageError is a mistake on the command line; it exits with status 2.
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const usageHead = `usage: run [flags] MODEL.onnx [INPUT ...]

Runs MODEL.onnx on the given inputs, one per graph input (the inputs that
are not initializers) in graph order. An input is a TensorProto (.pb), a
NumPy array (.npy, C order) or an image (.jpg, .jpeg, .png), which is
resized, centre-cropped and normalised as the model's metadata
"onnxkit.preprocessing" says, unless flags say otherwise. Without inputs,
random ones of the declared shapes and types are used (symbolic dimensions
take --batch).

Modes (at most one): the default prints every output; --compare,
--bisect, --summary and --bench are described below.

Exit status: 0 success, 1 failure (including a --compare beyond the
tolerances), 2 bad usage.

Flags:
`

// parseArgs parses args into options. --help writes the usage to
// helpOut and gives errHelp.
func parseArgs(args []string, helpOut io.Writer) (*options, error) {
	o := &options{}
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&o.engine, "engine", "native", "engine that runs the model: native or ort (ONNX Runtime)")
	fs.StringVar(&o.ortLib, "ort-lib", "", "ONNX Runtime shared library (default $ONNXRUNTIME_SHARED_LIBRARY_PATH, else <repo>/.cache/onnxruntime/libonnxruntime.so.1)")
	optimize := fs.String("optimize", onnxkit.OptimizeAll.String(), "native engine: graph rewriting before the run, as a Session does: all (the default: Dropout and Identity removed, Pads of zeros folded into the Conv or AveragePool after them, BatchNormalization folded into its Conv or Gemm), basic (no BatchNormalization folding) or none (the graph as given; --bisect always); constants are computed once at every level")
	fs.IntVar(&o.threads, "threads", 0, "threads: the native engine's workers, ONNX Runtime's intra-op threads (0: the engine's default)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random inputs")
	fs.IntVar(&o.batch, "batch", 1, "size given to symbolic dimensions of random inputs")
	fs.IntVar(&o.size, "size", 0, "image inputs: side of the square crop the model reads (default: metadata, else the input's shape)")
	fs.IntVar(&o.resize, "resize", 0, "image inputs: side the shorter image side is resized to before the centre crop (default: metadata, else --size)")
	fs.Float64SliceVar(&o.mean, "mean", nil, "image inputs: `m0,m1,m2`, the per-channel mean subtracted after scaling, in the model's channel order (default: metadata, else 0)")
	fs.Float64SliceVar(&o.std, "std", nil, "image inputs: `s0,s1,s2`, the per-channel standard deviation divided by, in the model's channel order (default: metadata, else 1)")
	fs.IntVar(&o.show, "show", 8, "number of leading values printed per output")
	fs.IntVar(&o.top, "top", 5, "top-k labels printed for a classifier whose metadata has onnxkit.classes")
	fs.StringVar(&o.outDir, "out", "", "write output i as DIR/output_<i>.pb (a TensorProto named after the graph output)")
	fs.BoolVar(&o.jsonOutput, "json", false, "print machine-readable JSON instead of text")
	fs.BoolVar(&o.compare, "compare", false, "run both engines on the same inputs and report, per output, max abs, rel and float32 ULP errors; fail beyond --rtol/--atol")
	fs.BoolVar(&o.bisect, "bisect", false, "find the first node, in topological order, whose output differs between the engines beyond --rtol/--atol")
	fs.Float64Var(&o.rtol, "rtol", 1e-4, "relative tolerance of --compare and --bisect: |a-b| <= atol + rtol*|b|, b from ONNX Runtime")
	fs.Float64Var(&o.atol, "atol", 1e-5, "absolute tolerance of --compare and --bisect")
	fs.BoolVar(&o.summary, "summary", false, "print opsets, op histogram, parameters and MACs per node, a memory estimate and the ops the native engine lacks; run nothing")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop a native run that takes longer than this (e.g. 30s), between nodes or loop iterations; 0: no limit")
	fs.IntVar(&o.bench, "bench", 0, "time N runs after a warm-up run: median, p90, p99, min, max and images/s, then the time per operator type and of the 20 longest nodes (ONNX Runtime's from its profiler, in N more runs)")
	fs.Var(&o.maxTensorBytes, "max-tensor-bytes", "native engine: the largest single tensor an operator may allocate, such as 8GiB (default 4GiB)")
	fs.Var(&o.memoryLimit, "memory-limit", "native engine: the most a run may hold, checked against the planned peak from inferred shapes and against what Loop, Scan and sequences accumulate, such as 32GiB (default 16GiB)")
	for _, name := range []string{"mean", "std", "max-tensor-bytes", "memory-limit"} {
		fs.Lookup(name).DefValue = "" // the default is explained in the text
	}
	help := fs.BoolP("help", "h", false, "print this help")
	if err := fs.Parse(args); err != nil {
		return nil, usagef("%v", err)
	}
	if *help {
		fmt.Fprint(helpOut, usageHead+fs.FlagUsages())
		return nil, errHelp
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return nil, usagef("no model given")
	}
	o.model, o.inputs = rest[0], rest[1:]
	level, err := parseOptimization(*optimize)
	if err != nil {
		return nil, err
	}
	o.optimize = level
	if !strings.HasSuffix(strings.ToLower(o.model), ".onnx") {
		return nil, usagef("model %q: want a .onnx file", o.model)
	}
	return o, o.check()
}

// checkNormalization checks the image normalisation flags as
// preprocess.Spec.Validate checks the metadata's: a finite mean and a
// finite standard deviation of at least preprocess.MinStd (below it,
// 1e-45 say, pixels become infinities and the outputs NaN); either may be
// nil. The error starts with the name, "mean" or "std".
func checkNormalization(mean, std []float64) error {
	for _, m := range mean {
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("mean %v: every value must be finite", mean)
		}
	}
	for _, s := range std {
		if !(s >= preprocess.MinStd) || math.IsInf(s, 0) {
			return fmt.Errorf("std %v: every value must be finite and at least %g", std, preprocess.MinStd)
		}
	}
	return nil
}

// parseOptimization reads a --optimize level by its name.
func parseOptimization(name string) (onnxkit.Optimization, error) {
	for _, level := range []onnxkit.Optimization{onnxkit.OptimizeAll, onnxkit.OptimizeBasic, onnxkit.OptimizeNone} {
		if name == level.String() {
			return level, nil
		}
	}
	return 0, usagef("--optimize %q: want all, basic or none", name)
}

// errHelp reports that --help was given.
var errHelp = errors.New("help requested")

// check rejects inconsistent flags.
func (o *options) check() error {
	if o.engine != "native" && o.engine != "ort" {
		return usagef("--engine %q: want native or ort", o.engine)
	}
	modes := 0
	for _, on := range []bool{o.compare, o.bisect, o.summary, o.bench != 0} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return usagef("--compare, --bisect, --summary and --bench are exclusive")
	case o.bench < 0:
		return usagef("--bench %d: want a positive number of runs", o.bench)
	case o.timeout < 0:
		return usagef("--timeout %v: want a positive duration, or 0 for no limit", o.timeout)
	case o.batch < 1:
		return usagef("--batch %d: want at least 1", o.batch)
	case o.threads < 0:
		return usagef("--threads %d: want 0 or more", o.threads)
	case o.show < 0 || o.top < 0:
		return usagef("--show and --top must not be negative")
	case o.size < 0 || o.resize < 0:
		return usagef("--size and --resize must not be negative")
	case !(o.rtol >= 0) || !(o.atol >= 0):
		return usagef("--rtol and --atol must not be negative")
	case o.mean != nil && len(o.mean) != 3, o.std != nil && len(o.std) != 3:
		return usagef("--mean and --std take three values, one per channel")
	}
	if err := checkNormalization(o.mean, o.std); err != nil {
		return usagef("--%v", err)
	}
	if o.outDir != "" && modes > 0 {
		return usagef("--out writes the outputs of a plain run; it does not go with --compare, --bisect, --summary or --bench")
	}
	if o.summary && len(o.inputs) > 0 {
		return usagef("--summary runs nothing and takes no inputs")
	}
	return nil
}
