package kernels

// Convolution as a product with a window of its input read as A.
//
// Output position (oy, ox) of a convolution reads its zero-padded input
// (planes of Hp x Wp) at c*Hp*Wp + (oy*StrideH + kh*DilationH)*Wp +
// ox*StrideW + kw*DilationW: from a fixed offset per position,
// oy*StrideH*Wp + ox*StrideW, and a fixed offset per tap (c, kh, kw),
// c*Hp*Wp + kh*DilationH*Wp + kw*DilationW. The transposed im2col matrix
// is therefore a linalg.Window whose rows are the positions, in rows of
// OW positions StrideH*Wp apart with a step of StrideW, and
// linalg.WindowGemm.SgemmWindowA multiplies it by the transposed weights
// without building it: the kernel broadcasts each input element from
// where it lies, whatever the stride, and the weights of 16 output
// channels make up a vector. No im2col and no extra work: the window
// suits the strided convolutions, whose positions the vector loads of
// convslide.go's window (input read as B) cannot take side by side
// without first splitting the input into its stride phases, at a cost in
// zeros (conv1 of AlexNet: 19% more multiply-adds). The product is the
// output transposed, position by channel; it is computed in chunks of
// positions that stay in cache, each transposed into y by the epilogue.

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// gatherChunk is about how many output positions one product computes,
// in whole output rows: enough for many tiles, few enough that the
// product (positions times channels) stays in L2 for the transposing
// epilogue.
const gatherChunk = 240

// gatherGeometry is the layout of a convolution computed through a
// window of its input read as A.
type gatherGeometry struct {
	p      *ConvParams
	gemm   linalg.WindowGemm
	hp, wp int // the padded input planes
	// packedW, when not nil, holds the weights packed as B, group after
	// group (packWeights), which run then takes instead of packing them.
	packedW []float32
}

// packWeights returns the weights w packed as run packs them, group
// after group.
func (s *gatherGeometry) packWeights(w []float32) []float32 {
	p := s.p
	mg, k := p.M/p.Group, p.colRows()
	n := s.gemm.PackedLen(k, mg)
	packed := make([]float32, p.Group*n)
	for g := range p.Group {
		s.gemm.PackB(true, k, mg, w[g*mg*k:], k, packed[g*n:(g+1)*n])
	}
	return packed
}

// gathering returns the geometry of p as a product with a window read as
// A, or why it cannot compute p (the GEMM is not a linalg.WindowGemm),
// and whether it pays: a kernel that is not pointwise (im2col's matrix
// is then the input itself), more than one output channel per group
// and more than one output position (one channel or one position makes
// the product of an image a matrix-vector one, which linalg computes
// better without blocks, and im2col puts the images side by side).
// With unit strides it beats the sliding window on every forward pass
// measured (BenchmarkConvAlgorithms, 2 threads, best of 3-5 interleaved
// runs on a loaded machine, GFLOP/s, window read as A against read as
// B): ResNet-18's 3x3 layers 96-102 against
// 74-88 at 56x56 to 14x14 and 73-76 against 55-74 at 7x7, SqueezeNet's
// expand 3x3 layers 79-91 against 40-69, DenseNet's 3x3 layers 43-96
// against 32-81, AlexNet's conv3-5 89-101 against 71-98 and conv2 (5x5)
// 79/104 against 84/71 at batch 1/8. Its chunks of positions fill the
// micro-kernel's rows whatever the plane's width, while the sliding
// window computes and discards the columns of the padding.
func (p *ConvParams) gathering(gemm linalg.Gemm) (s gatherGeometry, cannot string, pays bool) {
	wg, ok := gemm.(linalg.WindowGemm)
	if !ok {
		return s, fmt.Sprintf("the GEMM (%T) does not implement linalg.WindowGemm", gemm), false
	}
	s = gatherGeometry{p: p, gemm: wg, hp: p.H + p.PadTop + p.PadBottom, wp: p.W + p.PadLeft + p.PadRight}
	oh, ow := p.OutSize()
	return s, "", !p.pointwise() && p.M/p.Group > 1 && oh*ow > 1
}

// padded reports whether the input must be copied into padded planes.
func (s *gatherGeometry) padded() bool {
	p := s.p
	return p.PadTop+p.PadLeft+p.PadBottom+p.PadRight > 0
}

