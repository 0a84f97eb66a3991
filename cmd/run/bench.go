package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/onnxkit/onnxkit/graph"
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
	times := make([]time.Duration, o.bench)
	for i := range times {
		start := time.Now()
		if _, err := e.Run(inputs); err != nil {
			return fmt.Errorf("%s: run %d: %w", o.model, i+1, err)
		}
		times[i] = time.Since(start)
	}
	l := summarizeLatency(times, batchOf(m, inputs))
	if o.jsonOutput {
		return writeJSON(stdout, map[string]any{"model": o.model, "engine": o.engine, "threads": o.threads,
			"cpu_level": simd.Current().String(), "latency": l})
	}
	fmt.Fprintf(stdout, "%s on %s (CPU level %s), %d run(s) after a warm-up, batch %d:\n", o.model, o.engine, simd.Current(), l.Runs, l.Batch)
	fmt.Fprintf(stdout, "  median %v  p90 %v  p99 %v  min %v  max %v\n  %.2f images/s (batch / median)\n",
		l.Median, l.P90, l.P99, l.Min, l.Max, l.ImagesPerSecond)
	return nil
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
