package vec

import (
	"fmt"
)

// PoolRows describes output rows of a 2-D max pooling whose windows read
// no row of padding, each computed in two steps: the maximum down the
// windows' rows into a row buffer, then across the windows' columns.
type PoolRows struct {
	// Src holds the input rows; output row r reads the rows that start
	// at r*SrcStride plus each of Down.
	Src       []float32
	SrcStride int
	Down      []int32
	// Row is the buffer of the maxima down the rows: they go to
	// Row[Lead:Lead+Cols], and the values around them (the padding's
	// -Inf) stay as the caller set them.
	Row        []float32
	Lead, Cols int
	// Output row r is Dst[r*DstStride:][:Width]: the maximum of Row's
	// values at each of Across, from 0 (Stride 1) or every other value
	// (Stride 2).
	Dst              []float32
	DstStride, Width int
	Across           []int32
	Stride           int
	// Planes is how many planes of rows there are (0 counts as 1):
	// plane q's rows read Src from q*SrcPlane and go to Dst from
	// q*DstPlane, so that one call pools the rows of many planes.
	Planes             int
	SrcPlane, DstPlane int
}

// MaxPoolRows computes rows output rows of each plane of p: for each,
// MaxRows down the rows, then MaxRows (Stride 1) or MaxStride2 (Stride
// 2) across the columns, with the same results (NaNs and zeros as
// there), the bounds checked once for all the rows rather than at each
// call: a pooling's output rows are too short for per-call checks to be
// cheap.
func MaxPoolRows(p *PoolRows, rows int) {
	planes := max(p.Planes, 1)
	if rows == 0 || p.Width == 0 {
		return
	}
	if p.Stride != 1 && p.Stride != 2 {
		panic(fmt.Sprintf("vec: MaxPoolRows with a stride of %d", p.Stride))
	}
	lastSrc := (planes-1)*p.SrcPlane + (rows-1)*p.SrcStride // the last row's start
	lastDst := (planes-1)*p.DstPlane + (rows-1)*p.DstStride
	if rows < 0 || p.Cols < 1 || p.Lead < 0 || p.Lead+p.Cols > len(p.Row) ||
		p.SrcStride < 0 || p.SrcPlane < 0 || p.DstPlane < 0 || p.DstStride < p.Width ||
		lastSrc > len(p.Src) || lastDst+p.Width > len(p.Dst) {
		panic(fmt.Sprintf("vec: MaxPoolRows of %d planes of %d rows of %d columns from %d at %d and %d apart into %d at %d and %d apart, row buffer %d from %d",
			planes, rows, p.Cols, len(p.Src), p.SrcStride, p.SrcPlane, len(p.Dst), p.DstStride, p.DstPlane, len(p.Row), p.Lead))
	}
	// The offsets and strides are not negative, so the last row's reads
	// bound every row's.
	checkTaps("MaxPoolRows", p.Cols, 1, p.Src[lastSrc:], p.Down)
	checkTaps("MaxPoolRows", p.Width, p.Stride, p.Row, p.Across)
	if maxPoolRowsFast(p, planes, rows) {
		return
	}
	image := p.Row[p.Lead : p.Lead+p.Cols]
	for q := range planes {
		for r := range rows {
			src := p.Src[q*p.SrcPlane+r*p.SrcStride:]
			dst := p.Dst[q*p.DstPlane+r*p.DstStride:][:p.Width]
			if !maxRowsFast(image, src, p.Down) {
				maxTapsGo(image, src, p.Down, 1)
			}
			if p.Stride == 1 {
				if !maxRowsFast(dst, p.Row, p.Across) {
					maxTapsGo(dst, p.Row, p.Across, 1)
				}
			} else if done := maxStride2Fast(dst, p.Row, p.Across); done < len(dst) {
				maxTapsGo(dst[done:], p.Row[2*done:], p.Across, 2)
			}
		}
	}
}

// MaxPoolRowsInOneLoop reports whether MaxPoolRows computes the rows of
// the given stride in one vector loop at the CPU level in use (stride 2
// with AVX2 or AVX-512, given the room in Row its loop needs), rather
// than in calls per row.
func MaxPoolRowsInOneLoop(stride int) bool { return stride == 2 && hasAVX2() }