// window returns the window of the transposed im2col matrix of one group
// of one image laid out in planes of rows of s.wp, plane elements apart
// (the input's own planes, or a chunk's padded rows), with the tap
// offsets filled into off; its X is left for each chunk to set.
func (s *gatherGeometry) window(off []int32, plane int) linalg.Window {
	p := s.p
	_, ow := p.OutSize()
	q := 0
	for c := 0; c < p.C/p.Group; c++ {
		for kh := 0; kh < p.KH; kh++ {
			for kw := 0; kw < p.KW; kw++ {
				off[q] = int32(c*plane + kh*p.DilationH*s.wp + kw*p.DilationW)
				q++
			}
		}
	}
	return linalg.Window{Off: off[:q], RowLen: ow, RowStride: p.StrideH * s.wp, Step: p.StrideW}
}

// padRows copies rows [top, top+rows) of the zero-padded planes of group
// g of image n of x into planes [C/Group, rows, Wp] of dst, zeros
// around and past the padded planes' last row.
func (s *gatherGeometry) padRows(x, dst []float32, n, g, top, rows int) {
	p := s.p
	cg := p.C / p.Group
	for c := range cg {
		for r := range rows {
			row := dst[(c*rows+r)*s.wp:][:s.wp]
			iy := top + r - p.PadTop
			if iy < 0 || iy >= p.H {
				clear(row)
				continue
			}
			src := x[((n*p.C+g*cg+c)*p.H+iy)*p.W:][:p.W]
			clear(row[:p.PadLeft])
			copy(row[p.PadLeft:], src)
			clear(row[p.PadLeft+p.W:])
		}
	}
}

// pad copies group g of image n of x into planes [C/Group, Hp, Wp] of
// dst, zeros around.
func (s *gatherGeometry) pad(x, dst []float32, n, g int) {
	t := padTasks.Get()
	*t = padTask{s: s, x: x, dst: dst, n: n, g: g}
	parallel.Run(s.p.C/s.p.Group*s.hp, grainFor(s.wp), t)
	padTasks.Put(t)
}

// padTask is pad's loop over the rows of the padded planes.
type padTask struct {
	s      *gatherGeometry
	x, dst []float32
	n, g   int
}

var padTasks parallel.Tasks[padTask]

func (pt *padTask) Range(lo, hi int) {
	s, p := pt.s, pt.s.p
	cg := p.C / p.Group
	for t := lo; t < hi; t++ {
		c, yp := t/s.hp, t%s.hp
		row := pt.dst[t*s.wp : (t+1)*s.wp]
		iy := yp - p.PadTop
		if iy < 0 || iy >= p.H {
			clear(row)
			continue
		}
		src := pt.x[((pt.n*p.C+pt.g*cg+c)*p.H+iy)*p.W:][:p.W]
		clear(row[:p.PadLeft])
		copy(row[p.PadLeft:], src)
		clear(row[p.PadLeft+p.W:])
	}
}

// run computes the convolution of x into y group by group, the chunks
// of positions of all images spread over the workers in one loop: a
// padded convolution's chunks copy the padded rows they read themselves
// (rows shared by two chunks are copied twice, a few rows of a
// product's work), which spares a loop and its wait per image.
func (s *gatherGeometry) run(x, w, y []float32, e slideEpilogue) {
	s.runPlanes(x, s.p.H*s.p.W, w, y, e)
}

// runPlanes is run of an input whose planes lie plane elements apart
// (at least H*W; the padding between them unread), which the product
// reads in place: s must not be padded (see padded).
func (s *gatherGeometry) runPlanes(x []float32, plane int, w, y []float32, e slideEpilogue) {
	p := s.p
	oh, ow := p.OutSize()
	mg, k := p.M/p.Group, p.colRows()
	packedLen := s.gemm.PackedLen(k, mg)
	var packed []float32
	if s.packedW == nil {
		packed = getBuffer(packedLen)
		defer putBuffer(packed)
	}
	serial := linalg.Serial(s.gemm)
	workers := parallel.Threads()
	if !parallel.Worth(2 * float64(p.N*p.M*oh*ow) * float64(k)) {
		workers = 1
	}
	rows, chunks, width, blocks := s.split(oh, ow, mg, workers)
	items := p.N * chunks * blocks
	for g := 0; g < p.Group; g++ {
		if s.packedW != nil {
			packed = s.packedW[g*packedLen : (g+1)*packedLen]
		} else {
			s.packGroup(k, mg, w[g*mg*k:], packed)
		}
		t := gatherTasks.Get()
		*t = gatherTask{s: s, serial: serial, x: x, packed: packed, y: y, e: e, g: g,
			rows: rows, chunks: chunks, width: width, blocks: blocks, items: items, plane: plane}
		parallel.Run(min(workers, items), 1, t)
		gatherTasks.Put(t)
	}
}

