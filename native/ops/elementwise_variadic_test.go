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
		op := ewBuild(t, name, 13)
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
					v := ewRandom(rng, n, 0.5, 2, true)
					if !dt.IsFloat() {
						v = ewRandomInts(rng, n, 100, dt != graph.Uint8)
					}
					in[k] = ewFromFloat64(dt, s, v)
					vals[k] = ewValues(t, in[k])
				}
				out, _ := tensor.BroadcastShape(shapes...)
				want := ewValues(t, ewFromFloat64(dt, out, ewRefBroadcast(out, shapes, vals, f)))
				tol := ewRounded
				if dt == graph.Float16 {
					tol = ewHalf
				}
				ewClose(t, fmt.Sprintf("%s %v %v", name, dt, shapes), ewValues(t, ewRun(t, op, in...)), want, tol)
			}
		}
	}
}

func TestFoldVersionsAndNaN(t *testing.T) {
	nan := float32(math.NaN())
	a := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{nan, 1, 2}}
	b := &tensor.Tensor{DType: graph.Float32, Shape: []int{3}, Data: []float32{0, nan, 1}}
	// NaN wins either way round, as with numpy's maximum: [NaN NaN 2].
	got := ewValues(t, ewRun(t, ewBuild(t, "Max", 13), a, b))
	ewClose(t, "Max with NaN", got, []float64{math.NaN(), math.NaN(), 2}, ewExact)
	got = ewValues(t, ewRun(t, ewBuild(t, "Min", 13), a, b))
	ewClose(t, "Min with NaN", got, []float64{math.NaN(), math.NaN(), 1}, ewExact)
	// Opsets 1 and 6 need one shape; opset 8 broadcasts.
	row := tensor.Float32(3)
	mat := tensor.Float32(2, 3)
	ewRunErr(t, ewBuild(t, "Sum", 6), mat, row)
	ewRun(t, ewBuild(t, "Sum", 8), mat, row)
	// Integers: Max and Min from opset 12; Sum and Mean never.
	ints := tensor.New(graph.Int32, 3)
	ewRunErr(t, ewBuild(t, "Max", 8), ints, ints)
	ewRun(t, ewBuild(t, "Max", 12), ints, ints)
	ewRunErr(t, ewBuild(t, "Sum", 13), ints, ints)
	ewRunErr(t, ewBuild(t, "Sum", 13))
	ewRunErr(t, ewBuild(t, "Sum", 13), mat, tensor.New(graph.Float64, 2, 3))
}
