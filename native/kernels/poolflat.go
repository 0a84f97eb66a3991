package kernels

// MaxPool's values by whole planes: inference's path for strides of 1
// and 2 on small planes that neither unitMax (unit strides, no window
// over padding only) nor planeRowsMax (a stride of 2 across, from AVX2
// up) takes.
//
// separableMax pools a plane an output row at a time, two vector loops
// per row (down the window's rows, then across its columns), whose calls
// cost more than their work on the small planes of a network's late
// layers. flatMax copies planes into ones padded with -Inf, rows wp
// apart, stacked, and treats them as a single row: the maximum down the
// windows' rows is one vec.MaxRows over every row (offsets
// kh*DilationH*wp), and the maximum across their columns one
// vec.MaxRows (stride 1) or vec.MaxStride2 (stride 2, wp even so that
// every row starts on an even element) over those; the output rows are
// then copied out. It computes rows no window starts on (the padding
// between planes, every other row with a stride of 2), which is why
// large planes stay with separableMax (see flatMaxWidth).

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// flatPools reports whether maxPool computes p's values by flatMax: no
// argmax wanted, strides of at most 2, which the vector loops take along
// a row (a larger vertical stride would waste more than the calls it
// spares), and output rows of at most flatMaxWidth. maxPool asks it
// after unitPools and planeRowsPools: what is left is a stride of 2 at
// the generic level, a stride of 2 down and 1 across, and unit strides
// with windows over padding only.
func (p *PoolParams) flatPools() bool {
	_, ow := p.OutSize()
	return p.StrideW <= 2 && p.StrideH <= 2 && ow <= flatMaxWidth
}

// Past output rows of flatMaxWidth, a row's loops outweigh their calls
// and flatMax's extra work costs more than it spares. Speed-up of
// flatMax over separableMax, CPU time on one thread (best of 10
// interleaved rounds on a loaded machine), at batch 1: ResNet's 3x3/2 on
// 64 planes of 112x112 0.66x; SqueezeNet's 3x3/2 in ceil mode on 64 of
// 111x111 0.93x, 128 of 55x55 0.99x, 256 of 27x27 1.28x; GoogLeNet's
// 3x3/1 padded on 192 of 28x28 1.47x, 480 of 14x14 1.98x, 832 of 7x7
// 2.19x. flatBatch is about how many elements of padded planes flatMax
// stacks for one pass of the loops.
const (
	flatMaxWidth = 32
	flatBatch    = 8192
)

// flatMax holds a worker's buffers and offsets for pooling planes of p
// as one row each, batch planes at a time.
type flatMax struct {
	p      *PoolParams
	oh, ow int
	// hp x wp is a padded plane, the rows and columns the windows
	// read, image element (iy, ix) at (PadTop+iy, PadLeft+ix), -Inf
	// elsewhere; wp is even with a stride of 2 along the width. batch
	// of them are stacked in padded.
	hp, wp, batch int
	padded, down  []float32 // [batch*hp*wp], the maxima down the windows' rows
	acrossMax     []float32 // the maxima across the windows' columns
	downOff       []int32   // offsets of a window's rows in padded
	acrossOff     []int32   // offsets of a window's columns in down
	floats        []float32
	ints          []int32
	// emptyRows and emptyCols are the output rows and columns whose
	// windows read no row or column of the image.
	emptyRows, emptyCols []int32
}

var flatMaxes parallel.Tasks[flatMax]

