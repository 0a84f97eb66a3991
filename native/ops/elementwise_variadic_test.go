package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestFoldMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	folds := map[string]func(v []float64) float64{
		"Max": func(v []float64) float64 {
			m := v[0]
			for _, x := range v {
				m = math.Max(m, x)
			}
			return m
		},
		"Min": func(v []float64) float64 {
			m := v[0]
			for _, x := range v {
				m = math.Min(m, x)
			}
			return m
		},
		"Sum": func(v []float64) float64 {
			s := 0.0
			for _, x := range v {
				s += x
			}
			return s
		},
		"Mean": func(v []float64) float64 {
			s := 0.0
			for _, x := range v {
				s += x
			}
			return s / float64(len(v))
		},
	}
	shapeSets := [][][]int{{{2, 3}}, {{2, 3}, {3}}, {{3, 1}, {1, 4}, {}}, {{2, 1, 4}, {3, 1}, {2, 3, 4}, {4}}, {{300, 200}, {200}, {300, 1}}}
	for name, f := range folds {
		op := buildOp(t, testNode(name), 13)
		types := []graph.DType{graph.Float32, graph.Float64, graph.Float16}
		if name == "Max" || name == "Min" {
			types = append(types, graph.Int32, graph.Uint8, graph.Int64)
		}
		for _, dt := range types {
			for _, shapes := range shapeSets {
				in := make([]*tensor.Tensor, len(shapes))
				vals := make([][]float64, len(shapes))
				for k, s := range shapes {
					n := tensor.NumElements(s)
					v := randomUniform(rng, n, 0.5, 2, true)
					if !dt.IsFloat() {
						v = ewRandomInts(rng, n, 100, dt != graph.Uint8)
					}
					in[k] = testTensor(dt, s, v)
					vals[k] = testValues(t, in[k])
				}
				out, _ := tensor.BroadcastShape(shapes...)
				want := testValues(t, testTensor(dt, out, ewRefBroadcast(out, shapes, vals, f)))
				tol := tolRounded
				if dt == graph.Float16 {
					tol = tolHalfRounded
				}
				checkClose(t, fmt.Sprintf("%s %v %v", name, dt, shapes), testValues(t, runOp(t, op, in...)), want, tol)
			}
		}
	}
}

func TestFoldVersionsAndNaN(t *testing.T) {
	nan := float32(math.NaN())
	a := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{nan, 1, 2}}
	b := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{0, nan, 1}}
	// NaN wins either way round, as with numpy's maximum: [NaN NaN 2].
	got := testValues(t, runOp(t, buildOp(t, testNode("Max"), 13), a, b))
	checkClose(t, "Max with NaN", got, []float64{math.NaN(), math.NaN(), 2}, tolExact)
	got = testValues(t, runOp(t, buildOp(t, testNode("Min"), 13), a, b))
	checkClose(t, "Min with NaN", got, []float64{math.NaN(), math.NaN(), 1}, tolExact)
	// Opsets 1 and 6 need one shape; opset 8 broadcasts.
	row := tensor.Float32(3)
	mat := tensor.Float32(2, 3)
	runOpErr(t, buildOp(t, testNode("Sum"), 6), mat, row)
	runOp(t, buildOp(t, testNode("Sum"), 8), mat, row)
	// Integers: Max and Min from opset 12; Sum and Mean never.
	ints := tensor.New(graph.Int32, 3)
	runOpErr(t, buildOp(t, testNode("Max"), 8), ints, ints)
	runOp(t, buildOp(t, testNode("Max"), 12), ints, ints)
	runOpErr(t, buildOp(t, testNode("Sum"), 13), ints, ints)
	runOpErr(t, buildOp(t, testNode("Sum"), 13))
	runOpErr(t, buildOp(t, testNode("Sum"), 13), mat, tensor.New(graph.Float64, 2, 3))
}
