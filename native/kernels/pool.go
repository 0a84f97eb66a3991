package kernels

// Pooling: MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool (2-D).
//
// Shapes (row-major):
//
//	x      [N, C, H, W]
//	y      [N, C, OH, OW]   OH, OW = p.OutSize()
//	argmax [N, C, OH, OW]   MaxPool: flat index into x of each maximum
//	global pools: x [N, C, S] with S the product of the spatial sizes,
//	              y and argmax [N, C]
//
// A window at output (oy, ox) reads the taps
// (oy*StrideH - PadTop + kh*DilationH, ox*StrideW - PadLeft + kw*DilationW);
// taps in the padding are skipped by MaxPool (as if -inf) and by
// AveragePool, which divides by the number of taps inside the image, or,
// with CountIncludePad, by the number inside the padded image.
// argmax holds the index ((n*C + c)*H + h)*W + w, ONNX's Indices output
// with storage_order 0; among equal values the first in scan order wins
// (of zeros of both signs, the first is the argmax and either the value).
// A NaN in a window makes its maximum a NaN, and its argmax the first NaN
// (ONNX leaves this open; PyTorch and NumPy propagate NaN too).
//
// A window may cover padding only (pads as large as the kernel, or
// dilated taps that straddle a narrow input). ONNX leaves its value open;
// as ONNX Runtime does, MaxPool gives the lowest float32 (-MaxFloat32),
// with the argmax -1 (no element: backward adds nothing; ONNX Runtime's
// index there points at no element of the window either), and
// AveragePool 0.

