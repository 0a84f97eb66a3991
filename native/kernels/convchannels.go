package kernels

// The convolution by blocks of output channels, for convolutions with
// few input channels per group: a network's first layer (3 input
// channels, RGB), whose GEMM has a depth of only C*KH*KW (27 for a 3x3
// kernel) and whose im2col copies every input element KH*KW times.
//
// As for the direct sums (convdirect.go), the input rows a band of
// output rows of one group of one image reads are copied into a
// zero-padded buffer split into stride phases, so that output (oy, ox)
// reads tap (c, kh, kw) at the tap's fixed offset plus (oy-oy0)*Wq + ox,
// whatever the strides, oy0 the band's first row. A row of outputs
// of vec.TapChannels output channels is then vec.ChannelTaps: the
// positions in the lanes of vectors, each tap's input vectors read once
// and multiplied by the tap's weights of the block, broadcast one at a
// time, the sums kept in registers from the bias to the activation
// (ReLU, Clip, HardSwish) and the store. The direct sums instead read the
// input once per output channel.
//
// A 1x1 convolution with unit strides and no padding needs no buffer:
// output position j of a plane reads position j of every input plane,
// so the taps are the input channels at c*H*W in the planes as they
// lie, and a band of positions is one row of vec.ChannelTaps however
// narrow the planes. There the blocks are a small GEMM whose tiles
// (eight channels by 48 positions on AVX-512) waste nothing on few input
// or output channels and need no packing (channelBlocksPointwisePays).
//
// Work is spread over bands of output rows and blocks of channels; each
// worker copies into its own buffer the input rows of each band it
// computes, once for the band's blocks. The buffer holds one band (54
// KiB for MobileNet V3's stem), not the whole padded image (612 KiB),
// which a model's run finds out of the caches: with the caches flushed
// before each call (64 MiB read), the stems of MobileNet V3, V2 and
// ShuffleNet V2 took 286, 383 and 339 us against 349, 461 and 425 with
// the image-sized buffer (medians of 6 interleaved runs, a loaded
// machine); with hot caches 182-311 us against 223-315.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// channelBlocksGeometry is the layout of a convolution by blocks of
// output channels.
type channelBlocksGeometry struct {
	p      ConvParams
	hq, wq int     // rows and columns of a whole phase plane
	bandHq int     // rows of a band's phase planes: rows and the rows its taps reach below
	plane  int     // bandHq*wq
	group  int     // the padded buffer of a band of one group: C/Group channels of StrideH*StrideW phase planes
	off    []int32 // the offset of each tap (c, kh, kw) of a group in its buffer
	blocks int     // blocks of vec.TapChannels output channels per group
	rows   int     // output rows per band
	// packedW, when not nil, holds the weights as packWeights lays
	// them out, prepared once for every run (ConvForwardPlan).
	packedW []float32
	// inPlace says the convolution is 1x1 with unit strides and no
	// padding: the taps read the input planes where they lie, off[c]
	// being c*H*W, and rows is how many output positions a band holds,
	// summed as one row (see runInPlace). No buffer, no copy.
	inPlace bool
	// large says the blocks pay only by channelBlocksLargePlanePays,
	// which was measured on forward passes.
	large bool
}

// channelBlocksMaxChannels is the most input channels per group the
// blocks of output channels are chosen for. Measured (best of 15
// interleaved runs, a loaded machine, batch 1 and 8), they took 0.5-0.9
// times the time of the strided window chosen before on the zoo's first
// layers (3 channels; BenchmarkConvStem), but were only level with the
// direct sums, the windows and Winograd at 8 and 16 channels per group
// (3x3, 14x14 to 56x56, grouped and not).
const channelBlocksMaxChannels = 4

// channelBlocksBand is about how many output positions a band holds.
const channelBlocksBand = 1024