// packGroup packs the transposed weights w [mg, k] of one group into
// the GEMM's panels in packed, the panels spread over the workers: the
// weights of a late layer are megabytes (ResNet-18's 7x7 layers 9.4
// MB), whose packing by one worker left the other idle for a third of
// the layer's time. Packing copies, so the split does not change the
// results.
func (s *gatherGeometry) packGroup(k, mg int, w, packed []float32) {
	nr := s.gemm.PanelWidth()
	parallel.For(ceilDiv(mg, nr), grainFor(nr*k), func(lo, hi int) {
		m0, m1 := lo*nr, min(hi*nr, mg)
		s.gemm.PackB(true, k, m1-m0, w[m0*k:], k, packed[m0*k:])
	})
}

// split returns how the products of a group are dealt out to workers
// workers: each image's output rows in chunks of rows rows, each split
// into blocks of width output channels (whole panels of the packed
// weights). Chunks hold about gatherChunk positions, evened out; when
// the images have fewer of them in all than gatherItemsPerWorker per
// worker, or not a multiple of the workers (the small planes of a
// network's late layers: 7x7 and 14x14 are one chunk), the channels are
// split too, as gatherBlocks says. The workers take the items one at a
// time as they come (gatherTask.Range): one that the system holds
// back, or that comes late, leaves its items to the others. Every
// product sums its terms in the same order whatever the split
// (linalg.Blocked's k blocks depend on k alone), so results do not
// depend on it.
func (s *gatherGeometry) split(oh, ow, mg, workers int) (rows, chunks, width, blocks int) {
	chunks = ceilDiv(oh, max(1, gatherChunk/ow))
	rows = ceilDiv(oh, chunks)
	chunks = ceilDiv(oh, rows)
	width, blocks = mg, 1
	all := s.p.N * chunks
	if workers == 1 || all%workers == 0 && all >= gatherItemsPerWorker*workers {
		return rows, chunks, width, blocks
	}
	width = s.gatherBlocks(mg, rows, chunks, oh, ow, workers)
	return rows, chunks, width, ceilDiv(mg, width)
}

// gatherBlocks returns the width, in output channels, of the blocks
// into which split cuts the channels of each of the chunks: the whole
// panels that give the busiest of the workers the least work, the
// items dealt as the workers would take them (dealItems); among splits
// within 1% of that, the one of most items up to gatherItemsPerWorker
// per worker. Where the micro-kernel computes tiles of two panels (32
// channels on AVX-512), a panel left alone goes to the narrower kernel,
// counted gatherSinglePanelCost times a panel of a pair.
func (s *gatherGeometry) gatherBlocks(mg, rows, chunks, oh, ow, workers int) int {
	nr := s.gemm.PanelWidth()
	pair := gatherWidth(s.gemm) >= 2*nr
	panels := ceilDiv(mg, nr)
	cost := func(width int) float64 { // of a block's channels, in panels of a pair
		if !pair {
			return float64(ceilDiv(width, nr))
		}
		return float64(width/(2*nr)*2) + gatherSinglePanelCost*float64(ceilDiv(width%(2*nr), nr))
	}
	best, bestLoad, bestItems := mg, 0.0, 0
	for b := 1; b <= min(panels, gatherItemsPerWorker*workers); b++ {
		width := ceilDiv(panels, b) * nr
		blocks := ceilDiv(mg, width)
		items := s.p.N * chunks * blocks
		load := dealItems(items, workers, func(item int) float64 {
			c, blk := item/blocks%chunks, item%blocks
			return float64(min(rows, oh-c*rows)*ow) * cost(min(width, mg-blk*width))
		})
		better := best == mg && b == 1 || load < bestLoad*0.99 ||
			load <= bestLoad*1.01 && items > bestItems && items <= gatherItemsPerWorker*workers
		if better {
			best, bestLoad, bestItems = width, load, items
		}
	}
	return best
}

// gatherSinglePanelCost is the time of a panel of 16 output channels
// computed alone (6x16 AVX2 tiles of the gathered input) against that of
// one of a pair (6x32 or 7x32 AVX-512 tiles): ResNet-18's 3x3 512->512
// at 7x7 took 2.97-3.07 ms with the former, 2.44-2.61 with the latter
// (see gatherPairAVX512).
const gatherSinglePanelCost = 1.2

