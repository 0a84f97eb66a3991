package tensor

import (
	"slices"
	"strings"
	"testing"
)

func TestBroadcastShape(t *testing.T) {
	cases := []struct {
		in   [][]int
		want []int
		err  string // substring of the error, "" when the shapes broadcast
	}{
		{[][]int{{2, 3}, {3}}, []int{2, 3}, ""},
		{[][]int{{2, 3}, {2, 3}}, []int{2, 3}, ""},
		{[][]int{{4, 1, 5}, {3, 1}}, []int{4, 3, 5}, ""},
		{[][]int{{}, {2}}, []int{2}, ""},
		{[][]int{{1}, {}}, []int{1}, ""},
		{[][]int{{2, 0}, {1}}, []int{2, 0}, ""},
		{[][]int{{0, 3}, {1, 3}}, []int{0, 3}, ""},
		{[][]int{{2, 1, 4}, {3, 1}, {1}}, []int{2, 3, 4}, ""},
		{[][]int{{2, 3}, {2}}, nil, "differ at axis 1 (3 vs 2)"},
		{[][]int{{5, 3}, {1, 3}, {4, 1}}, nil, "differ at axis 0 (5 vs 4)"},
		{[][]int{{-1}, {1}}, nil, "negative dimension in [-1]"},
	}
	for _, c := range cases {
		got, err := BroadcastShape(c.in...)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("BroadcastShape(%v) error = %v, want one containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("BroadcastShape(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestBroadcastStrides(t *testing.T) {
	// [3, 1] read along [4, 3, 5]: axis 0 missing, axis 2 repeated, and
	// axis 1 steps over the one element of the trailing size-1 axis.
	if got := BroadcastStrides([]int{3, 1}, []int{4, 3, 5}); !slices.Equal(got, []int{0, 1, 0}) {
		t.Errorf("BroadcastStrides([3 1], [4 3 5]) = %v, want [0 1 0]", got)
	}
	// [2, 1, 4] along [2, 3, 4]: row-major strides 4, -, 1 with the
	// repeated middle axis read at stride 0.
	if got := BroadcastStrides([]int{2, 1, 4}, []int{2, 3, 4}); !slices.Equal(got, []int{4, 0, 1}) {
		t.Errorf("BroadcastStrides([2 1 4], [2 3 4]) = %v, want [4 0 1]", got)
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