// channelBlocks returns the convolution by blocks of output channels of
// p, or why it cannot compute it, and whether it pays: at most
// channelBlocksMaxChannels input channels per group and at least a
// block of output channels per group: with 4 per group (32 groups of
// 4 to 4 channels, 3x3 at 14x14 and 56x56) the direct sums took 0.5-0.7
// times the time of half-empty blocks, with 8 per group 1-2 times.
// Depthwise convolutions go by lanes. 1x1 convolutions that can be read
// in place (pointwiseInPlace) pay as channelBlocksPointwisePays says.
func (p *ConvParams) channelBlocks() (d channelBlocksGeometry, cannot string, pays bool) {
	const l = vec.TapChannels
	d.p = *p
	d.p.algorithm = convAuto
	oh, ow := p.OutSize()
	d.hq = ceilDiv(p.H+p.PadTop+p.PadBottom, p.StrideH)
	d.wq = ceilDiv(p.W+p.PadLeft+p.PadRight, p.StrideW)
	d.rows = max(1, min(oh, channelBlocksBand/max(ow, 1)))
	d.bandHq = min(d.hq, d.rows+(p.KH-1)*p.DilationH/p.StrideH)
	d.plane = d.bandHq * d.wq
	cg, mg := p.C/p.Group, p.M/p.Group
	if float64(cg)*float64(p.StrideH*p.StrideW)*float64(d.plane) > math.MaxInt32 {
		return d, "padded planes of a group beyond int32 offsets", false
	}
	d.group = cg * p.StrideH * p.StrideW * d.plane
	d.off = p.phaseOffsets(d.plane, d.wq)
	d.blocks = ceilDiv(mg, l)
	if d.inPlace = p.pointwiseInPlace(); d.inPlace {
		d.off = make([]int32, cg)
		for c := range d.off {
			d.off[c] = int32(c * p.H * p.W)
		}
		bands := ceilDiv(oh*ow, max(channelBlocksPointwiseMinBand, min(channelBlocksBand, channelBlocksPointwiseBandElems/cg)))
		d.rows = roundUpInt(ceilDiv(oh*ow, bands), 16)
		pays = mg >= l && (cg <= channelBlocksMaxChannels || channelBlocksPointwisePays(cg, mg, oh*ow))
		if !pays && mg >= l && !p.inputMapped && channelBlocksLargePlanePays(cg, oh*ow) {
			pays, d.large = true, true
		}
		return d, "", pays
	}
	return d, "", cg <= channelBlocksMaxChannels && mg >= l
}

// channelBlocksPointwisePays reports whether the blocks of output
// channels pay for a 1x1 convolution read in place with cg input and
// mg output channels per group on planes of ohw positions, rather than
// the pointwise products: where the products' tiles hold few input or
// output channels. Measured in CPU time, one thread, weights prepared,
// three interleaved rounds on a loaded machine
// (BenchmarkConvPointwise): at batch 1 they took 0.40-0.94
// of the products' time with fewer than 128 input channels on 13x13 to
// 112x112 planes (MobileNet V2's 32->16@112 0.40, 16->96@112 0.76,
// 24->144@56 0.94, V3's 16->16@56 0.43, 48->288@14 0.69, SqueezeNet's
// 16->64@55 0.55, ShuffleNet's 58->58@28 0.81, 116->116@28 0.90 and @14
// 0.85, DenseNet's 64->128@56 0.84), 0.55-0.97 with up to 64 output
// channels (SqueezeNet's 128->16@55 0.57, 256->32@27 0.68, 512->64@13
// 0.84, ResNet-50's 256->64@56 0.84; MobileNet V2's 144->24@56 0.97),
// and at batch 8 0.55-0.9 (144->24@56 1.07); but 1.05-1.3 on 7x7 planes
// (MobileNet V2's 160->960, ShuffleNet's 232->232), whose 49 positions
// leave most of a last vector empty, and 0.9-1.07 with more channels
// both in and out (576->96@14, 512->1000@13). (With 128 input channels
// and more, left to the products, they also took 0.83-0.97: ShuffleNet's
// 232->232@14, DenseNet's 128->128@56 and @28.)
func channelBlocksPointwisePays(cg, mg, ohw int) bool {
	return ohw >= channelBlocksPointwiseMinPositions &&
		(cg <= channelBlocksPointwiseMaxIn || mg <= channelBlocksPointwiseMaxOut)
}