// dealItems returns the most work that one of workers ends with when
// they take items [0, items) in order, each the next one as it finishes
// the last, all at the same speed; size is the work of an item.
func dealItems(items, workers int, size func(item int) float64) float64 {
	var load [8]float64
	if workers > len(load) {
		workers = len(load) // a bound for the estimate: more workers only even it out
	}
	for item := range items {
		least := 0
		for w := 1; w < workers; w++ {
			if load[w] < load[least] {
				least = w
			}
		}
		load[least] += size(item)
	}
	return slices.Max(load[:workers])
}

// gatherItemsPerWorker is how many items split gives each worker at
// most by splitting channels: with one item each, a worker held back by
// the system (for milliseconds at a time on a shared virtual machine)
// held up the layer; the items split the channels, which costs no
// extra pass over the input (the products read it once per panel of
// weights whatever the split), only the padded rows of a chunk copied
// once more per item when the worker's previous item was of another
// chunk.
const gatherItemsPerWorker = 4

// evenShare reports whether split deals no worker more than
// gatherMaxShare of the products of a group (of the current number of
// workers), the items dealt as the workers take them (dealItems).
func (s *gatherGeometry) evenShare(oh, ow int) bool {
	workers := parallel.Threads()
	mg := s.p.M / s.p.Group
	rows, chunks, width, blocks := s.split(oh, ow, mg, workers)
	if workers == 1 || s.p.N*chunks >= gatherItemsPerWorker*workers {
		return true
	}
	most := dealItems(s.p.N*chunks*blocks, workers, func(item int) float64 {
		c, b := item/blocks%chunks, item%blocks
		return float64(min(rows, oh-c*rows)*ow) * float64(min(width, mg-b*width))
	})
	return most <= gatherMaxShare*float64(s.p.N*oh*ow*mg)
}

// gatherMaxShare is the largest share of the work of a split that
// evenShare lets one worker take.
const gatherMaxShare = 0.56

// gatherTask is run's loop over the products of group g (see split):
// each worker takes the next item until none is left; item t is image
// t/(chunks*blocks), and of it chunk t/blocks%chunks of output rows and
// block t%blocks of output channels, the product of the chunk's window
// by the packed weights, stored transposed into y.
type gatherTask struct {
	s                              *gatherGeometry
	serial                         linalg.WindowGemm
	x, packed, y                   []float32
	e                              slideEpilogue
	g, rows, chunks, width, blocks int
	items                          int
	plane                          int   // the distance between two planes of x
	next                           int64 // the next item to take, atomically
}

var gatherTasks parallel.Tasks[gatherTask]

func (t *gatherTask) Range(_, _ int) {
	s, p := t.s, t.s.p
	oh, ow := p.OutSize()
	ohw, mg, k, cg := oh*ow, p.M/p.Group, p.colRows(), p.C/p.Group
	prod := getBuffer(t.rows * ow * t.width)
	defer putBuffer(prod)
	off := offsets.get(k)
	defer offsets.put(off)
	// A padded convolution reads a chunk's rows from planes of its own
	// (the rows of a chunk's windows), an unpadded one the input.
	plane, planeRows := t.plane, p.H
	var planes []float32
	if s.padded() {
		planeRows = (t.rows-1)*p.StrideH + (p.KH-1)*p.DilationH + 1
		plane = planeRows * s.wp
		planes = getBuffer(cg * plane)
		defer putBuffer(planes)
	}
	win := s.window(off, plane)
	lastN, lastY := -1, -1 // the chunk in planes
	for {
		task := int(atomic.AddInt64(&t.next, 1) - 1)
		if task >= t.items {
			return
		}
		n, c := task/(t.chunks*t.blocks), task%(t.chunks*t.blocks)
		oy0, m0 := c/t.blocks*t.rows, c%t.blocks*t.width
		p0, cnt := oy0*ow, min(t.rows, oh-oy0)*ow
		chans := min(t.width, mg-m0)
		if planes != nil {
			if n != lastN || oy0 != lastY {
				s.padRows(t.x, planes, n, t.g, oy0*p.StrideH, planeRows)
				lastN, lastY = n, oy0
			}
			win.X = planes
		} else {
			win.X = t.x[(n*p.C+t.g*cg)*t.plane+oy0*win.RowStride:]
		}
		base := (n*p.M + t.g*mg) * ohw
		t.serial.SgemmWindowA(cnt, chans, k, 1, win, t.packed[m0*k:], 0, prod, chans)
		t.e.storeTransposed(t.y[t.e.at(base+m0*ohw+p0):], base+m0*ohw+p0, ohw, prod, cnt, t.g*mg+m0, chans)
	}
}

