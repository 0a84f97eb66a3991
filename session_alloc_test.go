package onnxkit

import (
	"context"
	"runtime"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestRunAllocatesLittle holds a Session's steady state to what issue 14
// asks: a batch-1 run of the Keras AlexNet, one after another on one
// Session of two threads, allocates at most 10 times and under 4 KB of
// heap (the output map and tensor and a few headers; every buffer, op
// binding and loop body is reused); and that RunInto into the same map
// each run allocates nothing. Each run is measured on its own and
// the median judged: a free list refilled once after a garbage
// collection is not a run's allocation, and what every run allocates
// shows in every one.
func TestRunAllocatesLittle(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates, and makes sync.Pool drop values")
	}
	m, err := model.Build(model.Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Float32(1, 3, 224, 224)
	for i := range x.F32() {
		x.F32()[i] = float32(i%251)/125 - 1
	}
	in := map[string]*tensor.Tensor{model.Input: x}
	out := map[string]*tensor.Tensor{}
	for _, c := range []struct {
		name         string
		run          func() error
		allocs, size uint64
	}{
		{"Run", func() error { _, err := s.Run(context.Background(), in); return err }, 10, 4096},
		// RunInto writes into the same map's tensor every run.
		{"RunInto", func() error { return s.RunInto(context.Background(), in, out) }, 0, 64},
	} {
		for range 3 {
			if err := c.run(); err != nil {
				t.Fatal(err)
			}
		}
		const runs = 21
		allocs, bytes := make([]uint64, runs), make([]uint64, runs)
		var before, after runtime.MemStats
		for i := range runs {
			runtime.ReadMemStats(&before)
			if err := c.run(); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			allocs[i], bytes[i] = after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc
		}
		slices.Sort(allocs)
		slices.Sort(bytes)
		t.Logf("%s allocates %d times, %d bytes, in the median (%d-%d times, %d-%d bytes)",
			c.name, allocs[runs/2], bytes[runs/2], allocs[0], allocs[runs-1], bytes[0], bytes[runs-1])
		if allocs[runs/2] > c.allocs || bytes[runs/2] >= c.size {
			t.Errorf("%s allocates %d times, %d bytes; want at most %d and under %d", c.name, allocs[runs/2], bytes[runs/2], c.allocs, c.size)
		}
	}
}

// BenchmarkRunOverhead measures what a run costs besides its kernels,
// on a model of one Relu of 16 floats: Session.Run (a turn among the
// session's runs, its share of threads, then the program's run),
// Session.RunInto, and native.Program.Run on the same program. The
// difference between the first and the last is what the Session adds.
func BenchmarkRunOverhead(b *testing.B) {
	gb := graph.NewBuilder("relu", graph.OpsetID{Version: 17})
	gb.Output(gb.Node("Relu", "y", []string{gb.Input("x", graph.Float32, graph.Fixed(1), graph.Fixed(16))}), nil)
	m, err := gb.Model()
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSession(m, Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	in, out := map[string]*tensor.Tensor{"x": tensor.Float32(1, 16)}, map[string]*tensor.Tensor{}
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"Session.Run", func() error { _, err := s.Run(context.Background(), in); return err }},
		{"Session.RunInto", func() error { return s.RunInto(context.Background(), in, out) }},
		{"Program.Run", func() error { _, err := s.Program().Run(in); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