// channelBlocksLargePlanePays reports whether the blocks of output
// channels pay for a 1x1 convolution read in place with cg input
// channels per group on planes of ohw positions, where
// channelBlocksPointwisePays leaves it to the pointwise products: on
// planes of 28x28 and more, with up to 512 input channels. The products
// pack each block of columns and rows of tiles read the weights; the
// blocks read the input in place once per 8 output channels. Measured
// in CPU time, one thread, weights prepared and read from memory, 3
// interleaved rounds on a loaded machine, the blocks took 0.85-0.94 of
// the products' time at batch 1 (ResNet-50's 256->128@56 0.90,
// 512->128@28 0.93, 512->256@28 0.94, 128->512@28 0.90, and 0.80 with
// its shortcut added; DenseNet's 128->128@56 0.91, 256->128@28 0.88,
// 512->128@28 0.85) and 0.87-0.94 at batch 8. A second sitting, the
// automatic choice against the previous one, Relu fused: 0.86-0.90 at
// batch 1 and 0.86-0.92 at batch 8 with 128 to 256 input channels
// (GoogLeNet's 192->96@28 and 256->128@28, ResNet-50's 128->512@28 and
// 256->128@56), level (0.97-1.01) with 512 (ResNet-50's 512->128@28 and
// 512->256@28). Not on 14x14 planes
// (ShuffleNet's 232->232@14 tied, ResNet-50's 1024->256@14 took 1.35 of
// the strided window's time), and not for an input mapped as it is read
// (ConvParams.inputMapped), which the products map as they pack it and
// the blocks would need mapped into a buffer first.
func channelBlocksLargePlanePays(cg, ohw int) bool {
	return ohw >= channelBlocksLargePlaneMinPositions && cg <= channelBlocksLargePlaneMaxIn
}

const (
	channelBlocksLargePlaneMinPositions = 28 * 28
	channelBlocksLargePlaneMaxIn        = 512
)

const (
	channelBlocksPointwiseMaxIn        = 127
	channelBlocksPointwiseMaxOut       = 64
	channelBlocksPointwiseMinPositions = 13 * 13
	// channelBlocksPointwiseBandElems is about how many input elements
	// a band of a 1x1 convolution read in place reads (256 KiB), which
	// stay in L2 for the band's blocks of channels, and
	// channelBlocksPointwiseMinBand the fewest positions of a band.
	channelBlocksPointwiseBandElems = 1 << 16
	channelBlocksPointwiseMinBand   = 96
)

// pointwiseInPlace reports whether p is a 1x1 convolution with unit
// strides and no padding whose input planes of a group lie within int32
// offsets: its output position j of a plane reads position j of each
// input plane, which the blocks of output channels read where they lie.
func (p *ConvParams) pointwiseInPlace() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop+p.PadLeft+p.PadBottom+p.PadRight == 0 &&
		float64(p.C/p.Group)*float64(p.H*p.W) <= math.MaxInt32
}

// fillRows copies input rows [iy0, iy1) of the planes of group g of
// image n of x into buf [d.group], split into phases as the direct sums'
// fill does, phase row r0 first. It writes only the positions that hold
// input: the padding of buf must be zero already.
func (d *channelBlocksGeometry) fillRows(x, buf []float32, n, g, iy0, iy1, r0 int) {
	d.p.fillPhaseRows(x, buf, n, g, iy0, iy1, r0, d.bandHq, d.wq)
}

// inputRows returns the input rows [lo, hi) that output rows [oy0, oy1)
// read.
func (d *channelBlocksGeometry) inputRows(oy0, oy1 int) (lo, hi int) {
	p := &d.p
	lo = max(0, oy0*p.StrideH-p.PadTop)
	hi = min(p.H, (oy1-1)*p.StrideH+(p.KH-1)*p.DilationH-p.PadTop+1)
	return lo, max(lo, hi)
}

// run computes y from x and w, with e's bias, residual and activation,
// or adding to y under e.accumulate. The tasks, bands of output rows of
// a block of channels, run band by band within each image and group, so
// that a worker copies the input rows of a band once for its blocks.
func (d *channelBlocksGeometry) run(x, w, y []float32, e slideEpilogue) {
	p := &d.p
	oh, ow := p.OutSize()
	packed := d.packedW
	if packed == nil {
		packed = getBuffer(p.Group * d.blocks * p.colRows() * vec.TapChannels)
		defer putBuffer(packed)
		d.packInto(packed, w)
	}
	t := channelBlocksTasks.Get()
	rows := d.bandRows(parallel.Threads())
	if d.inPlace {
		bands := d.inPlaceBands(rows)
		*t = channelBlocksTask{d: d, x: x, y: y, packed: packed, e: e, rows: rows, bands: bands, perImage: bands * d.blocks}
		parallel.Run(p.N*p.Group*t.perImage, grainFor(rows*p.colRows()*vec.TapChannels), t)
	} else {
		*t = channelBlocksTask{d: d, x: x, y: y, packed: packed, e: e, rows: rows, perImage: ceilDiv(oh, rows) * d.blocks}
		parallel.Run(p.N*p.Group*t.perImage, grainFor(rows*ow*p.colRows()*vec.TapChannels), t)
	}
	channelBlocksTasks.Put(t)
}

