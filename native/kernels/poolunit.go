package kernels

// MaxPool's values with strides of 1, straight from the planes: the
// inception branches' 3x3 pooling padded by 1 on planes of 7x7 to 28x28.
//
// The maximum of a window is the maximum across its columns of the
// maxima down them. With a stride of 1 both steps are the same
// unit-stride loop (vec.MaxRows) over whole planes read as one row:
// output row oy's maxima down the window's rows, at oy*W + c of a
// buffer v of OH rows of W, are those of the input rows that start
// (oy - PadTop + kh*DilationH)*W, so every output row whose window
// rows all lie in the image is one stretch of one call, and, when the
// planes keep their height (OH = H), so are those of the next planes;
// the output rows whose windows read rows of padding (PadTop and
// PadBottom of them for 3x3 padded by 1) take a call each with the
// window's rows inside the image. Across, when the planes keep their
// width (OW = W), output (r, ox) is the maximum of v at r*W + ox -
// PadLeft + kw*DilationW, one unit-stride stretch over all the rows of
// all the planes; its values at the columns whose windows read columns
// of padding, which took values of the neighbouring rows, are then
// recomputed from their row's columns inside the image. Nothing is
// copied and no padding is stored: on small planes the copies into
// padded planes and the calls per row cost more than the maxima.