// storeTransposed stores the product prod [positions, channels] of
// channels [m0, m0+channels) into the planes of y, planeLen apart from
// dst on (at offset off of the output), with e's bias, residual and
// activation, through vec.TransposeBiasResidual in 8x8 blocks: a
// residual and Relu go with the stores, other activations in a pass per
// plane after them, or one pass over all the channels when the
// positions are whole planes (a late layer's 7x7 or 14x14 in one
// chunk), which lie end to end in y. The window read as A serves
// forward passes only, whose epilogues store.
//
// One pass rather than a call per plane of 49 positions took 0.87 of
// the CPU time of MobileNet V3's 96->576@7x7 with HardSwish, 0.91 of
// V2's 160->960@7x7 with Clip and of V3's 40->240@14x14 (one thread,
// the window forced, medians of 5 interleaved rounds, loaded machine;
// BenchmarkConvPointwise).
//
// With the residual in the stores rather than in two passes per plane
// after them (add, then Relu), ResNet-50's last 1x1 convolutions of
// their blocks on 14x14 and 7x7 planes took 0.96 (256->1024@14) and
// 0.93 (512->2048@7) of the CPU time on one thread (medians of 3
// interleaved rounds, loaded machine; BenchmarkConvResidual).
func (e *slideEpilogue) storeTransposed(dst []float32, off, planeLen int, prod []float32, positions, m0, channels int) {
	if e.accumulate {
		panic("kernels: a transposed store does not accumulate")
	}
	var bias []float32
	if e.bias != nil {
		bias = e.bias[m0 : m0+channels]
	}
	if e.residual != nil && (e.act.Kind == ActIdentity || e.act.relu()) {
		vec.TransposeBiasResidual(dst, planeLen, prod, channels, positions, channels, bias, e.residual[off:], e.act.relu())
		return
	}
	vec.TransposeBias(dst, planeLen, prod, channels, positions, channels, bias, e.storeRelu())
	switch {
	case e.residual == nil && (e.act.Kind == ActIdentity || e.act.relu()):
	case positions == planeLen:
		// Whole planes: the channels' planes are one run of y.
		e.finish(dst[:channels*planeLen], off)
	default:
		for m := range channels {
			e.finish(dst[m*planeLen:][:positions], off+m*planeLen)
		}
	}
}

// backwardFilter adds the gradient of the loss with respect to the
// weights to dw, given the output gradient dy. For input channel c of a
// group, dW[:, c]^T [KH*KW, M/Group] is the window of plane c read as A,
// the taps by the output positions (A[tap][q] = plane at the position's
// offset plus the tap's), times dY^T, summed over the images: dY of an
// image is packed once as the product's B and serves every channel.
func (s *gatherGeometry) backwardFilter(x, dy, dw []float32) {
	p := s.p
	oh, ow := p.OutSize()
	ohw, mg, cg, taps := oh*ow, p.M/p.Group, p.C/p.Group, p.KH*p.KW
	packed := getBuffer(s.gemm.PackedLen(ohw, mg))
	defer putBuffer(packed)
	off := offsets.get(ohw)
	defer offsets.put(off)
	for q := range off {
		off[q] = int32(q/ow*p.StrideH*s.wp + q%ow*p.StrideW)
	}
	var planes []float32
	if s.padded() {
		planes = getBuffer(cg * s.hp * s.wp)
		defer putBuffer(planes)
	}
	gradT := getBuffer(cg * taps * mg) // [C/Group][KH*KW][M/Group]
	defer putBuffer(gradT)
	for g := 0; g < p.Group; g++ {
		for n := 0; n < p.N; n++ {
			src := x[(n*p.C+g*cg)*p.H*p.W:]
			if planes != nil {
				s.pad(x, planes, n, g)
				src = planes
			}
			s.gemm.PackB(true, ohw, mg, dy[(n*p.M+g*mg)*ohw:], ohw, packed)
			beta := float32(1)
			if n == 0 {
				beta = 0
			}
			for c := 0; c < cg; c++ {
				win := linalg.Window{X: src[c*s.hp*s.wp:], Off: off,
					RowLen: p.KW, RowStride: p.DilationH * s.wp, Step: p.DilationW}
				s.gemm.SgemmWindowA(taps, mg, ohw, 1, win, packed, beta, gradT[c*taps*mg:], mg)
			}
		}
		// dw[g*mg+m][c][tap] += gradT[c][tap][m]
		parallel.For(mg, grainFor(cg*taps), func(lo, hi int) {
			for m := lo; m < hi; m++ {
				kernel := dw[(g*mg+m)*cg*taps:][:cg*taps]
				for ct := range kernel {
					kernel[ct] += gradT[ct*mg+m]
				}
			}
		})
	}
}
