package linalg

import "testing"

func TestEvenBlock(t *testing.T) {
	cases := []struct{ extent, max, unit, want int }{
		{100, 256, 4, 100},     // fits in one block
		{4096, 4080, 16, 2048}, // two blocks: ceil(4096/2) = 2048
		{363, 256, 4, 184},     // two blocks: ceil(363/2) = 182, rounded up to 184
		{1000, 256, 4, 252},    // four blocks: ceil(1000/4) = 250 -> 252
		{257, 256, 16, 144},    // two blocks: ceil(257/2) = 129 -> 144
	}
	for _, c := range cases {
		if got := evenBlock(c.extent, c.max, c.unit); got != c.want {
			t.Errorf("evenBlock(%d, %d, %d) = %d, want %d", c.extent, c.max, c.unit, got, c.want)
		}
	}
}

func TestSplitRows(t *testing.T) {
	cases := []struct {
		m, n    int
		want    bool
		working string
	}{
		// 190 column tiles split 95/95 (1520 of 3025 columns, 0.502);
		// 16 row tiles split 8/8 (48 of 96 rows, 0.5): within 5%, so
		// the longer dimension, n, is split.
		{96, 3025, false, "rows 0.5 ~ cols 0.502, n > m"},
		// 7 column tiles split 4/3 (64 of 100 columns, 0.64); 64 row
		// tiles split 32/32 (192 of 384, 0.5).
		{384, 100, true, "rows 0.5 < cols 0.64"},
		// 2 column tiles (16 of 17 columns, 0.94); 11 row tiles split 6/5
		// (36 of 64 rows, 0.56).
		{64, 17, true, "rows 0.56 < cols 0.94"},
		// 256 column tiles split 128/128 (2048 of 4096, 0.5); 11 row
		// tiles (0.56).
		{64, 4096, false, "cols 0.5 < rows 0.56"},
	}
	for _, c := range cases {
		mt, nt := (c.m+5)/6, (c.n+15)/16
		if got := splitRows(c.m, c.n, mt, nt, 6, 16, 2); got != c.want {
			t.Errorf("splitRows(m=%d, n=%d) = %v, want %v (%s)", c.m, c.n, got, c.want, c.working)
		}
	}
}
