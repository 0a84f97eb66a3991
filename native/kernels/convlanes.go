package kernels

// The depthwise convolution by lanes: vec.TapLanes channels side by
// side, one in each lane of a vector, so that every multiply-add is a
// whole vector whatever the shape of the planes.
//
// The direct sums of convdirect.go run along the positions of a plane,
// which wastes lanes and pays per-row copies where the planes are small
// (MobileNets' 14x14 and 7x7 after a few strides) and reads their input
// unaligned once per tap. Here the input planes of a block of TapLanes
// channels of one image are transposed into one zero-padded buffer,
// lanes innermost:
//
//	planes [H+PadTop+PadBottom][W+PadLeft+PadRight][TapLanes]
//
// Output (oy, ox) of all the block's channels is then the sum over the
// taps (kh, kw) of the weight vector of the tap times the vector at
// padded position (oy*StrideH + kh*DilationH, ox*StrideW + kw*DilationW),
// any strides, dilations and pads alike: the offset of the position's
// window (pos) plus that of the tap (taps). vec.LaneTaps sums them a
// band of output rows at a time, transposing them back to the output
// planes in registers, with the bias already in them and ReLU, Clip or
// HardSwish applied (through a buffer [positions][TapLanes] and
// vec.TransposeBias for dX's accumulation, and without AVX-512's masks
// for a last block of fewer channels, the activation then a pass of its
// own); the input rows are transposed as the bands come to them, so
// that what a band touches stays in cache however large the planes.
// The block's last channels, beyond C, take zero weights; their lanes
// are computed and dropped.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// lanesGeometry is the layout of a depthwise convolution by lanes.
type lanesGeometry struct {
	p      ConvParams
	hp, wp int // height and width of the padded planes
	rows   int // output rows per band
	// sums holds, per output position, where its window starts in the
	// planes, and per kernel position (kh, kw), its offset in a window.
	sums *vec.LaneTaps
	// packedW, when not nil, holds the weights as packWeights lays
	// them out, prepared once for every run (ConvForwardPlan).
	packedW []float32
}

// lanesTasksPerWorker is how many tasks per worker the convolution by
// lanes makes at least, cutting the bands of each block of an image
// into runs when there are fewer blocks than that: MobileNet V3's first
// depthwise convolution has two blocks of 16 channels, ShuffleNet's
// three of 24.
const lanesTasksPerWorker = 4

// lanesBand is about how many output positions a band holds: its sums
// and the padded input rows they read stay in the first two levels of
// cache however large the planes.
const lanesBand = 512

// depthwiseLanes returns the convolution by lanes of p, or why it
// cannot compute it (it computes only depthwise convolutions with one
// output channel per input channel), and whether it pays: always.
// Against the direct sums (BenchmarkConvGrouped, batch 1, the best of
// four on a loaded machine), it took 0.43-0.49 times their time on 7x7
// and 14x14 planes (5x5), 0.48-0.89 on 28x28 to 56x56 ones (3x3,
// strides 1 and 2), and with more images 0.7-0.85 of their CPU time per
// image on MobileNet V2's 32@112x112 (BenchmarkConvDepthwiseZoo). At
// batch 1 that one took 1.06-2 times their wall time while each task was
// a block of channels (four), when a parked worker joined late; with
// the blocks' bands cut into runs for lanesTasksPerWorker tasks per
// worker, 0.79 of their CPU time on one thread (five interleaved rounds,
// a loaded machine).
func (p *ConvParams) depthwiseLanes() (d lanesGeometry, cannot string, pays bool) {
	if p.Group != p.C || p.M != p.C {
		return d, "not depthwise with one output channel per input channel", false
	}
	const l = vec.TapLanes
	d.p = *p
	d.p.algorithm = convAuto
	d.hp, d.wp = p.H+p.PadTop+p.PadBottom, p.W+p.PadLeft+p.PadRight
	if float64(d.hp)*float64(d.wp)*l > math.MaxInt32 {
		return d, "padded planes beyond int32 offsets", false
	}
	oh, ow := p.OutSize()
	d.rows = max(1, min(oh, lanesBand/ow))
	pos := make([]int32, 0, oh*ow)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			pos = append(pos, int32((oy*p.StrideH*d.wp+ox*p.StrideW)*l))
		}
	}
	taps := make([]int32, 0, p.KH*p.KW)
	for kh := 0; kh < p.KH; kh++ {
		for kw := 0; kw < p.KW; kw++ {
			taps = append(taps, int32((kh*p.DilationH*d.wp+kw*p.DilationW)*l))
		}
	}
	d.sums = vec.NewLaneTaps(pos, taps)
	return d, "", true
}

