package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/simd"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// latency summarises the durations of timed runs.
type latency struct {
	Runs   int           `json:"runs"`
	Batch  int           `json:"batch"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
	P99    time.Duration `json:"p99_ns"`
	Min    time.Duration `json:"min_ns"`
	Max    time.Duration `json:"max_ns"`
	// ImagesPerSecond is Batch / Median.
	ImagesPerSecond float64 `json:"images_per_second"`
}

// summarizeLatency computes the statistics of times (not empty). The
// percentiles are nearest-rank: the p-th is the ceil(p/100*n)-th smallest
// time.
func summarizeLatency(times []time.Duration, batch int) latency {
	s := slices.Clone(times)
	slices.Sort(s)
	n := len(s)
	rank := func(p int) time.Duration { return s[max((p*n+99)/100, 1)-1] }
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	l := latency{Runs: n, Batch: batch, Median: median, P90: rank(90), P99: rank(99), Min: s[0], Max: s[n-1]}
	if median > 0 {
		l.ImagesPerSecond = float64(batch) / median.Seconds()
	}
	return l
}

// benchSampleSize is the number of run times --bench keeps: beyond it, a
// uniform random sample of them (64 Ki durations, 512 KiB), so that
// --bench 1000000000 does not allocate 8 GB up front.
const benchSampleSize = 1 << 16

// latencySample keeps a uniform random sample of at most a fixed number of
// run times (reservoir sampling, Algorithm R), and the exact count,
// minimum and maximum of all of them.
type latencySample struct {
	kept     []time.Duration
	capacity int
	seen     int
	min, max time.Duration
	r        *rand.Rand
}

func newLatencySample(capacity int) *latencySample {
	return &latencySample{capacity: capacity, r: rand.New(rand.NewPCG(1, 2))}
}

// add records one run's time.
func (s *latencySample) add(d time.Duration) {
	if s.seen == 0 || d < s.min {
		s.min = d
	}
	if s.seen == 0 || d > s.max {
		s.max = d
	}
	s.seen++
	if len(s.kept) < s.capacity {
		s.kept = append(s.kept, d)
	} else if j := s.r.IntN(s.seen); j < s.capacity {
		s.kept[j] = d
	}
}

// summarize gives the statistics: exact when every time was kept, the
// percentiles of the sample otherwise, with the exact count, minimum and
// maximum.
func (s *latencySample) summarize(batch int) latency {
	l := summarizeLatency(s.kept, batch)
	l.Runs, l.Min, l.Max = s.seen, s.min, s.max
	return l
}

// runBench times o.bench runs of the selected engine after one warm-up
// run.
func runBench(o *options, m *graph.Model, inputs map[string]*tensor.Tensor, stdout io.Writer) error {
	e, err := openEngine(o, m)
	if err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	defer e.Close()
	if _, err := e.Run(inputs); err != nil {
		return fmt.Errorf("%s: warm-up run: %w", o.model, err)
	}
	// The native engine's timed runs are profiled too: reading the clock
	// twice per node costs some tens of nanoseconds a node.
	var prof *native.Profile
	if ne, ok := e.(nativeEngine); ok {
		prof = ne.s.Program().NewProfile()
		ne.profile = prof
		e = ne
	}
	s := newLatencySample(benchSampleSize)
	for i := range o.bench {
		start := time.Now()
		if _, err := e.Run(inputs); err != nil {
			return fmt.Errorf("%s: run %d: %w", o.model, i+1, err)
		}
		s.add(time.Since(start))
	}
	l := s.summarize(batchOf(m, inputs))
	threads := "ONNX Runtime's default threads"
	report := map[string]any{"model": o.model, "engine": o.engine, "cpu_level": simd.Current().String(), "latency": l}
	switch {
	case o.engine == "native":
		n := o.threads // the session's own count
		if n == 0 {
			n = parallel.Threads()
		}
		report["threads"] = n
		threads = fmt.Sprintf("%d thread(s)", n)
	case o.threads > 0:
		report["threads"] = o.threads
		threads = fmt.Sprintf("%d thread(s)", o.threads)
	default:
		report["ort_default_threads"] = true
	}
	var ops opProfile
	switch {
	case prof != nil:
		ops = tabulate(prof.ByNode(math.MaxInt), prof.Runs(), benchTopNodes)
		report["op_profile"] = ops
	case o.engine == "ort":
		if ops, err = profileORT(o, m, inputs); err != nil {
			return fmt.Errorf("%s: %w", o.model, err)
		}
		report["op_profile"] = ops
	}
	if o.jsonOutput {
		return writeJSON(stdout, report)
	}
	fmt.Fprintf(stdout, "%s on %s (CPU level %s), %s, %s run(s) after a warm-up, batch %d:\n",
		o.model, o.engine, simd.Current(), threads, thousands(int64(l.Runs)), l.Batch)
	fmt.Fprintf(stdout, "  median %v  p90 %v  p99 %v  min %v  max %v\n  %.2f images/s (batch / median)\n",
		roundDuration(l.Median), roundDuration(l.P90), roundDuration(l.P99), roundDuration(l.Min), roundDuration(l.Max), l.ImagesPerSecond)
	if o.engine == "ort" {
		fmt.Fprintf(stdout, "  ONNX Runtime's optimised graph, from a second session that timed its nodes over %d run(s):\n", o.bench)
	}
	ops.write(stdout)
	return nil
}

// profileORT times each node of o.bench runs of the model in ONNX
// Runtime, in a session of its own so that the timing stays out of the
// latencies that runBench measured.
func profileORT(o *options, m *graph.Model, inputs map[string]*tensor.Tensor) (opProfile, error) {
	dir, err := os.MkdirTemp("", "onnxkit-ort-profile")
	if err != nil {
		return opProfile{}, err
	}
	defer os.RemoveAll(dir)
	e, err := newORTEngine(o.model, m, ort.Options{IntraOpThreads: o.threads, ProfilePrefix: filepath.Join(dir, "ort")})
	if err != nil {
		return opProfile{}, err
	}
	defer e.Close()
	for i := range 1 + o.bench { // a warm-up, left out below
		if _, err := e.Run(inputs); err != nil {
			return opProfile{}, fmt.Errorf("profiled run %d: %w", i+1, err)
		}
	}
	path, err := e.s.EndProfiling()
	if err != nil {
		return opProfile{}, err
	}
	p, err := ort.ReadProfile(path, 1)
	if err != nil {
		return opProfile{}, err
	}
	nodes := make([]native.OpTime, len(p.Nodes))
	for i, n := range p.Nodes {
		nodes[i] = native.OpTime{Op: n.Op, Node: n.Node, Nodes: 1, Time: n.Time}
	}
	return tabulate(nodes, p.Runs, benchTopNodes), nil
}

// benchTopNodes is how many of the longest nodes --bench lists.
const benchTopNodes = 20

// opProfile is the time an engine's nodes took in --bench's runs, per
// run: by operator type, and the longest nodes.
type opProfile struct {
	// PerRun is the time of all nodes in one run (mean over the runs);
	// the rest of a run's latency is the executor's own work.
	PerRun time.Duration `json:"per_run_ns"`
	ByOp   []opShare     `json:"by_op"`
	Nodes  []opShare     `json:"top_nodes"`
}

// opShare is one line of an opProfile: an operator type or one node, its
// time per run and its share of all nodes' time.
type opShare struct {
	Op     string        `json:"op"`
	Node   string        `json:"node,omitempty"`
	Nodes  int           `json:"nodes"`
	PerRun time.Duration `json:"per_run_ns"`
	Share  float64       `json:"share"`
}

// tabulate turns the times of every node, summed over runs, into
// per-run times and shares: by operator type, and the top longest nodes.
func tabulate(nodes []native.OpTime, runs, top int) opProfile {
	perRun := time.Duration(max(runs, 1))
	var total time.Duration
	for _, n := range nodes {
		total += n.Time
	}
	shares := func(rows []native.OpTime) []opShare {
		out := make([]opShare, len(rows))
		for i, r := range rows {
			out[i] = opShare{Op: r.Op, Node: r.Node, Nodes: r.Nodes, PerRun: r.Time / perRun}
			if total > 0 {
				out[i].Share = float64(r.Time) / float64(total)
			}
		}
		return out
	}
	longest := slices.Clone(nodes)
	native.SortByTime(longest)
	return opProfile{PerRun: total / perRun, ByOp: shares(native.SumByOp(nodes)), Nodes: shares(longest[:min(top, len(longest))])}
}

// write prints the profile as two tables.
func (p opProfile) write(w io.Writer) {
	fmt.Fprintf(w, "  time in nodes %v per run, by operator type:\n", roundDuration(p.PerRun))
	for _, r := range p.ByOp {
		fmt.Fprintf(w, "    %6.2f%%  %10v  %-24s %d node(s)\n", 100*r.Share, roundDuration(r.PerRun), r.Op, r.Nodes)
	}
	fmt.Fprintf(w, "  the %d longest nodes:\n", len(p.Nodes))
	for _, r := range p.Nodes {
		fmt.Fprintf(w, "    %6.2f%%  %10v  %-24s %s\n", 100*r.Share, roundDuration(r.PerRun), r.Op, r.Node)
	}
}

// roundDuration keeps four significant digits of d: 78.02603ms becomes
// 78.03ms.
func roundDuration(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for v := d; v >= 10000; v /= 10 {
		unit *= 10
	}
	return d.Round(unit)
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int64) string {
	return message.NewPrinter(language.English).Sprintf("%d", n)
}

// batchOf is the leading dimension of the first graph input, 1 for a
// scalar or a model without inputs.
func batchOf(m *graph.Model, inputs map[string]*tensor.Tensor) int {
	in := graphInputs(m.Graph)
	if len(in) == 0 {
		return 1
	}
	if t := inputs[in[0].Name]; t != nil && t.Rank() > 0 {
		return t.Shape[0]
	}
	return 1
}
