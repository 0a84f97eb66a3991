package native

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/arena"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// denseNet builds a DenseNet-style network on x [N, 8, 16, 16]: blocks
// of layers that each concatenate the block's features so far with 4
// new channels from a 3x3 convolution of them, so that every
// concatenation of a block is larger than all before it, and between
// blocks a transition (a 1x1 convolution back to 8 channels and a 2x2
// average pooling) that shrinks the values 4 times.
func denseNet(t *testing.T, blocks, layers int) *graph.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(31, 32))
	b := graph.NewBuilder("dense", graph.OpsetID{Version: 17})
	features := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(8), graph.Fixed(16), graph.Fixed(16))
	for blk := range blocks {
		channels := int64(8)
		if blk > 0 {
			w := uniformInitializer(t, b, rng, fmt.Sprintf("t%d", blk), -0.3, 0.3, 8, channels+4*int64(layers), 1, 1)
			features = b.Node("Conv", fmt.Sprintf("trans%d", blk), []string{features, w})
			features = b.Node("AveragePool", fmt.Sprintf("pool%d", blk), []string{features},
				graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
		}
		for k := range layers {
			name := fmt.Sprintf("%d_%d", blk, k)
			w := uniformInitializer(t, b, rng, "w"+name, -0.3, 0.3, 4, channels, 3, 3)
			y := b.Node("Conv", "conv"+name, []string{features, w}, graph.IntsAttr("pads", 1, 1, 1, 1))
			y = b.Node("Relu", "relu"+name, []string{y})
			features = b.Node("Concat", "cat"+name, []string{features, y}, graph.IntAttr("axis", 1))
			channels += 4
		}
	}
	b.Output(features, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// poolHeld runs m on in four times and returns the bytes its pools keep
// after each run. The outputs' buffers, which leave the run, must be of
// their exact size.
func poolHeld(t *testing.T, m *graph.Model, in map[string]*tensor.Tensor) []int64 {
	t.Helper()
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	var held []int64
	for range 4 {
		out, err := p.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range out {
			if data := v.F32(); cap(data) != len(data) {
				t.Errorf("output %s: a buffer of %d elements holds its %d", name, cap(data), len(data))
			}
		}
		var n int64
		for _, st := range p.states.free {
			n += 4 * int64(st.pool.Held())
		}
		held = append(held, n)
	}
	return held
}

// TestPoolReusesAcrossBlocks runs a DenseNet-style network of one block
// and of three: the buffers that the first block's growing
// concatenations leave serve most requests of the later blocks, whose
// values are 4 and 16 times smaller, so that the pool holds at most a
// quarter more with three blocks than with one (1.72 MB against 1.46; a
// pool of exact sizes, which kept a buffer per concatenation of every
// block, held 2.12 MB). It stops growing after the first run: an output
// takes no larger buffer from the pool, which the next run would have
// to replace.
func TestPoolReusesAcrossBlocks(t *testing.T) {
	in := map[string]*tensor.Tensor{"x": randomInput(5, 4, 8, 16, 16)}
	one := poolHeld(t, denseNet(t, 1, 12), in)
	three := poolHeld(t, denseNet(t, 3, 12), in)
	t.Logf("held after each run: one block %v bytes, three blocks %v", one, three)
	for _, h := range [][]int64{one, three} {
		for run := 1; run < len(h); run++ {
			if h[run] != h[0] {
				t.Errorf("the pool went from %d bytes after the first run to %d after run %d", h[0], h[run], run+1)
			}
		}
	}
	if three[0] > one[0]*5/4 {
		t.Errorf("the pool holds %d bytes with three blocks, %d with one", three[0], one[0])
	}
}

// TestRunTakesWorkBuffersFromItsArena runs convolutions with two
// threads and checks that the kernels' work buffers and the products'
// pack buffers, in the workers of their loops too, came from the run
// state's arena and went back to it: arena.Shared, which serves kernels
// outside a run, is never touched.
func TestRunTakesWorkBuffersFromItsArena(t *testing.T) {
	p, err := Compile(denseNet(t, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"x": randomInput(7, 4, 8, 16, 16)}
	shared := arena.Shared
	arena.Shared = arena.New()
	defer func() { arena.Shared = shared }()
	parallel.With(2, func() {
		for range 2 {
			if _, err := p.Run(in); err != nil {
				t.Fatal(err)
			}
		}
	})
	if values, work := arena.Shared.Held(); values+work != 0 {
		t.Errorf("arena.Shared holds %d elements of values and %d of work buffers after the runs", values, work)
	}
	if len(p.states.free) != 1 {
		t.Fatalf("%d run states, want 1", len(p.states.free))
	}
	if _, work := p.states.free[0].arena.Held(); work == 0 {
		t.Error("the run state's arena holds no work buffer: the kernels took theirs elsewhere")
	}
}