// newFlatMax takes the buffers for pooling up to planes planes of p at
// once and fills the padding of the padded planes, which stays as the
// planes' elements are copied in; release hands them back.
func (p *PoolParams) newFlatMax(planes int) *flatMax {
	oh, ow := p.OutSize()
	f := flatMaxes.Get()
	*f = flatMax{p: p, oh: oh, ow: ow}
	f.hp = (oh-1)*p.StrideH + (p.KH-1)*p.DilationH + 1
	f.wp = (ow-1)*p.StrideW + (p.KW-1)*p.DilationW + 1
	if p.StrideW == 2 && f.wp%2 == 1 {
		f.wp++
	}
	f.batch = max(1, min(planes, flatBatch/(f.hp*f.wp)))
	n := f.batch * f.hp * f.wp
	// Rows past the last a window of the last plane starts on are not
	// computed, so that the loops read inside padded and down.
	downLen := n - (p.KH-1)*p.DilationH*f.wp
	reach := (p.KW - 1) * p.DilationW // of a window's columns past its first
	acrossLen := downLen - reach
	if p.StrideW == 2 {
		// MaxStride2's j-th output reads down[2j + offset].
		acrossLen = (downLen - reach + 1) / 2
	}
	f.floats = getBuffer(n + downLen + acrossLen)
	f.padded = f.floats[:n]
	f.down = f.floats[n:][:downLen]
	f.acrossMax = f.floats[n+downLen:][:acrossLen]
	f.ints = offsets.get(p.KH + p.KW + oh + ow)
	f.downOff, f.acrossOff = f.ints[:p.KH], f.ints[p.KH:p.KH+p.KW]
	f.emptyRows, f.emptyCols = f.ints[p.KH+p.KW:][:0:oh], f.ints[p.KH+p.KW+oh:][:0:ow]
	for kh := range f.downOff {
		f.downOff[kh] = int32(kh * p.DilationH * f.wp)
	}
	for kw := range f.acrossOff {
		f.acrossOff[kw] = int32(kw * p.DilationW)
	}
	for oy := range oh {
		if lo, hi := validRange(p.KH, p.H, p.DilationH, oy*p.StrideH-p.PadTop); lo == hi {
			f.emptyRows = append(f.emptyRows, int32(oy))
		}
	}
	for ox := range ow {
		if lo, hi := validRange(p.KW, p.W, p.DilationW, ox*p.StrideW-p.PadLeft); lo == hi {
			f.emptyCols = append(f.emptyCols, int32(ox))
		}
	}
	inf := float32(math.Inf(-1))
	for i := range f.padded {
		f.padded[i] = inf
	}
	return f
}

func (f *flatMax) release() {
	putBuffer(f.floats)
	offsets.put(f.ints)
	flatMaxes.Put(f)
}

// planes pools up to f.batch planes x [planes, H*W] into y [planes,
// OH*OW].
func (f *flatMax) planes(x, y []float32, planes int) {
	p := f.p
	hw, ohw, size := p.H*p.W, f.oh*f.ow, f.hp*f.wp
	cols := min(p.W, f.wp-p.PadLeft) // the image columns the windows read
	for pl := range planes {
		plane, padded := x[pl*hw:(pl+1)*hw], f.padded[pl*size:(pl+1)*size]
		for iy := 0; cols > 0 && iy < p.H && iy+p.PadTop < f.hp; iy++ {
			copy(padded[(iy+p.PadTop)*f.wp+p.PadLeft:][:cols], plane[iy*p.W:][:cols])
		}
	}
	// The loops cover the planes' rows up to the last window of the
	// last plane.
	downLen := (planes-1)*size + ((f.oh-1)*p.StrideH+1)*f.wp
	vec.MaxRows(f.down[:downLen], f.padded, f.downOff)
	rowStart, planeStart := p.StrideH*f.wp, size // in acrossMax
	if p.StrideW == 1 {
		vec.MaxRows(f.acrossMax[:downLen-(p.KW-1)*p.DilationW], f.down, f.acrossOff)
	} else {
		vec.MaxStride2(f.acrossMax[:(downLen-(p.KW-1)*p.DilationW+1)/2], f.down, f.acrossOff)
		rowStart, planeStart = rowStart/2, planeStart/2
	}
	for pl := range planes {
		yp := y[pl*ohw : (pl+1)*ohw]
		for oy := range f.oh {
			copy(yp[oy*f.ow:(oy+1)*f.ow], f.acrossMax[pl*planeStart+oy*rowStart:][:f.ow])
		}
		for _, oy := range f.emptyRows {
			row := yp[int(oy)*f.ow:][:f.ow]
			for ox := range row {
				row[ox] = emptyWindowMax
			}
		}
		for _, ox := range f.emptyCols {
			for oy := range f.oh {
				yp[oy*f.ow+int(ox)] = emptyWindowMax
			}
		}
	}
}

// flatMaxTask is maxPool's loop over the planes by flatMax.
type flatMaxTask struct {
	p    *PoolParams
	x, y []float32
}

var flatMaxTasks parallel.Tasks[flatMaxTask]

func (t *flatMaxTask) Range(lo, hi int) {
	p := t.p
	oh, ow := p.OutSize()
	hw, ohw := p.H*p.W, oh*ow
	f := p.newFlatMax(hi - lo)
	defer f.release()
	for pl := lo; pl < hi; pl += f.batch {
		n := min(f.batch, hi-pl)
		f.planes(t.x[pl*hw:(pl+n)*hw], t.y[pl*ohw:(pl+n)*ohw], n)
	}
}
