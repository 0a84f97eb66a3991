package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// randInts returns an int64 tensor of random dims (each 1 to 4, rank 1 to
// maxRank) with elements in [-9, 9].
func randInts(rng *rand.Rand, maxRank int) *graph.Tensor {
	dims := make([]int64, 1+rng.IntN(maxRank))
	n := 1
	for i := range dims {
		dims[i] = 1 + rng.Int64N(4)
		n *= int(dims[i])
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = rng.Int64N(19) - 9
	}
	return ints64(dims, v...)
}

// Random Slice, Gather, Concat and broadcasting arithmetic on small
// tensors fold to what the native engine computes.
func TestFoldConstantsMatchesEngine(t *testing.T) {
	const trials = 300
	rng := rand.New(rand.NewPCG(2026, 11))
	folded := 0
	for trial := range trials {
		b := graph.NewBuilder("g", opset17)
		data := randInts(rng, 3)
		a := b.Initializer("a", data)
		r := int64(len(data.Dims))
		var out string
		switch trial % 4 {
		case 0: // Slice on one random axis with a random step
			ax := rng.Int64N(r)
			step := []int64{-3, -2, -1, 1, 2, 3}[rng.IntN(6)]
			out = b.Node("Slice", "op", []string{a,
				b.Initializer("starts", ints64([]int64{1}, rng.Int64N(13)-6)),
				b.Initializer("ends", ints64([]int64{1}, rng.Int64N(13)-6)),
				b.Initializer("axes", ints64([]int64{1}, ax-r*rng.Int64N(2))),
				b.Initializer("steps", ints64([]int64{1}, step))})
		case 1: // Gather with in-range indices on a random axis
			ax := rng.Int64N(r)
			size := data.Dims[ax]
			idx := randInts(rng, 2)
			for i, v := range idx.Data.([]int64) {
				idx.Data.([]int64)[i] = (v+9)%(2*size) - size
			}
			out = b.Node("Gather", "op", []string{a, b.Initializer("idx", idx)}, graph.IntAttr("axis", ax))
		case 2: // Concat with a copy stretched along a random axis
			ax := rng.Int64N(r)
			other := randInts(rng, 1)
			dims := append([]int64(nil), data.Dims...)
			dims[ax] = 1 + rng.Int64N(3)
			n := 1
			for _, d := range dims {
				n *= int(d)
			}
			v := make([]int64, n)
			for i := range v {
				v[i] = other.Data.([]int64)[0] + int64(i)
			}
			out = b.Node("Concat", "op", []string{a, b.Initializer("b", ints64(dims, v...))}, graph.IntAttr("axis", ax-r))
		case 3: // arithmetic against a broadcastable operand
			dims := append([]int64(nil), data.Dims[rng.IntN(len(data.Dims)):]...)
			for i := range dims {
				if rng.IntN(2) == 0 {
					dims[i] = 1
				}
			}
			n := 1
			for _, d := range dims {
				n *= int(d)
			}
			v := make([]int64, n)
			for i := range v {
				v[i] = rng.Int64N(9) + 1 // nonzero, for Div
				if rng.IntN(2) == 0 {
					v[i] = -v[i]
				}
			}
			op := []string{"Add", "Sub", "Mul", "Div"}[rng.IntN(4)]
			out = b.Node(op, "op", []string{a, b.Initializer("b", ints64(dims, v...))})
		}
		b.Output(out, nil)
		m := mustModel(t, b)
		got, err := FoldConstants(m)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		init := got.Graph.Initializer(out)
		if init == nil {
			t.Fatalf("trial %d: not folded: %s", trial, describe(m))
		}
		folded++
		want := run(t, m, nil)[out]
		have, err := tensor.FromGraph(init)
		if err != nil {
			t.Fatal(err)
		}
		compareTensors(t, describe(m)+fmtInits(m), have, want, exact)
		if t.Failed() {
			t.Fatalf("trial %d failed", trial)
		}
	}
	if folded != trials {
		t.Errorf("%d of %d trials folded", folded, trials)
	}
}

// fmtInits lists the initializers' values, for failure messages.
func fmtInits(m *graph.Model) string {
	s := ""
	for _, t := range m.Graph.Initializers {
		if len(t.Data.([]int64)) <= 4 {
			s += fmt.Sprintf("%s = %v\n", t.Name, t.Data)
		}
	}
	return s
}