import (
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// PoolParams holds the resolved attributes and dimensions of MaxPool and
// AveragePool over the two spatial axes.
type PoolParams struct {
	N, C, H, W                           int // input batch, channels, height, width
	KH, KW                               int // kernel_shape
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	DilationH, DilationW                 int
	CeilMode                             bool // ceil_mode: round the window count up
	CountIncludePad                      bool // AveragePool count_include_pad
}

// OutSize returns the output height and width. With CeilMode the window
// count rounds up, but a last window that would start in the bottom or
// right padding is dropped (ONNX spec; PyTorch and ONNX Runtime agree).
func (p *PoolParams) OutSize() (oh, ow int) {
	oh = windowCount(p.H, p.KH, p.StrideH, p.PadTop, p.PadBottom, p.DilationH, p.CeilMode)
	ow = windowCount(p.W, p.KW, p.StrideW, p.PadLeft, p.PadRight, p.DilationW, p.CeilMode)
	return oh, ow
}

// Validate reports the first attribute or dimension the kernels cannot run
// with, as a *ParamError. Windows that cover padding only are allowed:
// see the package comment of pooling for what they produce.
func (p *PoolParams) Validate() error {
	const op = "Pool"
	if err := checkPositive(op, []string{"N", "C", "H", "W", "KH", "KW",
		"StrideH", "StrideW", "DilationH", "DilationW"},
		p.N, p.C, p.H, p.W, p.KH, p.KW, p.StrideH, p.StrideW,
		p.DilationH, p.DilationW); err != nil {
		return err
	}
	if err := checkNonNegative(op, []string{"PadTop", "PadLeft", "PadBottom", "PadRight"},
		p.PadTop, p.PadLeft, p.PadBottom, p.PadRight); err != nil {
		return err
	}
	if err := checkElems(op, "N, C, H, W", p.N, p.C, p.H, p.W); err != nil {
		return err
	}
	if err := checkElems(op, "KH, DilationH", p.KH, p.DilationH); err != nil {
		return err
	}
	if err := checkElems(op, "KW, DilationW", p.KW, p.DilationW); err != nil {
		return err
	}
	oh, ow := p.OutSize()
	if oh < 1 || ow < 1 {
		return paramErr(op, "KH, KW", "dilated kernel %dx%d larger than padded input %dx%d",
			p.DilationH*(p.KH-1)+1, p.DilationW*(p.KW-1)+1,
			p.H+p.PadTop+p.PadBottom, p.W+p.PadLeft+p.PadRight)
	}
	return checkElems(op, "N, C, OH, OW", p.N, p.C, oh, ow)
}

// tapCounts returns, for the window at output position o along one axis,
// with dilation d, how many taps fall inside the input and how many inside
// the input padded by padBegin and padEnd.
func tapCounts(o, in, k, stride, d, padBegin, padEnd int) (inside, padded int) {
	for t := 0; t < k; t++ {
		i := o*stride - padBegin + t*d
		if i >= 0 && i < in {
			inside++
		}
		if i >= -padBegin && i < in+padEnd {
			padded++
		}
	}
	return inside, padded
}

// MaxPoolForward computes y and the argmax of every window. Planes
// (n, c) are spread over the workers.
func MaxPoolForward(p *PoolParams, x, y []float32, argmax []int64) {
	oh, ow := p.OutSize()
	need("MaxPool", "argmax", argmax, p.N*p.C*oh*ow)
	maxPool(p, x, y, argmax)
}

// MaxPoolValues computes y as MaxPoolForward does, without the argmax:
// inference, where neither backward nor the Indices output needs it.
func MaxPoolValues(p *PoolParams, x, y []float32) { maxPool(p, x, y, nil) }

// maxPool is MaxPoolForward, recording the argmax unless argmax is nil.
func maxPool(p *PoolParams, x, y []float32, argmax []int64) {
	const op = "MaxPool"
	oh, ow := p.OutSize()
	planes, hw, ohw := p.N*p.C, p.H*p.W, oh*ow
	need(op, "x", x, planes*hw)
	need(op, "y", y, planes*ohw)
	// a vector of 8 columns per window row, and of 8 outputs per column
	cost := oh * (p.KH*p.W + p.KW*ow) / 8
	if argmax == nil && p.unitPools() {
		// The two passes over a plane, and its edge columns one at a
		// time: 832x7x7 took 50us of CPU time, what this counts at
		// grainElems' 0.6ns per operation, and 256x28x28 87us, half of
		// what it counts.
		t := unitMaxTasks.Get()
		*t = unitMaxTask{p: p, x: x, y: y}
		parallel.Run(planes, grainFor(oh*(p.W+ow)/2+8*oh), t)
		unitMaxTasks.Put(t)
		return
	}
	if argmax == nil && p.planeRowsPools() {
		// The loop's work on a row, and its steps from row to row, which
		// outweigh it on short rows: 832x14x14 by 2x2/2 took 75us of
		// CPU time, where the work alone counts a quarter of it.
		t := planeRowsMaxTasks.Get()
		*t = planeRowsMaxTask{p: p, x: x, y: y}
		parallel.Run(planes, grainFor(cost+16*oh), t)
		planeRowsMaxTasks.Put(t)
		return
	}
	if argmax == nil && p.flatPools() {
		t := flatMaxTasks.Get()
		*t = flatMaxTask{p: p, x: x, y: y}
		parallel.Run(planes, grainFor(cost), t)
		flatMaxTasks.Put(t)
		return
	}
	t := maxPoolTasks.Get()
	*t = maxPoolTask{p: p, x: x, y: y, argmax: argmax}
	parallel.Run(planes, grainFor(cost), t)
	maxPoolTasks.Put(t)
}

// maxPoolTask is maxPool's loop over the planes.
type maxPoolTask struct {
	p      *PoolParams
	x, y   []float32
	argmax []int64
}

var maxPoolTasks parallel.Tasks[maxPoolTask]

func (t *maxPoolTask) Range(lo, hi int) {
	p := t.p
	oh, ow := p.OutSize()
	hw, ohw := p.H*p.W, oh*ow
	sep := p.separableMax()
	defer sep.release()
	for pl := lo; pl < hi; pl++ {
		var arg []int64
		if t.argmax != nil {
			arg = t.argmax[pl*ohw : (pl+1)*ohw]
		}
		sep.plane(t.x[pl*hw:(pl+1)*hw], pl*hw, t.y[pl*ohw:(pl+1)*ohw], arg)
	}
}

// emptyWindowMax is the maximum of a window that covers padding only:
// the lowest float32, as ONNX Runtime gives (ONNX leaves it open).
const emptyWindowMax = -math.MaxFloat32

// findMaxima stores in arg the index, base plus its offset in plane, of
// the first tap of each of a run of windows sW apart along a row, the
// first starting at offset top of plane, that holds the window's maximum
// y (a NaN when y is one): the first maximum in scan order, found once
// the maxima are known, which takes a fraction of the comparisons that
// keeping it along the way does. The windows lie inside the image. The
// taps are visited last to first, each that holds the maximum replacing
// the index found, without a branch to mispredict: equality is that of
// the bits once zeros are made positive (v + 0). taps holds the taps'
// offsets from a window's first, in scan order.
func (p *PoolParams) findMaxima(plane []float32, base, top int, y []float32, arg []int64, taps []int32) {
	last := int(taps[len(taps)-1])
	for i, m := range y {
		start := top + i*p.StrideW
		window := plane[start : start+last+1]
		var at uint32
		if m != m { // the first NaN
			for i := len(taps) - 1; i >= 0; i-- {
				if v := window[taps[i]]; v != v {
					at = uint32(taps[i])
				}
			}
		} else {
			want := math.Float32bits(m + 0)
			for i := len(taps) - 1; i >= 0; i-- {
				d := math.Float32bits(window[taps[i]]+0) ^ want
				equal := (d|-d)>>31 - 1 // all ones when d is 0
				at = at&^equal | uint32(taps[i])&equal
			}
		}
		arg[i] = int64(base + start + int(at))
	}
}

// firstMax returns the offset in plane of the first tap, in scan order,
// of the window at output (oy, ox) that lies inside the image and holds
// m (the first NaN when m is one), or -1 when none does: the argmax of a
// window that reads padding, given its maximum.
func (p *PoolParams) firstMax(plane []float32, oy, ox int, m float32) int {
	iy, ix := oy*p.StrideH-p.PadTop, ox*p.StrideW-p.PadLeft
	khLo, khHi := validRange(p.KH, p.H, p.DilationH, iy)
	kwLo, kwHi := validRange(p.KW, p.W, p.DilationW, ix)
	nan := m != m
	for kh := khLo; kh < khHi; kh++ {
		row := (iy+kh*p.DilationH)*p.W + ix
		for kw := kwLo; kw < kwHi; kw++ {
			at := row + kw*p.DilationW
			if v := plane[at]; v == m || nan && v != v {
				return at
			}
		}
	}
	return -1
}

// separableMax computes MaxPool plane by plane: the maximum of a window
// is the maximum over its columns of the maxima down them, so each
// output row takes the maximum of its window's rows inside the image
// (vec.MaxRows, a vector per eight columns) into rowMax, whose columns
// beyond the image's hold -Inf (the padding, and the columns a last
// window of ceil mode reaches past it), then that of rowMax's values at
// each window's columns: rows of rowMax too with a stride of 1 along the
// width, every other value (vec.MaxStride2) with a stride of 2. With a
// larger stride, rowMax is first dealt into phases of every stride-th
// value, whose rows the columns are. A window that covers padding only
// gets emptyWindowMax. The taps are those of the windows, in another
// order than a scan's, with -Inf for padding, which changes no maximum
// (a NaN stays a NaN).
type separableMax struct {
	p              *PoolParams
	oh, ow         int
	span           int       // the columns of the padded rows the windows read
	rowMax, phases []float32 // [max(span+1, PadLeft+W)]: image column ix at PadLeft+ix; [stride*phaseLen] for a stride above 2
	phaseLen       int
	down, across   []int32   // offsets of the rows of a window in the plane, and of its columns in rowMax or phases
	taps           []int32   // offsets of a window's taps in the plane, in scan order
	found          []int32   // [OW]: where the maxima of an output row lie, with a stride of 2
	floats         []float32 // the buffer rowMax and phases are carved from
	ints           []int32   // the buffer the offsets and bounds are carved from
	// inLo, inHi bound the output columns whose windows read no
	// column of padding.
	inLo, inHi int
	// rowsLo, rowsHi [OH]: the rows of the windows of each output row
	// that lie inside the image, [rowsLo, rowsHi) of the kernel's.
	rowsLo, rowsHi []int32
	emptyCols      []int32 // the output columns whose windows read no column of the image
}

// separableMax takes the buffers and offsets for pooling planes of p,
// one of float32 and one of int32 carved into its slices (the free lists
// keep a few buffers: two workers' worth of each); release hands them
// back.
func (p *PoolParams) separableMax() *separableMax {
	oh, ow := p.OutSize()
	sw := p.StrideW
	s := separableMaxes.Get()
	*s = separableMax{p: p, oh: oh, ow: ow, span: (ow-1)*sw + (p.KW-1)*p.DilationW + 1}
	// One more than the span: vec.MaxStride2 reads the odd value after
	// the last even one, and with it there computes its last 8 outputs
	// in assembly too.
	rowLen := max(s.span+1, p.PadLeft+p.W)
	if sw == 2 {
		// vec.MaxPoolRows's AVX-512 loop reads whole blocks of 32 values
		// past each offset of a window's columns (the values beyond the
		// windows' are -Inf, and change no output it stores).
		rowLen = max(rowLen, (p.KW-1)*p.DilationW+32*ceilDiv(ow, 16))
	}
	if sw > 2 {
		s.phaseLen = ceilDiv(s.span, sw)
	}
	s.floats = getBuffer(rowLen + sw*s.phaseLen)
	s.rowMax, s.phases = s.floats[:rowLen:rowLen], s.floats[rowLen:]
	for i := range s.rowMax {
		if i < p.PadLeft || i >= p.PadLeft+p.W {
			s.rowMax[i] = float32(math.Inf(-1))
		}
	}
	s.ints = offsets.get(p.KH + p.KW + p.KH*p.KW + 2*ow + 2*oh)
	rest := s.ints
	carve := func(n int) []int32 {
		b := rest[:n:n]
		rest = rest[n:]
		return b
	}
	s.down, s.across, s.taps, s.found = carve(p.KH), carve(p.KW), carve(p.KH*p.KW), carve(ow)
	s.rowsLo, s.rowsHi, s.emptyCols = carve(oh), carve(oh), carve(ow)[:0]
	for kh := range s.down {
		s.down[kh] = int32(kh * p.DilationH * p.W)
		for kw := 0; kw < p.KW; kw++ {
			s.taps[kh*p.KW+kw] = s.down[kh] + int32(kw*p.DilationW)
		}
	}
	for kw := range s.across {
		at := kw * p.DilationW
		s.across[kw] = int32(at)
		if sw > 2 {
			s.across[kw] = int32(at%sw*s.phaseLen + at/sw)
		}
	}
	// Window ox reads the columns ox*sw - PadLeft + [0, extent).
	s.inLo = min(ceilDiv(p.PadLeft, sw), ow)
	s.inHi = s.inLo
	if last := p.W - (p.KW-1)*p.DilationW - 1 + p.PadLeft; last >= 0 {
		s.inHi = max(min(last/sw+1, ow), s.inLo)
	}
	for oy := range oh {
		lo, hi := validRange(p.KH, p.H, p.DilationH, oy*p.StrideH-p.PadTop)
		s.rowsLo[oy], s.rowsHi[oy] = int32(lo), int32(hi)
	}
	for ox := range ow {
		if ox < s.inLo || ox >= s.inHi {
			if lo, hi := validRange(p.KW, p.W, p.DilationW, ox*sw-p.PadLeft); lo == hi {
				s.emptyCols = append(s.emptyCols, int32(ox))
			}
		}
	}
	return s
}

func (s *separableMax) release() {
	putBuffer(s.floats)
	offsets.put(s.ints)
	separableMaxes.Put(s)
}

// separableMaxes are the free separableMax values.
var separableMaxes parallel.Tasks[separableMax]

// plane pools one plane into y [OH*OW] and, unless arg is nil, stores
// the argmax of each window in arg, base plus the offset in plane, a row
// at a time while its input rows are in cache (borders, argmaxInside).
func (s *separableMax) plane(plane []float32, base int, y []float32, arg []int64) {
	p, ow := s.p, s.ow
	if arg == nil && p.StrideW <= 2 {
		// The rows whose windows read no row of padding, in one call.
		for oy := 0; oy < s.oh; {
			end := oy
			for end < s.oh && s.rowsLo[end] == 0 && int(s.rowsHi[end]) == p.KH {
				end++
			}
			if end == oy {
				s.row(oy, plane, base, y, nil)
				oy++
				continue
			}
			rows := vec.PoolRows{
				Src: plane[(oy*p.StrideH-p.PadTop)*p.W:], SrcStride: p.StrideH * p.W, Down: s.down,
				Row: s.rowMax, Lead: p.PadLeft, Cols: p.W,
				Dst: y[oy*ow:], DstStride: ow, Width: ow, Across: s.across, Stride: p.StrideW,
			}
			vec.MaxPoolRows(&rows, end-oy)
			for ; oy < end; oy++ {
				for _, ox := range s.emptyCols {
					y[oy*ow+int(ox)] = emptyWindowMax
				}
			}
		}
		return
	}
	for oy := 0; oy < s.oh; oy++ {
		s.row(oy, plane, base, y, arg)
	}
}

// row pools output row oy of plane into y [OH*OW] and, unless arg is
// nil, stores the argmax of each of its windows in arg.
func (s *separableMax) row(oy int, plane []float32, base int, y []float32, arg []int64) {
	p, ow := s.p, s.ow
	sw := p.StrideW
	image := s.rowMax[p.PadLeft : p.PadLeft+p.W]
	yrow := y[oy*ow : (oy+1)*ow]
	var argRow []int64
	if arg != nil {
		argRow = arg[oy*ow : (oy+1)*ow]
	}
	iy := oy*p.StrideH - p.PadTop
	khLo, khHi := int(s.rowsLo[oy]), int(s.rowsHi[oy])
	if khLo == khHi { // every window of the row covers padding only
		for ox := range yrow {
			yrow[ox] = emptyWindowMax
		}
		for ox := range argRow {
			argRow[ox] = -1
		}
		return
	}
	vec.MaxRows(image, plane[(iy+khLo*p.DilationH)*p.W:], s.down[:khHi-khLo])
	switch sw {
	case 1:
		vec.MaxRows(yrow, s.rowMax, s.across)
	case 2:
		vec.MaxStride2(yrow, s.rowMax, s.across)
	default:
		for r := 0; r < sw; r++ {
			phase := s.phases[r*s.phaseLen : (r+1)*s.phaseLen]
			for j, i := 0, r; i < s.span; i, j = i+sw, j+1 {
				phase[j] = s.rowMax[i]
			}
		}
		vec.MaxRows(yrow, s.phases, s.across)
	}
	if arg == nil {
		for _, ox := range s.emptyCols {
			yrow[ox] = emptyWindowMax
		}
		return
	}
	rowsInside := khLo == 0 && khHi == p.KH
	s.borders(oy, rowsInside, plane, base, yrow, argRow)
	if rowsInside {
		s.argmaxInside(oy, plane, base, yrow, argRow)
	}
}

// borders stores in arg the argmax, by firstMax, of each window of
// output row oy that reads padding: all of them unless rowsInside (its
// windows read no row of padding), else those outside the columns
// [inLo, inHi) that argmaxInside covers. A window covering padding only
// gets emptyWindowMax and the argmax -1.
func (s *separableMax) borders(oy int, rowsInside bool, plane []float32, base int, y []float32, arg []int64) {
	for ox := 0; ox < len(y); ox++ {
		if rowsInside && ox == s.inLo {
			if ox = s.inHi; ox == len(y) {
				break
			}
		}
		arg[ox] = -1
		if at := s.p.firstMax(plane, oy, ox, y[ox]); at >= 0 {
			arg[ox] = int64(base + at)
		} else {
			y[ox] = emptyWindowMax
		}
	}
}

// argmaxInside stores in arg the argmax of the windows of output row oy
// that lie inside the image, the columns [inLo, inHi) of a row whose
// windows read no row of padding: with a stride of 2 along the width by
// vec.FirstEqualStride2, else by findMaxima.
func (s *separableMax) argmaxInside(oy int, plane []float32, base int, y []float32, arg []int64) {
	p, lo, hi := s.p, s.inLo, s.inHi
	if lo >= hi {
		return
	}
	top := (oy*p.StrideH-p.PadTop)*p.W + lo*p.StrideW - p.PadLeft
	if p.StrideW == 2 {
		idx := s.found[:hi-lo]
		vec.FirstEqualStride2(idx, y[lo:hi], plane[top:], s.taps)
		for i, at := range idx {
			arg[lo+i] = int64(base + top + int(at))
		}
		return
	}
	p.findMaxima(plane, base, top, y[lo:hi], arg[lo:hi], s.taps)
}

// MaxPoolBackward accumulates dy into dx at the positions recorded in
// argmax by MaxPoolForward.
func MaxPoolBackward(p *PoolParams, argmax []int64, dy, dx []float32) {
	const op = "MaxPool"
	oh, ow := p.OutSize()
	planes, ohw := p.N*p.C, oh*ow
	need(op, "argmax", argmax, planes*ohw)
	need(op, "dy", dy, planes*ohw)
	need(op, "dx", dx, planes*p.H*p.W)
	// Each plane's maxima lie in the same plane of dx, so planes are disjoint.
	parallel.For(planes, grainFor(ohw), func(lo, hi int) {
		for o := lo * ohw; o < hi*ohw; o++ {
			if at := argmax[o]; at >= 0 { // -1: a window over padding only
				dx[at] += dy[o]
			}
		}
	})
}

// poolDivisors returns, per output position along each axis, the number of
// taps AveragePool divides by; the 2-D divisor is their product.
func (p *PoolParams) poolDivisors() (dh, dw []float32) {
	oh, ow := p.OutSize()
	axis := func(out, in, k, s, b, d, e int) []float32 {
		div := make([]float32, out)
		for o := range div {
			inside, padded := tapCounts(o, in, k, s, d, b, e)
			if p.CountIncludePad {
				div[o] = float32(padded)
			} else {
				div[o] = float32(inside)
			}
		}
		return div
	}
	dh = axis(oh, p.H, p.KH, p.StrideH, p.PadTop, p.DilationH, p.PadBottom)
	dw = axis(ow, p.W, p.KW, p.StrideW, p.PadLeft, p.DilationW, p.PadRight)
	return dh, dw
}

// average returns sum/count, or 0 for a window over padding only, whose
// count of taps inside the image is 0 (ONNX Runtime's value).
func average(sum, count float32) float32 {
	if count == 0 {
		return 0
	}
	return sum / count
}

// AveragePoolForward computes y, the mean of each window. Planes are
// spread over the workers.
func AveragePoolForward(p *PoolParams, x, y []float32) {
	const op = "AveragePool"
	oh, ow := p.OutSize()
	planes, hw, ohw := p.N*p.C, p.H*p.W, oh*ow
	need(op, "x", x, planes*hw)
	need(op, "y", y, planes*ohw)
	divH, divW := p.poolDivisors()
	// Every window of a row has the same divisor unless the padding
	// takes taps from some (CountIncludePad off): then the row is
	// divided by it in a vector loop, bitwise as one at a time.
	uniformW := !slices.ContainsFunc(divW, func(d float32) bool { return d != divW[0] })
	// the plane's copy, and a vector of 8 outputs per tap
	cost := hw + ohw*p.KH*p.KW/8
	if p.halvesSum() {
		parallel.For(planes, grainFor(cost), func(lo, hi int) {
			h := p.newHalvesSums(hi - lo)
			defer h.release()
			for pl := lo; pl < hi; pl += h.batch {
				n := min(h.batch, hi-pl)
				h.planes(x[pl*hw:(pl+n)*hw], y[pl*ohw:(pl+n)*ohw], n, divH[0]*divW[0])
			}
		})
		return
	}
	// One division of the whole plane when every window has the same
	// divisor.
	uniform := uniformW && !slices.ContainsFunc(divH, func(d float32) bool { return d != divH[0] }) && divH[0]*divW[0] != 0
	parallel.For(planes, grainFor(cost), func(lo, hi int) {
		a := p.windowSums()
		defer a.release()
		for pl := lo; pl < hi; pl++ {
			a.load(x[pl*hw : (pl+1)*hw])
			yp := y[pl*ohw : (pl+1)*ohw]
			a.plane(yp)
			if uniform {
				vec.BinaryScalar(vec.OpDiv, yp, yp, divH[0]*divW[0])
				continue
			}
			for oy := range oh {
				yrow := yp[oy*ow : (oy+1)*ow]
				if d := divH[oy] * divW[0]; uniformW && d != 0 {
					vec.BinaryScalar(vec.OpDiv, yrow, yrow, d)
					continue
				}
				for ox, sum := range yrow {
					yrow[ox] = average(sum, divH[oy]*divW[ox])
				}
			}
		}
	})
}

// halvesSum reports whether AveragePool's windows can be summed a plane
// at a time by halvesSums: a stride of 2 along an even width, no
// padding, and every window inside the image, so that every divisor is
// the kernel's size.
func (p *PoolParams) halvesSum() bool {
	oh, ow := p.OutSize()
	return p.StrideW == 2 && p.W%2 == 0 && p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0 &&
		(oh-1)*p.StrideH+(p.KH-1)*p.DilationH < p.H && (ow-1)*2+(p.KW-1)*p.DilationW < p.W
}

// halvesSums sums AveragePool's windows a batch of planes at a time,
// in three vector calls, where halvesSum allows: the planes are dealt
// into their even and odd columns (one vec.Deinterleave of them all:
// with an even width every row starts on an even element), which makes
// the taps of all windows unit-stride runs of the halves at fixed
// offsets, output (oy, ox) of a plane at oy*StrideH*W/2 + ox of its
// halves; one vec.WeightedTapsRows sums them for every output row
// (of every plane, when the planes' rows are StrideH to an output row,
// else a call per plane), and one vector division divides them all.
// The taps are summed in kernel order with weights of 1, as windowSums
// sums them: the sums are bitwise the same.
type halvesSums struct {
	p                   *PoolParams
	oh, ow, half, batch int
	halves              []float32 // [2*batch*H*half]: the even columns of the planes, then the odd ones
	taps                []int32   // offsets of a window's taps in halves, in kernel order
	ones, floats        []float32 // the taps' weights; the buffer halves and ones are carved from
}

// halvesBatch is about how many elements of input planes halvesSums
// deals into halves per pass.
const halvesBatch = 16384

// newHalvesSums takes the buffers for summing up to planes planes of p
// at once; release hands them back.
func (p *PoolParams) newHalvesSums(planes int) *halvesSums {
	oh, ow := p.OutSize()
	hw := p.H * p.W
	h := &halvesSums{p: p, oh: oh, ow: ow, half: p.W / 2, batch: max(1, min(planes, halvesBatch/hw))}
	n := h.batch * hw
	h.floats = getBuffer(n + p.KH*p.KW)
	h.halves, h.ones = h.floats[:n:n], h.floats[n:]
	h.taps = offsets.get(p.KH * p.KW)
	for kh := range p.KH {
		for kw := range p.KW {
			at := kw * p.DilationW // the column from the window's first
			h.taps[kh*p.KW+kw] = int32(at%2*n/2 + kh*p.DilationH*h.half + at/2)
			h.ones[kh*p.KW+kw] = 1
		}
	}
	return h
}

func (h *halvesSums) release() {
	putBuffer(h.floats)
	offsets.put(h.taps)
}

// planes stores in y [n, OH*OW] the windows' sums of the n planes x [n,
// H*W] divided by div.
func (h *halvesSums) planes(x, y []float32, n int, div float32) {
	p := h.p
	hw, ohw, odd := p.H*p.W, h.oh*h.ow, len(h.halves)/2
	vec.Deinterleave(h.halves[:n*hw/2], h.halves[odd:odd+n*hw/2], x[:n*hw])
	rowStride := p.StrideH * h.half
	if p.H == h.oh*p.StrideH {
		vec.WeightedTapsRows(y, h.ow, h.ow, n*h.oh, h.halves, rowStride, h.taps, h.ones, 0, false, false)
	} else {
		for pl := range n {
			vec.WeightedTapsRows(y[pl*ohw:], h.ow, h.ow, h.oh, h.halves[pl*hw/2:], rowStride, h.taps, h.ones, 0, false, false)
		}
	}
	vec.BinaryScalar(vec.OpDiv, y[:n*ohw], y[:n*ohw], div)
}

// windowSums sums AveragePool's windows with vec.WeightedTaps, weights
// of 1: a plane is copied into a buffer padded with zeros, each row's
// columns dealt into StrideW phases of every StrideW-th column, so that
// the taps of an output row's windows are unit-stride rows of the buffer;
// the sum of a window runs over its taps in kernel order, as the direct
// loop's does. The padding's zeros change no sum (a running sum that
// starts from +0 is never -0), and a product by 1 is exact, fused or not,
// so every sum is bitwise the direct loop's.
type windowSums struct {
	p                   *PoolParams
	phaseLen, rowStride int       // the elements of a phase of a padded row, and of a padded row (StrideW phases)
	padded              []float32 // the padded rows the windows read, zero outside the image
	taps                []int32   // offsets of a window's taps from its output row's first padded row, in kernel order
	ones                []float32 // the taps' weights
	floats              []float32 // the buffer padded and ones are carved from
}

// windowSums takes the buffers for summing planes of p, one of float32
// carved in two; release hands them back.
func (p *PoolParams) windowSums() *windowSums {
	oh, ow := p.OutSize()
	sw := p.StrideW
	wp := max(p.PadLeft+p.W+p.PadRight, (ow-1)*sw+(p.KW-1)*p.DilationW+1)
	hp := max(p.PadTop+p.H+p.PadBottom, (oh-1)*p.StrideH+(p.KH-1)*p.DilationH+1)
	a := &windowSums{p: p, phaseLen: ceilDiv(wp, sw)}
	a.rowStride = sw * a.phaseLen
	n := hp * a.rowStride
	a.floats = getBuffer(n + p.KH*p.KW)
	a.padded, a.ones = a.floats[:n:n], a.floats[n:]
	clear(a.padded) // load writes the image's elements only
	a.taps = offsets.get(p.KH * p.KW)
	for kh := range p.KH {
		for kw := range p.KW {
			at := kw * p.DilationW
			a.taps[kh*p.KW+kw] = int32(kh*p.DilationH*a.rowStride + at%sw*a.phaseLen + at/sw)
			a.ones[kh*p.KW+kw] = 1
		}
	}
	return a
}

func (a *windowSums) release() {
	putBuffer(a.floats)
	offsets.put(a.taps)
}

// load copies plane into the padded buffer: image column ix of row iy at
// padded column c = PadLeft + ix of row PadTop + iy, which is element
// c/StrideW of phase c%StrideW.
func (a *windowSums) load(plane []float32) {
	p, sw, n := a.p, a.p.StrideW, a.phaseLen
	for iy := range p.H {
		src := plane[iy*p.W : (iy+1)*p.W]
		dst := a.padded[(p.PadTop+iy)*a.rowStride:][:a.rowStride]
		switch {
		case sw == 1:
			copy(dst[p.PadLeft:], src)
		case sw == 2 && p.PadLeft%2 == 0:
			vec.Deinterleave(dst[p.PadLeft/2:n], dst[n+p.PadLeft/2:], src)
		case sw == 2:
			vec.Deinterleave(dst[n+p.PadLeft/2:], dst[p.PadLeft/2+1:n], src)
		default:
			for ix, v := range src {
				c := p.PadLeft + ix
				dst[c%sw*n+c/sw] = v
			}
		}
	}
}

// plane stores in y [OH*OW] the sums of the windows of the plane
// loaded, every output row in one call.
func (a *windowSums) plane(y []float32) {
	oh, ow := a.p.OutSize()
	vec.WeightedTapsRows(y, ow, ow, oh, a.padded, a.p.StrideH*a.rowStride, a.taps, a.ones, 0, false, false)
}

// AveragePoolBackward accumulates into dx each dy spread evenly over the
// taps of its window that lie inside the image.
func AveragePoolBackward(p *PoolParams, dy, dx []float32) {
	const op = "AveragePool"
	oh, ow := p.OutSize()
	planes, hw, ohw := p.N*p.C, p.H*p.W, oh*ow
	need(op, "dy", dy, planes*ohw)
	need(op, "dx", dx, planes*hw)
	divH, divW := p.poolDivisors()
	parallel.For(planes, grainFor(ohw*p.KH*p.KW), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			plane := dx[pl*hw : (pl+1)*hw]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					g := dy[pl*ohw+oy*ow+ox] / (divH[oy] * divW[ox])
					for kh := 0; kh < p.KH; kh++ {
						iy := oy*p.StrideH - p.PadTop + kh*p.DilationH
						if iy < 0 || iy >= p.H {
							continue
						}
						for kw := 0; kw < p.KW; kw++ {
							ix := ox*p.StrideW - p.PadLeft + kw*p.DilationW
							if ix >= 0 && ix < p.W {
								plane[iy*p.W+ix] += g
							}
						}
					}
				}
			}
		}
	})
}

