package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestMaxPoolRows checks MaxPoolRows at every CPU level against a plain
// scan of each window, on widths around the vector loops' blocks, both
// strides, padded rows (Lead, -Inf around the image's columns), row
// buffers with and without the room the AVX-512 loop needs (odd and
// even row counts), one plane and three (odd row counts), and a NaN in
// some windows, which their maximum must be; and that nothing is
// written between the output rows and planes.
func TestMaxPoolRows(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, tc := range []struct{ cols, rows, kh, kw, stride, lead int }{
			{1, 1, 1, 1, 1, 0}, {7, 3, 3, 3, 1, 1}, {55, 27, 3, 3, 2, 0}, {112, 5, 3, 3, 2, 1},
			{33, 4, 2, 2, 2, 0}, {61, 6, 3, 5, 1, 2}, {17, 2, 1, 3, 2, 1}, {100, 3, 3, 3, 1, 0},
			{55, 26, 3, 3, 2, 0}, {112, 4, 3, 3, 2, 1}, {33, 5, 2, 2, 2, 0}, {17, 3, 1, 3, 2, 1},
			{1, 3, 1, 1, 2, 0}, {64, 3, 4, 2, 2, 0}, {97, 7, 5, 5, 2, 2}, {16, 1, 3, 3, 2, 1},
			{112, 3, 3, 3, 2, 0}, {111, 4, 3, 3, 2, 0}, {14, 3, 2, 2, 2, 0}, {27, 2, 3, 3, 2, 0},
			{4, 3, 3, 3, 2, 0}, {96, 3, 2, 2, 2, 0},
		} {
			inf := float32(math.Inf(-1))
			rowLen := tc.lead + tc.cols + tc.kw + 1 // room for the windows past the image, as -Inf
			width := (rowLen - tc.kw) / tc.stride
			srcStride := tc.cols * 2
			// Three planes when the row count is odd, their rows apart
			// by more than the rows (gaps of the caller's).
			planes := 1 + 2*(tc.rows%2)
			srcPlane := (tc.rows-1)*srcStride + tc.kh*tc.cols + 3
			dstPlane := tc.rows*(width+1) + 5
			src := make([]float32, (planes-1)*srcPlane+(tc.rows-1)*srcStride+tc.kh*tc.cols)
			for i := range src {
				src[i] = rng.Float32()*2 - 1
			}
			if len(src) > 20 {
				src[len(src)/3] = float32(math.NaN())
			}
			down, across := make([]int32, tc.kh), make([]int32, tc.kw)
			for i := range down {
				down[i] = int32(i * tc.cols)
			}
			for i := range across {
				across[i] = int32(i)
			}
			// A row buffer as long as the windows read, and one with
			// room for whole blocks of 32 past them (the AVX-512 loop's).
			extra := 0
			if tc.rows%2 == 1 {
				extra = 32 * ((width + 15) / 16)
			}
			row := make([]float32, rowLen+extra)
			for i := range row {
				row[i] = inf
			}
			dst := make([]float32, (planes-1)*dstPlane+tc.rows*(width+1))
			const untouched = 12345
			for i := range dst {
				dst[i] = untouched
			}
			p := PoolRows{Src: src, SrcStride: srcStride, Down: down, Row: row, Lead: tc.lead, Cols: tc.cols,
				Dst: dst, DstStride: width + 1, Width: width, Across: across, Stride: tc.stride}
			if planes > 1 {
				p.Planes, p.SrcPlane, p.DstPlane = planes, srcPlane, dstPlane
			}
			MaxPoolRows(&p, tc.rows)
			for i := range planes * tc.rows {
				q, r := i/tc.rows, i%tc.rows
				for j := range width {
					want := math.Inf(-1)
					nan := false
					for kh := range tc.kh {
						for kw := range tc.kw {
							c := j*tc.stride + kw - tc.lead // column of the image, or padding
							if c < 0 || c >= tc.cols {
								continue
							}
							v := float64(src[q*srcPlane+r*srcStride+kh*tc.cols+c])
							nan = nan || v != v
							want = math.Max(want, v)
						}
					}
					got := dst[q*dstPlane+r*(width+1)+j]
					if nan && got == got || !nan && float64(got) != want {
						t.Fatalf("%+v: plane %d row %d column %d = %v, want %v (NaN %v)", tc, q, r, j, got, want, nan)
					}
				}
			}
			for q := range planes {
				for r := range tc.rows {
					for j := range width {
						dst[q*dstPlane+r*(width+1)+j] = untouched
					}
				}
			}
			for i, v := range dst {
				if v != untouched {
					t.Fatalf("%+v: dst[%d] = %v, between the output rows", tc, i, v)
				}
			}
		}
	})
}
