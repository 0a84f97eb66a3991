package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestULPDistance(t *testing.T) {
	one := float32(1)
	next := math.Nextafter32(one, 2)
	tiny := math.Float32frombits(1) // smallest positive denormal
	tests := []struct {
		a, b float32
		want int64
	}{
		{one, one, 0},
		{one, next, 1},
		{next, one, 1},
		{float32(math.Copysign(0, -1)), 0, 0}, // -0 and +0 are one value
		{tiny, -tiny, 2},                      // -tiny, 0, tiny
		{math.MaxFloat32, float32(math.Inf(1)), 1},
		// 1 is 0x3f800000 and 2 is 0x40000000: 2^23 floats apart.
		{1, 2, 1 << 23},
		{float32(math.NaN()), float32(math.NaN()), 0},
		{float32(math.NaN()), 1, math.MaxInt64},
	}
	for _, tc := range tests {
		if got := ulpDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("ulpDistance(%g, %g) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestCompareTensors(t *testing.T) {
	tol := tolerance{rtol: 1e-4, atol: 1e-5}
	// Reference b and test a, worked by hand:
	//   index 0: |1.00005-1| = 5e-5 <= 1e-5 + 1e-4*1 = 1.1e-4: inside, rel 5e-5
	//   index 1: |0-0| = 0
	//   index 2: |-2.1-(-2)| = 0.1 > 1e-5 + 2e-4: outside, rel 0.05
	//   index 3: a = 3e-6, b = 0: abs 3e-6 <= 1e-5 inside; no rel (b = 0)
	want := tensor.FromFloat32([]float32{1, 0, -2, 0}, 2, 2)
	got := tensor.FromFloat32([]float32{1.00005, 0, -2.1, 3e-6}, 2, 2)
	s := compareTensors("y", got, want, tol)
	if s.Pass || s.Mismatches != 1 || s.First != 2 {
		t.Errorf("pass %v, %d mismatches first at %d; want fail, 1 at 2", s.Pass, s.Mismatches, s.First)
	}
	// float32 rounding makes the errors inexact: compare with a tolerance
	// of a few float32 ulps of the values involved.
	const eps = 1e-6
	if math.Abs(float64(s.MaxAbs)-0.1) > eps {
		t.Errorf("max abs %g, want 0.1", s.MaxAbs)
	}
	if math.Abs(float64(s.MaxRel)-0.05) > eps {
		t.Errorf("max rel %g, want 0.05", s.MaxRel)
	}
	// The largest ULP distance is at index 3: 3e-6 against 0 is as many
	// steps as 3e-6's bit pattern.
	if wantULP := int64(math.Float32bits(3e-6)); s.MaxULP != wantULP {
		t.Errorf("max ULP %d, want %d", s.MaxULP, wantULP)
	}

	same := compareTensors("y", want, want, tol)
	if !same.Pass || same.MaxAbs != 0 || same.MaxULP != 0 {
		t.Errorf("a tensor against itself: %+v", same)
	}

	nan := tensor.FromFloat32([]float32{float32(math.NaN()), 0, -2, 0}, 2, 2)
	s = compareTensors("y", nan, want, tol)
	if s.Pass || s.First != 0 || !math.IsInf(float64(s.MaxAbs), 1) {
		t.Errorf("NaN against 1: %+v", s)
	}

	s = compareTensors("y", tensor.Float32(4), want, tol)
	if s.Pass || s.Problem == "" {
		t.Errorf("shape [4] against [2,2] passed: %+v", s)
	}
}

// TestFirstDifference checks the bitwise comparison of a second run's
// outputs with the first's: NaNs of the same bits are equal, -0 and +0
// are not, and every dtype's slice is compared element by element.
func TestFirstDifference(t *testing.T) {
	f32 := func(v ...float32) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Float32, Shape: []int{len(v)}, Data: v}
	}
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	tests := []struct {
		name string
		a, b *tensor.Tensor
		want int
	}{
		{"equal", f32(1, 2, 3), f32(1, 2, 3), -1},
		{"NaN equals NaN", f32(1, nan), f32(1, nan), -1},
		{"-0 against +0", f32(1, 2, negZero), f32(1, 2, 0), 2},
		{"one ULP", f32(1, math.Nextafter32(1, 2)), f32(1, 1), 1},
		{"shapes", f32(1, 2), f32(1, 2, 3), 0},
		{"missing", f32(1), nil, 0},
		{"float64", &tensor.Tensor{DType: graph.Float64, Shape: []int{2}, Data: []float64{1, 2}},
			&tensor.Tensor{DType: graph.Float64, Shape: []int{2}, Data: []float64{1, 2.5}}, 1},
		{"int64", &tensor.Tensor{DType: graph.Int64, Shape: []int{3}, Data: []int64{4, 5, 6}},
			&tensor.Tensor{DType: graph.Int64, Shape: []int{3}, Data: []int64{4, 5, 7}}, 2},
		{"strings", &tensor.Tensor{DType: graph.String, Shape: []int{2}, Data: []string{"a", "b"}},
			&tensor.Tensor{DType: graph.String, Shape: []int{2}, Data: []string{"a", "b"}}, -1},
		{"types", f32(1), &tensor.Tensor{DType: graph.Int64, Shape: []int{1}, Data: []int64{1}}, 0},
	}
	for _, tc := range tests {
		if got := firstDifference(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: firstDifference = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// drifting is an engine whose outputs drift by delta from its second
// run on, as a run that depends on the runs before it would.
type drifting struct {
	engine
	runs  *int
	delta float32
}

func (d drifting) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	out, err := d.engine.Run(inputs)
	if *d.runs++; err != nil || *d.runs < 2 {
		return out, err
	}
	for name, v := range out {
		c := v.Clone()
		for i := range c.F32() {
			c.F32()[i] += d.delta
		}
		out[name] = c
	}
	return out, nil
}

// TestCompareRunsTwice checks that --compare fails when the engine under
// test gives other outputs on its second run than on its first, even by
// less than the tolerance, and passes when it gives the same.
func TestCompareRunsTwice(t *testing.T) {
	m := smallCNN(t, 5)
	inputs, err := randomInputs(graphInputs(m.Graph), 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "small.onnx")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := &options{model: path, rtol: 1e-4, atol: 1e-5}
	for _, delta := range []float32{0, 1e-7} {
		runs := 0
		drift := func(path string, m *graph.Model) (engine, error) {
			e, err := openNative(&options{})(path, m)
			return drifting{e, &runs, delta}, err
		}
		var out bytes.Buffer
		err := runCompare(o, m, inputs, &out, drift, openNative(&options{}))
		if runs != 2 {
			t.Errorf("delta %g: the engine under test ran %d times, want 2", delta, runs)
		}
		switch {
		case delta == 0 && err != nil:
			t.Errorf("the same outputs twice: %v", err)
		case delta != 0 && (err == nil || !strings.Contains(err.Error(), "second run differs")):
			t.Errorf("outputs that drift by %g on the second run: err %v, want a second run that differs", delta, err)
		}
	}
}
