package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// tolerance is the allclose criterion of --compare and --bisect: a value a
// of the engine under test matches the reference value b when
//
//	|a - b| <= atol + rtol*|b|
//
// NaN matches only NaN, and an infinity only the same infinity.
type tolerance struct{ rtol, atol float64 }

func (tol tolerance) match(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol.atol+tol.rtol*math.Abs(b)
}

// errorStats measures how far a tensor is from a reference.
type errorStats struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	// MaxAbs is the largest |a-b|; MaxRel the largest |a-b|/|b| over the
	// elements where b is not zero. A NaN against a number, or an
	// infinity against anything else, makes both +Inf.
	MaxAbs number `json:"max_abs_error"`
	MaxRel number `json:"max_rel_error"`
	// MaxULP is the largest distance in units in the last place between
	// a and b, for float32 tensors only (-1 otherwise): the number of
	// float32 values from one to the other, +0 and -0 counting as one.
	MaxULP int64 `json:"max_ulp"`
	// Mismatches counts the elements outside the tolerance; First is the
	// index of the first of them, -1 when there is none.
	Mismatches int  `json:"mismatches"`
	First      int  `json:"first_mismatch"`
	Pass       bool `json:"pass"`
	// Problem explains a comparison that could not be made element by
	// element (different types or shapes).
	Problem string `json:"problem,omitempty"`
}

// compareTensors measures got against the reference want.
func compareTensors(name string, got, want *tensor.Tensor, tol tolerance) errorStats {
	s := errorStats{Name: name, DType: want.DType.String(), Shape: want.Shape, MaxULP: -1, First: -1}
	if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
		s.Problem = fmt.Sprintf("%v against %v", got, want)
		s.MaxAbs, s.MaxRel = number(math.Inf(1)), number(math.Inf(1))
		return s
	}
	a, errA := got.Float64s()
	b, errB := want.Float64s()
	if errA != nil || errB != nil {
		s.Problem = fmt.Sprintf("%v values are not compared", want.DType)
		return s
	}
	var fa, fb []float32
	if want.DType == graph.Float32 {
		fa, fb = got.F32(), want.F32()
		s.MaxULP = 0
	}
	var maxAbs, maxRel float64
	for i := range a {
		if !tol.match(a[i], b[i]) {
			if s.First < 0 {
				s.First = i
			}
			s.Mismatches++
		}
		if fa != nil {
			s.MaxULP = max(s.MaxULP, ulpDistance(fa[i], fb[i]))
		}
		if a[i] == b[i] || (math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			continue
		}
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) { // a NaN against a number
			d = math.Inf(1)
		}
		maxAbs = max(maxAbs, d)
		if b[i] != 0 {
			maxRel = max(maxRel, d/math.Abs(b[i]))
		}
	}
	s.MaxAbs, s.MaxRel = number(maxAbs), number(maxRel)
	s.Pass = s.Mismatches == 0
	return s
}

// ulpDistance is the number of float32 steps between a and b, with +0 and
// -0 one value; math.MaxInt64 when either is NaN and the other is not.
func ulpDistance(a, b float32) int64 {
	na, nb := a != a, b != b
	switch {
	case na && nb:
		return 0
	case na || nb:
		return math.MaxInt64
	}
	d := orderedBits(a) - orderedBits(b)
	if d < 0 {
		d = -d
	}
	return d
}

// orderedBits maps float32 values to integers in the same order, adjacent
// floats to adjacent integers, -0 and +0 both to 0.
func orderedBits(f float32) int64 {
	bits := math.Float32bits(f)
	if bits&0x80000000 != 0 {
		return -int64(bits & 0x7fffffff)
	}
	return int64(bits)
}

