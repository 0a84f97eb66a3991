package tensor

import (
	"slices"
	"testing"
)

func TestBroadcastShape(t *testing.T) {
	cases := []struct {
		in   [][]int
		want []int
		ok   bool
	}{
		{[][]int{{2, 3}, {3}}, []int{2, 3}, true},
		{[][]int{{4, 1, 5}, {3, 1}}, []int{4, 3, 5}, true},
		{[][]int{{}, {2}}, []int{2}, true},
		{[][]int{{2, 0}, {1}}, []int{2, 0}, true},
		{[][]int{{2, 3}, {2}}, nil, false},
	}
	for _, c := range cases {
		got, err := BroadcastShape(c.in...)
		if (err == nil) != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("BroadcastShape(%v) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestBroadcastIndexMatchesCoordinates checks the incremental index walk
// against a direct computation from each element's coordinates.
func TestBroadcastIndexMatchesCoordinates(t *testing.T) {
	for _, c := range [][2][]int{
		{{3, 1}, {2, 3, 4}}, {{4}, {2, 3, 4}}, {{1, 3, 1}, {2, 3, 4}}, {{}, {2, 2}}, {{2, 3, 4}, {2, 3, 4}},
	} {
		in, out := c[0], c[1]
		got := BroadcastIndex(in, out)
		outStrides, inStrides := Strides(out), Strides(in)
		for i := range got {
			want, rem := 0, i
			for d := range out {
				coord := rem / outStrides[d]
				rem %= outStrides[d]
				if id := d - (len(out) - len(in)); id >= 0 && in[id] != 1 {
					want += coord * inStrides[id]
				}
			}
			if got[i] != want {
				t.Fatalf("in %v out %v: index[%d] = %d, want %d", in, out, i, got[i], want)
			}
		}
	}
}