// run computes y from x and w, with e's bias, residual and activation,
// or adding to y under e.accumulate. The blocks of channels of every
// image are spread over the workers; each sums a block band by band,
// transposing the input rows a band reads as it comes to them.
func (d *lanesGeometry) run(x, w, y []float32, e slideEpilogue) {
	const l = vec.TapLanes
	p := &d.p
	oh, ow := p.OutSize()
	ohw, hw, k := oh*ow, p.H*p.W, p.KH*p.KW
	blocks := ceilDiv(p.C, l)
	packed := d.packedW
	if packed == nil {
		packed = getBuffer(blocks * k * l)
		defer putBuffer(packed)
		d.packInto(packed, w)
	}
	act, fused := lanesStoreActivation(e)
	// vec.SumLaneRow's loops, which load each input vector of a kernel
	// row once for the eight positions that read it, where output rows
	// are whole blocks of positions: on MobileNet V2's 32@112 and
	// 144@56 the lanes took 0.88-1.0 and 0.92-0.97 of their time with
	// SumPlanes (batch 1, one thread, CPU time, medians of two sets of
	// three interleaved rounds, load average 9-14; 32@112 at batch 8
	// 0.88), but on 7, 14 and 28 columns, whose last block of each row
	// is partly wasted (and a call per row of 7 or 14), 1.03-1.27.
	rowLoops := p.DilationW == 1 && ow%l == 0 && vec.LaneRowFits(p.StrideW, p.KW)
	// Each task is a run of bands of a block of an image: all of them,
	// unless there are too few blocks for the workers.
	bands := ceilDiv(oh, d.rows)
	parts := min(bands, ceilDiv(lanesTasksPerWorker*parallel.Threads(), p.N*blocks))
	perPart := ceilDiv(bands, parts)
	parts = ceilDiv(bands, perPart)
	parallel.For(p.N*blocks*parts, grainFor(perPart*d.rows*ow*k*l), func(lo, hi int) {
		planes := getBuffer(d.hp*d.wp*l + vec.LaneRowSlack)
		defer putBuffer(planes)
		d.clearPadding(planes) // which the fills leave as it is
		out := getBuffer(d.rows * ow * l)
		defer putBuffer(out)
		// dense holds the transposed input rows a band comes to before
		// they are padded, when rows of W are not whole vectors of the
		// transpose (without AVX-512's masks): one transpose of them
		// all, rather than one per row each ending in a scalar tail.
		var dense []float32
		if p.W%l != 0 && !vec.LaneTapsMasked() {
			dense = getBuffer(d.fillRows() * p.W * l)
			defer putBuffer(dense)
		}
		var bias [l]float32
		for t := lo; t < hi; t++ {
			n, c0, part := t/parts/blocks, t/parts%blocks*l, t%parts
			cl := min(l, p.C-c0)
			for j := range l {
				bias[j] = 0
				if j < cl && e.bias != nil {
					bias[j] = e.bias[c0+j]
				}
			}
			weights := packed[c0*k : (c0+l)*k]
			src := x[(n*p.C+c0)*hw:]
			// The input rows in planes: up to the first the part's first
			// band reads.
			first := part * perPart * d.rows
			filled := max(0, min(p.H, first*p.StrideH-p.PadTop))
			for oy0 := first; oy0 < min(oh, first+perPart*d.rows); oy0 += d.rows {
				oy1 := min(oh, oy0+d.rows)
				last := (oy1-1)*p.StrideH + (p.KH-1)*p.DilationH - p.PadTop // the last input row read
				if upTo := min(last+1, p.H); filled < upTo {
					d.fill(src, planes, dense, cl, filled, upTo)
					filled = upTo
				}
				first, cnt := oy0*ow, (oy1-oy0)*ow
				at := (n*p.M+c0)*ohw + first
				ya := y[e.at(at):] // the block's planes lie in one image
				if !e.accumulate && (cl == l || vec.LaneTapsMasked()) {
					// Straight to the output planes: row by row where a
					// loop of SumLaneRow fits the kernel's rows.
					if rowLoops {
						for oy := oy0; oy < oy1; oy++ {
							vec.SumLaneRow(ya[(oy-oy0)*ow:], ohw, cl, ow, planes[oy*p.StrideH*d.wp*l:], p.StrideW, p.DilationH*d.wp*l, p.KH, p.KW,
								weights, bias[:], act, e.act.Alpha, e.act.Beta)
						}
					} else {
						d.sums.SumPlanes(ya, ohw, cl, first, cnt, planes, weights, bias[:], act, e.act.Alpha, e.act.Beta)
					}
					if fused {
						continue
					}
				} else {
					band := out[:cnt*l]
					if e.accumulate {
						vec.TransposeBias(band, l, ya, ohw, cl, cnt, nil, false)
					}
					d.sums.Sum(band, first, planes, weights, bias[:], e.accumulate)
					vec.TransposeBias(ya, ohw, band, l, cnt, cl, nil, e.storeRelu())
				}
				if cnt == ohw {
					// The block's planes lie end to end: one call for
					// all, not one per small plane.
					e.finish(ya[:cl*ohw], at)
					continue
				}
				for j := 0; j < cl; j++ {
					e.finish(ya[j*ohw:][:cnt], at+j*ohw)
				}
			}
		}
	})
}

