package kernels

// MaxPool's values with a stride of 2 along the width, a group of output
// rows of many planes per call: the stems' 3x3/2 poolings and the
// ceil-mode ones between GoogLeNet's and SqueezeNet's stages.
//
// vec.MaxPoolRows takes, in one loop where the CPU level has one
// (vec.MaxPoolRowsInOneLoop), the output rows whose windows read the
// same rows of the kernel inside the image, of every plane: the maximum
// down those rows into a row buffer whose columns beyond the image's
// hold -Inf (separableMax's rowMax), then across every other column. The
// output rows fall in a few such groups (all the kernel's rows; the rows
// of padding at the top, at the bottom, and the last row of ceil mode),
// so a worker makes a few calls for all its planes, where separableMax
// made one or two per plane and flatMax copied every row.

import (
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// planeRowsPools reports whether maxPool computes p's values by
// planeRowsMax: a stride of 2 along the width, which vec.MaxPoolRows
// takes over many planes in one loop at the CPU level in use.
func (p *PoolParams) planeRowsPools() bool {
	return p.StrideW == 2 && vec.MaxPoolRowsInOneLoop(2)
}

// planeRowsMaxTask is maxPool's loop over the planes by planeRowsMax.
type planeRowsMaxTask struct {
	p    *PoolParams
	x, y []float32
}

var planeRowsMaxTasks parallel.Tasks[planeRowsMaxTask]

// Range pools the planes [lo, hi) a group of output rows at a time.
func (t *planeRowsMaxTask) Range(lo, hi int) {
	p := t.p
	s := p.separableMax()
	defer s.release()
	oh, ow := s.oh, s.ow
	hw, ohw, n := p.H*p.W, oh*ow, hi-lo
	x, y := t.x[lo*hw:hi*hw], t.y[lo*ohw:hi*ohw]
	for oy := 0; oy < oh; {
		khLo, khHi := s.rowsLo[oy], s.rowsHi[oy]
		end := oy + 1
		for end < oh && s.rowsLo[end] == khLo && s.rowsHi[end] == khHi {
			end++
		}
		if khLo == khHi { // windows over padding only
			for pl := range n {
				fill(y[pl*ohw+oy*ow:pl*ohw+end*ow], emptyWindowMax)
			}
			oy = end
			continue
		}
		rows := vec.PoolRows{
			Src: x[(oy*p.StrideH-p.PadTop+int(khLo)*p.DilationH)*p.W:], SrcStride: p.StrideH * p.W,
			Down: s.down[:khHi-khLo], Row: s.rowMax, Lead: p.PadLeft, Cols: p.W,
			Dst: y[oy*ow:], DstStride: ow, Width: ow, Across: s.across, Stride: 2,
			Planes: n, SrcPlane: hw, DstPlane: ohw,
		}
		vec.MaxPoolRows(&rows, end-oy)
		oy = end
	}
	for _, ox := range s.emptyCols {
		for r := range n * oh {
			y[r*ow+int(ox)] = emptyWindowMax
		}
	}
}

// fill sets every element of x to v.
func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}