import (
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// unitBatch is about how many elements of v unitMax fills per pass, so
// that the planes' maxima down are still in cache when read across.
const unitBatch = 16384

// unitPools reports whether maxPool computes p's values by unitMax:
// strides of 1 and every window reading some element of the image.
func (p *PoolParams) unitPools() bool {
	if p.StrideH != 1 || p.StrideW != 1 {
		return false
	}
	oh, ow := p.OutSize()
	for oy := range oh {
		if lo, hi := validRange(p.KH, p.H, p.DilationH, oy-p.PadTop); lo == hi {
			return false
		}
	}
	for ox := range ow {
		if lo, hi := validRange(p.KW, p.W, p.DilationW, ox-p.PadLeft); lo == hi {
			return false
		}
	}
	return true
}

// unitMax holds a worker's buffer and offsets for pooling planes of p,
// strides of 1, batch planes at a time.
type unitMax struct {
	p      *PoolParams
	oh, ow int
	batch  int
	v      []float32 // [batch*OH*W]: the maxima down the windows' rows
	down   []int32   // offsets kh*DilationH*W of a window's rows
	across []int32   // offsets kw*DilationW of a window's columns
	// [rowsLo, rowsHi) are the output rows whose windows' rows all
	// lie in the image, [colsLo, colsHi) the output columns whose
	// windows' columns do.
	rowsLo, rowsHi, colsLo, colsHi int
	// edgeCols are the other output columns, edgeFirst the column of
	// v of each one's first tap inside the image and edgeTaps how many
	// of its taps are.
	edgeCols, edgeFirst, edgeTaps []int32
	ints                          []int32
}

var unitMaxes parallel.Tasks[unitMax]

// newUnitMax takes the buffers for pooling up to planes planes of p at
// once; release hands them back.
func (p *PoolParams) newUnitMax(planes int) *unitMax {
	oh, ow := p.OutSize()
	u := unitMaxes.Get()
	*u = unitMax{p: p, oh: oh, ow: ow}
	u.batch = max(1, min(planes, unitBatch/(oh*p.W)))
	u.v = getBuffer(u.batch * oh * p.W)
	u.ints = offsets.get(p.KH + p.KW + 3*ow)
	u.down, u.across = u.ints[:p.KH], u.ints[p.KH:p.KH+p.KW]
	edges := u.ints[p.KH+p.KW:]
	u.edgeCols, u.edgeFirst, u.edgeTaps = edges[:0:ow], edges[ow:ow:2*ow], edges[2*ow:2*ow:3*ow]
	for kh := range u.down {
		u.down[kh] = int32(kh * p.DilationH * p.W)
	}
	for kw := range u.across {
		u.across[kw] = int32(kw * p.DilationW)
	}
	u.rowsLo, u.rowsHi = fullWindows(oh, p.H, p.KH, p.DilationH, p.PadTop)
	u.colsLo, u.colsHi = fullWindows(ow, p.W, p.KW, p.DilationW, p.PadLeft)
	for ox := range ow {
		if ox >= u.colsLo && ox < u.colsHi {
			continue
		}
		lo, hi := validRange(p.KW, p.W, p.DilationW, ox-p.PadLeft)
		u.edgeCols = append(u.edgeCols, int32(ox))
		u.edgeFirst = append(u.edgeFirst, int32(ox-p.PadLeft+lo*p.DilationW))
		u.edgeTaps = append(u.edgeTaps, int32(hi-lo))
	}
	return u
}

// fullWindows returns the interval [lo, hi) of the out windows along an
// axis of in elements, stride 1, whose k taps d apart, the first at
// o - pad, all lie inside (lo = hi when none does).
func fullWindows(out, in, k, d, pad int) (lo, hi int) {
	lo = min(pad, out)
	hi = max(min(in-(k-1)*d+pad, out), lo)
	return lo, hi
}

func (u *unitMax) release() {
	putBuffer(u.v)
	offsets.put(u.ints)
	unitMaxes.Put(u)
}

// planes pools n <= u.batch planes x [n, H*W] into y [n, OH*OW].
func (u *unitMax) planes(x, y []float32, n int) {
	p := u.p
	w, hw, oh, ow := p.W, p.H*p.W, u.oh, u.ow
	vp := oh * w // a plane of v
	v := u.v[:n*vp]

	// Down: the rows whose windows' rows all lie in the image, in one
	// stretch when the planes keep their height, then the others.
	if u.rowsLo < u.rowsHi {
		if oh == p.H {
			vec.MaxRows(v[u.rowsLo*w:(n-1)*vp+u.rowsHi*w], x[(u.rowsLo-p.PadTop)*w:], u.down)
		} else {
			for pl := range n {
				vec.MaxRows(v[pl*vp+u.rowsLo*w:pl*vp+u.rowsHi*w], x[pl*hw+(u.rowsLo-p.PadTop)*w:], u.down)
			}
		}
	}
	for oy := 0; oy < oh; oy++ {
		if oy == u.rowsLo {
			if oy = u.rowsHi; oy == oh {
				break
			}
		}
		lo, hi := validRange(p.KH, p.H, p.DilationH, oy-p.PadTop)
		top := (oy - p.PadTop + lo*p.DilationH) * w
		for pl := range n {
			vec.MaxRows(v[pl*vp+oy*w:][:w], x[pl*hw+top:], u.down[:hi-lo])
		}
	}

	// Across: the columns whose windows' columns all lie in the image,
	// in one stretch when the planes keep their width, then the others.
	rows := n * oh
	if u.colsLo < u.colsHi {
		if ow == w {
			vec.MaxRows(y[u.colsLo:(rows-1)*ow+u.colsHi], v[u.colsLo-p.PadLeft:], u.across)
		} else {
			for r := range rows {
				vec.MaxRows(y[r*ow+u.colsLo:r*ow+u.colsHi], v[r*w+u.colsLo-p.PadLeft:], u.across)
			}
		}
	}
	if len(u.edgeCols) == 0 {
		return
	}
	u.edges(v[:rows*w], y[:rows*ow], rows)
}

// edges stores in y the maxima across of the edge columns of rows rows
// of v, the maxima down, from their taps inside the image: a column at a
// time down the rows, two taps (a 3-wide window padded by 1) without a
// loop over them. The builtin max gives a NaN when either is one.
func (u *unitMax) edges(v, y []float32, rows int) {
	w, ow, d := u.p.W, u.ow, u.p.DilationW
	for e, ox := range u.edgeCols {
		at, taps := int(u.edgeFirst[e]), int(u.edgeTaps[e])
		switch {
		case taps == 1:
			for r := range rows {
				y[r*ow+int(ox)] = v[r*w+at]
			}
		case taps == 2:
			maxPairsDown(y[ox:], ow, v[at:], w, d, rows)
		default:
			for r := range rows {
				taps := v[r*w+at:][:(taps-1)*d+1]
				m := taps[0]
				for t := d; t < len(taps); t += d {
					m = max(m, taps[t])
				}
				y[r*ow+int(ox)] = m
			}
		}
	}
}

// unitMaxTask is maxPool's loop over the planes by unitMax.
type unitMaxTask struct {
	p    *PoolParams
	x, y []float32
}

var unitMaxTasks parallel.Tasks[unitMaxTask]

func (t *unitMaxTask) Range(lo, hi int) {
	p := t.p
	oh, ow := p.OutSize()
	hw, ohw := p.H*p.W, oh*ow
	u := p.newUnitMax(hi - lo)
	defer u.release()
	for pl := lo; pl < hi; pl += u.batch {
		n := min(u.batch, hi-pl)
		u.planes(t.x[pl*hw:(pl+n)*hw], t.y[pl*ohw:(pl+n)*ohw], n)
	}
}

// maxPairsDown stores in y[r*yStride] the maximum of v[r*vStride] and
// v[r*vStride+d] for r < rows: an edge column of a 3-wide window padded
// by 1, down its rows.
func maxPairsDown(y []float32, yStride int, v []float32, vStride, d, rows int) {
	if rows == 0 {
		return
	}
	y, v = y[:(rows-1)*yStride+1], v[:(rows-1)*vStride+d+1]
	for r := range rows {
		y[r*yStride] = max(v[r*vStride], v[r*vStride+d])
	}
}