// lanesStoreActivation returns the activation the sums apply as they
// store whole blocks of lanes, and whether it is all of e's epilogue
// beyond the bias: ReLU, Clip (MobileNet V2's ReLU6) and HardSwish
// (V3's) without a residual to add first.
func lanesStoreActivation(e slideEpilogue) (act vec.StoreActivation, fused bool) {
	if e.residual != nil {
		return vec.StoreIdentity, false
	}
	switch e.act.Kind {
	case ActIdentity:
		return vec.StoreIdentity, true
	case ActRelu:
		return vec.StoreRelu, true
	case ActClip:
		return vec.StoreClip, true
	case ActHardSwish:
		return vec.StoreHardSwish, true
	}
	return vec.StoreIdentity, false
}

// packWeights returns w [C][KH*KW] laid out by blocks of lanes,
// [C/TapLanes][KH*KW][TapLanes] (the last block's lanes beyond C
// zero), as the sums take it.
func (d *lanesGeometry) packWeights(w []float32) []float32 {
	const l = vec.TapLanes
	packed := make([]float32, ceilDiv(d.p.C, l)*d.p.KH*d.p.KW*l)
	d.packInto(packed, w)
	return packed
}

// packInto is packWeights into packed.
func (d *lanesGeometry) packInto(packed, w []float32) {
	const l = vec.TapLanes
	k := d.p.KH * d.p.KW
	clear(packed)
	for c := 0; c < d.p.C; c++ {
		block := packed[c/l*k*l:]
		for tap, v := range w[c*k : (c+1)*k] {
			block[tap*l+c%l] = v
		}
	}
}

// clearPadding zeroes the padding of planes: the rows above and below
// the input's, and the columns left and right of them; not the whole
// buffer, 416 KiB for MobileNet V2's 112x112 planes.
func (d *lanesGeometry) clearPadding(planes []float32) {
	const l = vec.TapLanes
	p := &d.p
	row := d.wp * l
	clear(planes[:p.PadTop*row])
	clear(planes[(p.PadTop+p.H)*row : d.hp*row])
	for iy := p.PadTop; iy < p.PadTop+p.H; iy++ {
		clear(planes[iy*row:][:p.PadLeft*l])
		clear(planes[iy*row+(p.PadLeft+p.W)*l : (iy+1)*row])
	}
}

// fillRows returns the most input rows a band comes to that no band
// before it has: those of its own output rows' strides and the kernel's
// reach beyond them, at most H.
func (d *lanesGeometry) fillRows() int {
	p := &d.p
	return min(p.H, d.rows*p.StrideH+(p.KH-1)*p.DilationH+1)
}

// fill transposes input rows [from, to) of the first cl planes of src,
// H x W each, into the padded lanes of planes, whose padding it leaves
// as it is: in one vec.InterleavePlanes with AVX-512 (through masks,
// whatever W and cl), or for a block of all TapLanes planes whose rows
// of W are whole vectors of the transpose; otherwise row by row when
// rows of W are whole vectors, or all at once into dense, whose rows it
// then copies.
//
// With AVX-512, one InterleavePlanes per band in place of the
// transposes into dense and the copies from it (or of a TransposeBias
// per row) took, on the zoo's depthwise convolutions by lanes
// (BenchmarkConvDepthwiseZoo, batch 1, one thread, CPU time, median of
// three interleaved rounds on a loaded machine, Zen 4), 0.60-0.72 of
// their time with strides of 2 on 14x14 and 28x28 planes (MobileNet
// V2's 576@14 and 192@28, V3's 288@14, ShuffleNet's 232@14),
// 0.77-0.87 on the other 7x7 to 28x28 planes, 0.89-0.94 on 56x56 with
// strides of 2, 0.98-1.0 on 112x112 and 144@56 with unit strides.
func (d *lanesGeometry) fill(src, planes, dense []float32, cl, from, to int) {
	const l = vec.TapLanes
	p := &d.p
	hw := p.H * p.W
	if vec.LaneTapsMasked() || cl == l && dense == nil {
		vec.InterleavePlanes(planes[((from+p.PadTop)*d.wp+p.PadLeft)*l:], d.wp*l, src[from*p.W:], hw, cl, p.W, to-from)
		return
	}
	if dense == nil {
		for iy := from; iy < to; iy++ {
			row := planes[((iy+p.PadTop)*d.wp+p.PadLeft)*l:][:p.W*l]
			vec.TransposeBias(row, l, src[iy*p.W:], hw, cl, p.W, nil, false)
		}
		return
	}
	cols := (to - from) * p.W
	vec.TransposeBias(dense, l, src[from*p.W:], hw, cl, cols, nil, false)
	for iy := from; iy < to; iy++ {
		copy(planes[((iy+p.PadTop)*d.wp+p.PadLeft)*l:][:p.W*l], dense[(iy-from)*p.W*l:])
	}
}