// channelBlocksRangesPerThread is how many ranges parallel.Run cuts a
// loop of many tasks into per thread (its rangesPerWorker).
const channelBlocksRangesPerThread = 4

// channelBlocksInPlaceBandStep is what bandRows makes the positions of
// a smaller band of a 1x1 convolution read in place a multiple of:
// three vectors of AVX-512, the main block of vec.ChannelTaps, so that
// cutting a plane adds no blocks of fewer vectors but at its end.
const channelBlocksInPlaceBandStep = 48

// inPlaceBands returns how many bands of rows positions run cuts a plane
// read in place into: the last takes the positions left, and joins the
// band before it when they are fewer than channelBlocksInPlaceBandStep
// (MobileNet V3's 240->40@14 on 2 threads: bands of 96 and 100
// positions, 10 tasks of about the same cost, where a third band of 4
// positions left the first 5 tasks of 15 with 6 vectors each and the
// last 5 with one).
func (d *channelBlocksGeometry) inPlaceBands(rows int) int {
	oh, ow := d.p.OutSize()
	bands := ceilDiv(oh*ow, rows)
	if bands > 1 && oh*ow-(bands-1)*rows < channelBlocksInPlaceBandStep {
		bands--
	}
	return bands
}

// bandRows returns how many output rows (positions, in place) a band of
// run holds on threads threads: d.rows, but at a batch of one with one
// group on several threads as many fewer as the loop needs to divide
// evenly among them. parallel.Run cuts a loop into ranges of
// consecutive tasks, bands of blocks of channels; with d.rows, a range
// of a network's first layer would begin in the middle of a band whose
// rows another range also copies (MobileNet V3's stem: 13 bands of 9
// rows of 2 blocks in 8 ranges, 4 bands copied twice), and a 1x1
// convolution would have fewer tasks than ranges (MobileNet V3's
// 240->40@14: 5 blocks of one band, 3 tasks for one thread and 2 for
// the other). So the bands of the first layers are made a multiple of
// the ranges (16 of 7 rows), and a plane read in place is cut into
// bands of a multiple of channelBlocksInPlaceBandStep positions until
// there are as many tasks as ranges (240->40@14: bands of 96 and 100
// positions, inPlaceBands, 10 tasks). A smaller band reads fewer rows
// of the same buffer and offsets.
func (d *channelBlocksGeometry) bandRows(threads int) int {
	p := &d.p
	if threads <= 1 || p.N*p.Group > 1 {
		return d.rows
	}
	ranges := threads * channelBlocksRangesPerThread
	oh, ow := p.OutSize()
	if d.inPlace {
		bands := max(ceilDiv(oh*ow, d.rows), ceilDiv(ranges, d.blocks))
		const step = channelBlocksInPlaceBandStep
		return min(d.rows, max(step, ceilDiv(oh*ow, bands)/step*step))
	}
	bands := roundUpInt(ceilDiv(oh, d.rows), ranges)
	return max(1, min(d.rows, ceilDiv(oh, bands)))
}

// channelBlocksTask is run's loop: item t is band t%perImage/blocks of
// block t%blocks of image and group t/perImage.
type channelBlocksTask struct {
	d            *channelBlocksGeometry
	x, y, packed []float32
	e            slideEpilogue
	rows         int // output rows (positions, in place) per band: bandRows
	bands        int // in place: bands per image and group (inPlaceBands)
	perImage     int
}

var channelBlocksTasks parallel.Tasks[channelBlocksTask]

