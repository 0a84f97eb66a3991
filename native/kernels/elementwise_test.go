package kernels

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// unravel returns the multi-index of flat index i in shape.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for a := len(shape) - 1; a >= 0; a-- {
		idx[a] = i % shape[a]
		i /= shape[a]
	}
	return idx
}

// ravelBroadcast returns the flat index in shape of the element that the
// output multi-index reads under broadcasting: shape is aligned to the
// end, and its axes of size 1 read index 0.
func ravelBroadcast(outIdx, shape []int) int {
	off := len(outIdx) - len(shape)
	flat := 0
	for a, d := range shape {
		i := outIdx[off+a]
		if d == 1 {
			i = 0
		}
		flat = flat*d + i
	}
	return flat
}

// TestBroadcastShape checks that the kernels' BroadcastShape reports the
// shape errors of tensor.BroadcastShape (tested there) as *ParamError.
func TestBroadcastShape(t *testing.T) {
	if got, err := BroadcastShape([]int{4, 1, 5}, []int{3, 1}); err != nil || !slices.Equal(got, []int{4, 3, 5}) {
		t.Errorf("BroadcastShape([4 1 5], [3 1]) = %v, %v; want [4 3 5]", got, err)
	}
	for _, tc := range []struct {
		a, b []int
		err  string
	}{
		{[]int{2, 3}, []int{2}, "differ at axis 1 (3 vs 2)"},
		{[]int{-1}, []int{1}, "negative dimension"},
	} {
		_, err := BroadcastShape(tc.a, tc.b)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Op != "Broadcast" || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("BroadcastShape(%v, %v) error = %v, want a *ParamError containing %q", tc.a, tc.b, err, tc.err)
		}
	}
}