// GlobalPoolParams holds the dimensions of GlobalAveragePool and
// GlobalMaxPool: x [N, C, Spatial] where Spatial is the product of all
// spatial sizes (1 for an [N, C] input).
type GlobalPoolParams struct {
	N, C, Spatial int
}

// Validate reports a dimension below 1 as a *ParamError.
func (p *GlobalPoolParams) Validate() error {
	if err := checkPositive("GlobalPool", []string{"N", "C", "Spatial"}, p.N, p.C, p.Spatial); err != nil {
		return err
	}
	return checkElems("GlobalPool", "N, C, Spatial", p.N, p.C, p.Spatial)
}

// GlobalAveragePoolForward sets y[n, c] to the mean of x[n, c, :],
// summed in float64 (vec.SumFloat64).
func GlobalAveragePoolForward(p *GlobalPoolParams, x, y []float32) {
	const op = "GlobalAveragePool"
	planes, s := p.N*p.C, p.Spatial
	need(op, "x", x, planes*s)
	need(op, "y", y, planes)
	t := planeMeans.Get()
	*t = planeMean{x: x, y: y, s: s}
	parallel.Run(planes, grainFor(s), t)
	planeMeans.Put(t)
}

// planeMean is GlobalAveragePoolForward's loop over the planes.
type planeMean struct {
	x, y []float32
	s    int
}