func (ct *channelBlocksTask) Range(lo, hi int) {
	if ct.d.inPlace {
		ct.inPlace(lo, hi)
		return
	}
	const l = vec.TapChannels
	d, e, y := ct.d, &ct.e, ct.y
	p := &d.p
	oh, ow := p.OutSize()
	ohw, mg, k := oh*ow, p.M/p.Group, p.colRows()
	cg := p.C / p.Group
	buf := getBuffer(d.group)
	defer putBuffer(buf)
	// The padding columns, which fillRows leaves as they are, stay
	// zero from band to band; clearRows clears the padding rows.
	d.clearColumns(buf, cg)
	var tmp []float32
	if e.accumulate {
		tmp = getBuffer(l * d.rows * ow)
		defer putBuffer(tmp)
	}
	// The buffer holds band filled (t/d.blocks) of its image and group.
	filled := -1
	act, fused := lanesStoreActivation(*e)
	var bias [l]float32
	for t := lo; t < hi; t++ {
		ng, band, blk := t/ct.perImage, t%ct.perImage/d.blocks, t%d.blocks
		n, g := ng/p.Group, ng%p.Group
		oy0, oy1 := band*ct.rows, min(oh, (band+1)*ct.rows)
		if t/d.blocks != filled {
			filled = t / d.blocks
			iy0, iy1 := d.inputRows(oy0, oy1)
			d.clearRows(buf, oy0, iy0, iy1, cg)
			d.fillRows(ct.x, buf, n, g, iy0, iy1, oy0)
		}
		m0 := g*mg + blk*l
		cl := e.blockBias(&bias, m0, min(l, mg-blk*l))
		weights := ct.packed[(g*d.blocks+blk)*k*l:][:k*l]
		at, rows, src := (n*p.M+m0)*ohw+oy0*ow, oy1-oy0, buf
		ya := y[e.at(at):] // the block's planes lie in one image
		if e.accumulate {
			cnt := rows * ow
			vec.ChannelTaps(tmp, cnt, cl, ow, rows, src, d.wq, d.off, weights, bias[:], vec.StoreIdentity, 0, 0)
			for j := 0; j < cl; j++ {
				band := ya[j*ohw:][:cnt]
				vec.Binary(vec.OpAdd, band, band, tmp[j*cnt:][:cnt])
			}
			continue
		}
		if fused {
			vec.ChannelTaps(ya, ohw, cl, ow, rows, src, d.wq, d.off, weights, bias[:], act, e.act.Alpha, e.act.Beta)
			continue
		}
		vec.ChannelTaps(ya, ohw, cl, ow, rows, src, d.wq, d.off, weights, bias[:], vec.StoreIdentity, 0, 0)
		for j := 0; j < cl; j++ {
			e.finish(ya[j*ohw:][:rows*ow], at+j*ohw)
		}
	}
}

// inPlace is Range for a 1x1 convolution read in place: item t is
// band t%perImage/blocks of ct.rows output positions (the last of
// ct.bands those left) of block t%blocks
// of image and group t/perImage, summed by vec.ChannelTaps as one row of
// the band's positions straight from the input planes: the blocks of a
// band follow one another, so that its input stays in cache for them.
func (ct *channelBlocksTask) inPlace(lo, hi int) {
	const l = vec.TapChannels
	d, e, y := ct.d, &ct.e, ct.y
	p := &d.p
	oh, ow := p.OutSize()
	ohw, mg, cg := oh*ow, p.M/p.Group, p.C/p.Group
	var tmp []float32
	if e.accumulate {
		tmp = getBuffer(l * (ct.rows + channelBlocksInPlaceBandStep))
		defer putBuffer(tmp)
	}
	act, fused := lanesStoreActivation(*e)
	var bias [l]float32
	for t := lo; t < hi; t++ {
		ng, band, blk := t/ct.perImage, t%ct.perImage/d.blocks, t%d.blocks
		n, g := ng/p.Group, ng%p.Group
		j0, cnt := band*ct.rows, ct.rows
		if band == ct.bands-1 {
			cnt = ohw - j0
		}
		m0 := g*mg + blk*l
		cl := e.blockBias(&bias, m0, min(l, mg-blk*l))
		weights := ct.packed[(g*d.blocks+blk)*cg*l:][:cg*l]
		src := ct.x[(n*p.C+g*cg)*ohw+j0:]
		at := (n*p.M+m0)*ohw + j0
		ya := y[e.at(at):] // the block's planes lie in one image
		switch {
		case e.accumulate:
			vec.ChannelTaps(tmp, cnt, cl, cnt, 1, src, 0, d.off, weights, bias[:], vec.StoreIdentity, 0, 0)
			for j := 0; j < cl; j++ {
				out := ya[j*ohw:][:cnt]
				vec.Binary(vec.OpAdd, out, out, tmp[j*cnt:][:cnt])
			}
		case fused:
			vec.ChannelTaps(ya, ohw, cl, cnt, 1, src, 0, d.off, weights, bias[:], act, e.act.Alpha, e.act.Beta)
		default:
			vec.ChannelTaps(ya, ohw, cl, cnt, 1, src, 0, d.off, weights, bias[:], vec.StoreIdentity, 0, 0)
			for j := 0; j < cl; j++ {
				e.finish(ya[j*ohw:][:cnt], at+j*ohw)
			}
		}
	}
}

