package main

import (
	"math"
	"testing"

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