var planeMeans parallel.Tasks[planeMean]

func (t *planeMean) Range(lo, hi int) {
	s := t.s
	for pl := lo; pl < hi; pl++ {
		t.y[pl] = float32(vec.SumFloat64(t.x[pl*s:(pl+1)*s]) / float64(s))
	}
}

// GlobalAveragePoolBackward adds dy[n, c] / Spatial to every dx[n, c, :].
func GlobalAveragePoolBackward(p *GlobalPoolParams, dy, dx []float32) {
	const op = "GlobalAveragePool"
	planes, s := p.N*p.C, p.Spatial
	need(op, "dy", dy, planes)
	need(op, "dx", dx, planes*s)
	parallel.For(planes, grainFor(s), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			g := dy[pl] / float32(s)
			row := dx[pl*s : (pl+1)*s]
			for i := range row {
				row[i] += g
			}
		}
	})
}

// GlobalMaxPoolForward sets y[n, c] to the maximum of x[n, c, :] and
// argmax[n, c] to its flat index into x: the first among equal values,
// and, as for MaxPool, a NaN when the plane holds one, at the first. The
// maximum is vec.Max's, then found by a scan for the first value equal
// to it.
func GlobalMaxPoolForward(p *GlobalPoolParams, x, y []float32, argmax []int64) {
	const op = "GlobalMaxPool"
	planes, s := p.N*p.C, p.Spatial
	need(op, "x", x, planes*s)
	need(op, "y", y, planes)
	need(op, "argmax", argmax, planes)
	parallel.For(planes, grainFor(s), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			plane := x[pl*s : (pl+1)*s]
			m := vec.Max(plane)
			at := 0
			for i, v := range plane {
				if v == m || m != m && v != v {
					at = i
					break
				}
			}
			y[pl], argmax[pl] = plane[at], int64(pl*s+at)
		}
	})
}

// GlobalMaxPoolBackward adds dy[n, c] to dx at argmax[n, c].
func GlobalMaxPoolBackward(p *GlobalPoolParams, argmax []int64, dy, dx []float32) {
	const op = "GlobalMaxPool"
	planes := p.N * p.C
	need(op, "argmax", argmax, planes)
	need(op, "dy", dy, planes)
	need(op, "dx", dx, planes*p.Spatial)
	for pl := 0; pl < planes; pl++ {
		dx[argmax[pl]] += dy[pl]
	}
}