// clearRows zeroes the rows of the band's phase planes in buf, phase
// row r0 first, that input rows [iy0, iy1) do not fill: padding rows,
// and rows a shorter last band does not read.
func (d *channelBlocksGeometry) clearRows(buf []float32, r0, iy0, iy1, cg int) {
	p := &d.p
	for c := 0; c < cg; c++ {
		for py := 0; py < p.StrideH; py++ {
			for r := 0; r < d.bandHq; r++ {
				if iy := (r0+r)*p.StrideH + py - p.PadTop; iy >= iy0 && iy < iy1 {
					continue
				}
				for px := 0; px < p.StrideW; px++ {
					clear(buf[(((c*p.StrideH+py)*p.StrideW+px)*d.bandHq+r)*d.wq:][:d.wq])
				}
			}
		}
	}
}

// clearColumns zeroes the columns of every row of the band's phase
// planes in buf that hold no input, the padding on either side, which
// fillRows leaves as they are. With clearRows for the rows it does not
// fill, every position of buf is then zero or input, without clearing
// the whole buffer in each range of the loop (54 KiB for MobileNet V3's
// stem, 66 KiB for a 7x7 one, 8 ranges on 2 threads).
func (d *channelBlocksGeometry) clearColumns(buf []float32, cg int) {
	p := &d.p
	for px := 0; px < p.StrideW; px++ {
		lo, hi := validRange(d.wq, p.W, p.StrideW, px-p.PadLeft)
		if lo == 0 && hi == d.wq {
			continue
		}
		for c := 0; c < cg; c++ {
			for py := 0; py < p.StrideH; py++ {
				plane := buf[((c*p.StrideH+py)*p.StrideW+px)*d.plane:][:d.plane]
				for r := 0; r < d.bandHq; r++ {
					row := plane[r*d.wq:][:d.wq]
					clear(row[:lo])
					clear(row[hi:])
				}
			}
		}
	}
}

// packWeights returns w [M][C/Group][KH][KW] laid out by blocks of
// output channels, [Group][blocks][C/Group*KH*KW][vec.TapChannels] (the
// lanes of a last block beyond M/Group zero), as vec.ChannelTaps takes
// them.
func (d *channelBlocksGeometry) packWeights(w []float32) []float32 {
	packed := make([]float32, d.p.Group*d.blocks*d.p.colRows()*vec.TapChannels)
	d.packInto(packed, w)
	return packed
}

// packInto is packWeights into packed.
func (d *channelBlocksGeometry) packInto(packed, w []float32) {
	const l = vec.TapChannels
	k, mg := d.p.colRows(), d.p.M/d.p.Group
	clear(packed)
	for m := 0; m < d.p.M; m++ {
		g, j := m/mg, m%mg
		block := packed[(g*d.blocks+j/l)*k*l:]
		for tap, v := range w[m*k : (m+1)*k] {
			block[tap*l+j%l] = v
		}
	}
}

// blockBias fills bias with the biases of the cl output channels from
// m0 of a block of channel taps, zeros past them (and everywhere when
// the convolution has none), and returns cl.
func (e *slideEpilogue) blockBias(bias *[vec.TapChannels]float32, m0, cl int) int {
	for j := range bias {
		bias[j] = 0
		if j < cl && e.bias != nil {
			bias[j] = e.bias[m0+j]
		}
	}
	return cl
}