// runCompare runs the engine under test (a, the native engine) and the
// reference (b, ONNX Runtime) on the same inputs and reports, per output,
// the error of a against b.
func runCompare(o *options, m *graph.Model, inputs map[string]*tensor.Tensor, stdout io.Writer, a, b opener) error {
	tol := tolerance{o.rtol, o.atol}
	outs, err := runBoth(o, m, o.model, inputs, a, b)
	if err != nil {
		return err
	}
	var stats []errorStats
	pass := true
	for _, v := range m.Graph.Outputs {
		got, want := outs[0][v.Name], outs[1][v.Name]
		if got == nil || want == nil {
			return fmt.Errorf("%s: an engine gave no value for output %q", o.model, v.Name)
		}
		s := compareTensors(v.Name, got, want, tol)
		pass = pass && s.Pass
		stats = append(stats, s)
	}
	if o.jsonOutput {
		if err := writeJSON(stdout, map[string]any{"model": o.model, "rtol": o.rtol, "atol": o.atol, "pass": pass, "outputs": stats}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "native against ONNX Runtime, |a-b| <= %g + %g*|b|:\n", o.atol, o.rtol)
		for _, s := range stats {
			printStats(stdout, s)
		}
	}
	if !pass {
		return errOutOfTolerance
	}
	return nil
}

// printStats writes one comparison line.
func printStats(w io.Writer, s errorStats) {
	verdict := "ok"
	if !s.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "  %s %s%v: %s", s.Name, s.DType, s.Shape, verdict)
	if s.Problem != "" {
		fmt.Fprintf(w, " (%s)\n", s.Problem)
		return
	}
	fmt.Fprintf(w, "  max abs %.3g, max rel %.3g", float64(s.MaxAbs), float64(s.MaxRel))
	if s.MaxULP >= 0 {
		fmt.Fprintf(w, ", max ULP %d", s.MaxULP)
	}
	if s.Mismatches > 0 {
		fmt.Fprintf(w, ", %d element(s) outside, first at index %d", s.Mismatches, s.First)
	}
	fmt.Fprintln(w)
}

// runBoth runs the model at path (m) in the engines that a and b open,
// on the same inputs, and returns their outputs in that order. The
// engine under test (a) runs twice, and its second run must give the
// first's outputs bit for bit: a run may take another path than the
// first (the native engine places a Concat's inputs in its output only
// from the second run with the same shapes), and that path is held to
// the reference through the first.
func runBoth(o *options, m *graph.Model, path string, inputs map[string]*tensor.Tensor, a, b opener) ([2]map[string]*tensor.Tensor, error) {
	var outs [2]map[string]*tensor.Tensor
	for i, open := range []opener{a, b} {
		e, err := open(path, m)
		if err != nil {
			return outs, fmt.Errorf("%s: %w", o.model, err)
		}
		outs[i], err = e.Run(inputs)
		if err == nil && i == 0 {
			err = sameAgain(e, inputs, outs[0])
		}
		e.Close()
		if err != nil {
			return outs, fmt.Errorf("%s: %w", o.model, err)
		}
	}
	return outs, nil
}

// sameAgain runs e on inputs again and reports an error unless every
// output is bitwise first's.
func sameAgain(e engine, inputs, first map[string]*tensor.Tensor) error {
	again, err := e.Run(inputs)
	if err != nil {
		return fmt.Errorf("second run: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(first)) {
		if i := firstDifference(first[name], again[name]); i >= 0 {
			return fmt.Errorf("output %q of the second run differs from the first's at element %d, on the same inputs", name, i)
		}
	}
	return nil
}

// firstDifferentBits returns the index of the first element of a whose
// bits differ from b's, -1 for none.
func firstDifferentBits[T float32 | float64, B uint32 | uint64](a, b []T, bits func(T) B) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if bits(a[i]) != bits(b[i]) {
			return i
		}
	}
	return -1
}

// firstDifference returns the index of the first element that differs
// between a and b, bit for bit (a NaN equals a NaN of the same bits; -0
// and +0 differ), 0 for tensors of different types or shapes, and -1
// when they are identical.
func firstDifference(a, b *tensor.Tensor) int {
	if b == nil || a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) {
		return 0
	}
	switch x := a.Data.(type) {
	case []float32:
		return firstDifferentBits(x, b.Data.([]float32), math.Float32bits)
	case []float64:
		return firstDifferentBits(x, b.Data.([]float64), math.Float64bits)
	}
	va, vb := reflect.ValueOf(a.Data), reflect.ValueOf(b.Data)
	if va.Kind() != reflect.Slice || va.Type() != vb.Type() || va.Len() != vb.Len() {
		return 0
	}
	for i := range va.Len() {
		if !va.Index(i).Equal(vb.Index(i)) {
			return i
		}
	}
	return -1
}
