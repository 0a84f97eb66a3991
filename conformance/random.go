package conformance

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/onnxkit/onnxkit/native"
)

// RunRandom judges a case whose outputs are random (Bernoulli,
// RandomUniformLike, Dropout in training mode, ...): each output must have
// the expected dtype and shape, values in the range that the expected
// output allows, and two runs of the same model must agree, since the
// engine seeds every node. The allowed range is the span of the expected
// values and of 0 and 1; where the first input has the output's shape
// (Dropout), also the span of that input scaled by the largest factor
// between expected output and input, which covers any other mask.
func RunRandom(c Case) Result {
	return runSets(c, runRandomSet)
}

func runRandomSet(prog *native.Program, dir string) (Outcome, error) {
	inputs, err := readInputs(prog, dir)
	if err != nil {
		return Failed, err
	}
	first, err := prog.Run(inputs)
	if err != nil {
		return Failed, err
	}
	second, err := prog.Run(inputs)
	if err != nil {
		return Failed, err
	}
	for i, name := range prog.Outputs() {
		want, err := readTensor(filepath.Join(dir, fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			return Failed, err
		}
		got := first[name]
		if got == nil || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
			return Mismatched, fmt.Errorf("output %q is %v, want %v", name, got, want)
		}
		if !reflect.DeepEqual(got.Data, second[name].Data) {
			return Mismatched, fmt.Errorf("output %q differs between two runs with the same seed", name)
		}
		g, err := got.Float64s()
		if err != nil {
			return Failed, err
		}
		w, err := want.Float64s()
		if err != nil {
			return Failed, err
		}
		lo, hi := span(w)
		lo, hi = min(lo, 0), max(hi, 1)
		if x := inputs[prog.Inputs()[0].Name]; x != nil && x.Len() == len(w) {
			if xs, err := x.Float64s(); err == nil {
				scale := 0.0
				for j := range w {
					if xs[j] != 0 {
						scale = max(scale, math.Abs(w[j]/xs[j]))
					}
				}
				xlo, xhi := span(xs)
				lo = min(lo, xlo*scale, xhi*scale)
				hi = max(hi, xlo*scale, xhi*scale)
			}
		}
		for j, v := range g {
			if v < lo || v > hi {
				return Mismatched, fmt.Errorf("output %q element %d is %v, outside [%v, %v]", name, j, v, lo, hi)
			}
		}
	}
	return Passed, nil
}

func span(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
