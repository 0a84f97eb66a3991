package kernels

// Pointwise (1x1) convolutions as products read in place.
//
// A 1x1 convolution without padding multiplies the weights of a group,
// [M/Group, C/Group], by the group's input planes, [C/Group, OH*OW]:
// with unit strides those planes are the input itself, row q of the
// product's B lying at q*H*W from the group's first plane. So B is a
// linalg.Window over x, Off[q] = q*H*W, which the GEMM's sliding-window
// kernels read in place, and C is the output planes, row stride OH*OW:
// no im2col matrix. Products of many output channels pack the columns
// of each block instead (see pointwisePacks), in cache, for the rows to
// share. Strided 1x1 convolutions (ResNet's downsampling) first gather
// the columns of a block.
//
// The product of one image and group is cut into blocks of columns (and
// of rows, when there are too few blocks of columns for the workers),
// which the workers take in turn; each block is computed by the serial
// GEMM straight into y and finished there (bias, residual, activation)
// while it is still in cache, rather than in a pass over the whole
// output afterwards. Every element is summed in the same order whatever
// the blocks (linalg.Blocked's k blocks depend on k alone), so results
// do not depend on the thread count.

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// pointwiseBlockElems is about how many elements of the output one block
// of the product holds: 256 KiB, which stays in L2 between the product
// and its epilogue.
const pointwiseBlockElems = 1 << 16

// pointwiseMinCols is the fewest columns of a block of columns (split
// finer, the product rereads the weights for too little work), unless
// the planes are smaller.
const pointwiseMinCols = 128

// pointwiseFusedMinCols is the fewest output positions for which the
// products apply the bias and activation in their stores (see run).
const pointwiseFusedMinCols = 13 * 13

// pointwiseMinRows is the fewest rows of a block of rows.
const pointwiseMinRows = 48

// pointwiseEdgeCols is the most columns of a block past whole panels of
// the GEMM that are computed as matrix-vector products rather than a
// panel of their own, which would waste the rest of it: 7x7 planes are
// three panels of 16 columns and one.
const pointwiseEdgeCols = 2

// pointwiseGeometry is the layout of a 1x1 convolution without padding
// computed as products that read their input in place (see the comment
// at the top of this file).
type pointwiseGeometry struct {
	p    *ConvParams
	gemm linalg.WindowGemm
	// strided says the columns are gathered (strides other than 1).
	strided bool
	// packs says the columns of a block are packed into the GEMM's
	// panels rather than read in place (see pointwisePacks).
	packs bool
	// packedW, when not nil, holds the weights of each group packed
	// for the GEMM (see packWeights), for the products of packed
	// columns; otherwise they read the weights as stored.
	packedW []linalg.PackedA
}

// pointwisePackedAMinK is the fewest input channels per group for which
// a prepared plan packs the weights of the products of packed columns
// (see packWeights). Read in place, the weights of a tile are as many
// rows 4·C/Group bytes apart (on the same set of L1 at multiples of
// 1024 channels), and the last panel of rows (128 output channels are
// ten tiles of 12 and one of 8) is packed on every call; packed once,
// the products read one contiguous run per block. Measured in CPU time
// (medians of 5 runs alternated shape by shape, loaded machine), the
// prepared products took 0.96-0.99 of the time of those reading the
// weights in place on one thread, 0.94-1.03 on two, on DenseNet-121's
// and ResNet-50's 1x1 layers of 256 to 2048 input channels on 7x7 to
// 56x56 planes at batch 1 (an unchanged 64-channel layer 1.01-1.02).
const pointwisePackedAMinK = 128

// pointwisePackedAMaxTailBytes is the most bytes of weights per group
// that packWeights packs when the last columns of a block are
// matrix-vector products (see pointwiseEdgeCols), which read the
// weights as stored: beyond, the two copies are read from memory on
// every call, where the one stored alone would be. On ResNet-50's
// 7x7 planes (512->2048 and 2048->512, 4 MiB of weights) the prepared
// products took 1.05-1.10 of the time of the unprepared ones.
const pointwisePackedAMaxTailBytes = 1 << 20

// packWeights returns the weights of each group of w packed for
// linalg.PackedAGemm.SgemmPackedAB, or nil when s does not multiply so:
// when its GEMM cannot, its columns are read in place, the groups have
// fewer than pointwisePackedAMinK input channels, or their weights
// exceed pointwisePackedAMaxTailBytes with matrix-vector columns.
func (s *pointwiseGeometry) packWeights(w []float32) []linalg.PackedA {
	p := s.p
	mg, cg := p.M/p.Group, p.C/p.Group
	oh, ow := p.OutSize()
	nr := s.gemm.PanelWidth()
	tail := oh * ow % nr
	vectors := tail > 0 && tail <= pointwiseEdgeCols && oh*ow > nr
	pg, ok := s.gemm.(linalg.PackedAGemm)
	if !ok || !s.packs || cg < pointwisePackedAMinK || vectors && 4*mg*cg > pointwisePackedAMaxTailBytes {
		return nil
	}
	packed := make([]linalg.PackedA, p.Group)
	for g := range packed {
		packed[g] = pg.PackA(mg, cg, w[g*mg*cg:], cg)
	}
	return packed
}

// pointwiseWindow returns the geometry of p as pointwise products, or
// why it cannot compute p (a kernel other than 1x1, padding, a GEMM that
// is not a linalg.WindowGemm, planes beyond int32 offsets), and whether
// it pays: when the product of an image and group has more than one row
// and at least a panel of the GEMM's columns (fewer make it a product
// with one column, or leave most of a panel empty), and, for more than
// one image or strides other than 1, pointwiseMinBatchedCols, unless
// the products of many images pack their columns and have
// pointwisePackedAMinK input channels (see pointwiseMinBatchedCols).
func (p *ConvParams) pointwiseWindow(gemm linalg.Gemm) (s pointwiseGeometry, cannot string, pays bool) {
	wg, ok := gemm.(linalg.WindowGemm)
	oh, ow := p.OutSize()
	if b, blocked := gemm.(linalg.Blocked); blocked && pointwiseWidePays(b, b.Wide(), p.M/p.Group, oh*ow) {
		wg = b.Wide()
	}
	switch {
	case !ok:
		return s, fmt.Sprintf("the GEMM (%T) does not implement linalg.WindowGemm", gemm), false
	case p.KH != 1 || p.KW != 1:
		return s, "kernel not 1x1", false
	case p.PadTop+p.PadLeft+p.PadBottom+p.PadRight > 0:
		return s, "padded", false
	case float64(p.C/p.Group)*float64(p.H*p.W) > math.MaxInt32:
		return s, "planes of a group beyond int32 offsets", false
	}
	s = pointwiseGeometry{p: p, gemm: wg, strided: p.StrideH != 1 || p.StrideW != 1}
	s.packs = pointwisePacks(p.M / p.Group)
	deep := !s.strided && s.packs && p.C/p.Group >= pointwisePackedAMinK
	pays = p.M/p.Group > 1 && oh*ow >= wg.PanelWidth() &&
		(p.N == 1 && !s.strided || oh*ow >= pointwiseMinBatchedCols || deep)
	return s, "", pays
}

// pointwiseWidePays reports whether the products of mg output channels
// by ohw columns pay with the wide kernel of the GEMM (on AVX-512, tiles
// of 12×32 rather than 6×16) rather than the narrow one: the wide
// tiles took 0.85-0.97 of the time of the narrow ones (one thread,
// interleaved) on 28x28 to 112x112 planes (MobileNet V2's 16->96@112,
// 24->144@56, 144->24@56, V3's 16->72@56 and 72->24@28), whose
// products waste no more columns with the one than with the other;
// but they compute their rows and columns in larger steps, which cost
// 7x7 planes a third more (49 columns in 64 rather than 48 and one as a
// matrix-vector product) and SqueezeNet's 16 squeeze channels a
// quarter (24 rows rather than 18). So the wide kernel where the rows
// and columns it computes, times 0.95, are no more than the narrow
// one's.
func pointwiseWidePays(narrow, wide linalg.Blocked, mg, ohw int) bool {
	if wide.PanelWidth() == narrow.PanelWidth() && wide.TileRows() == narrow.TileRows() {
		return false
	}
	computed := func(g linalg.Blocked) float64 {
		nr := g.PanelWidth()
		cols := ohw
		if tail := ohw % nr; tail > 0 && tail <= pointwiseEdgeCols && ohw > nr {
			cols -= tail // matrix-vector products
		}
		return float64(roundUpInt(mg, g.TileRows())) * float64(roundUpInt(cols, nr))
	}
	return 0.95*computed(wide) <= computed(narrow)
}

// pointwiseMinBatchedCols is the fewest output positions per image for
// which pointwise products pay with more than one image, or with
// strides other than 1. Each image's product reads all the weights of
// its rows, a block at a time, for as many panels of columns as the
// image has: with few, the first pass over each block, from L3 or
// memory, is much of the work, where im2col puts the images side by
// side; and the blocks of rows of a small strided plane each gather all
// its columns again, where im2col gathers them once. Measured in CPU
// time (interleaved, 2 threads, loaded machine; the wall time was the
// machine's), at batch 8 im2col took 0.78 of the time at 7x7
// (ResNet-50's 512->2048), the products 0.97 at 14x14 (1024->256) and
// 0.33-1.00 from 28x28 on; at batch 1, im2col 0.73-0.98 of the time of
// gathered products at 7x7 and 14x14 outputs (ResNet's last
// downsamplings), and 1.08-1.39 at 28x28. Since, products of at least
// pointwisePackedAMinK input channels (with prepared weights packed)
// took 0.78-0.90 of im2col's CPU time at batch 8 on 7x7 and 14x14
// planes (DenseNet-121's 512->128@14 0.78, 1024->128@14 0.85,
// 768->128@7 0.84, ResNet-50's 1024->256@14 0.90; 2048->512@7, its
// weights unpacked, 1.00; 2 threads, medians of 4 runs alternated
// shape by shape, loaded machine), and pay whatever the plane.
const pointwiseMinBatchedCols = 512

// pointwisePacks reports whether products of mg output channels per
// group pack the columns of their blocks rather than read them in
// place. A panel read in place takes its rows from as many planes, one
// or two cache lines each (two when the planes are not a multiple of
// the panel wide), where a packed one is contiguous; the packing costs
// a copy of the block's input, which the rows share. Measured in CPU
// time (interleaved, batch 1, 2 threads), packing took 0.85-0.91 of
// the time at 96 to 2048 output channels (MobileNet V2's 16->96@112x112
// and 320->1280@7x7, ShuffleNet's 464->1024@7x7, ResNet-50's
// 512->2048@7x7), 0.90-0.95 at 58 and 64 (SqueezeNet's expand 1x1,
// ShuffleNet's 58->58@28x28; but 1.06 at ResNet-50's 256->64@56x56),
// and 1.03-1.16 at 16 and 24 (SqueezeNet's squeeze layers, MobileNet
// V2's projections).
func pointwisePacks(mg int) bool { return mg >= 48 }

// pointwiseSplit is how the products of a pointwise convolution are
// dealt out: each image and group in chunks of columns (output
// positions), the product's panels of columns dealt out evenly (see
// columns), cols those of the widest, by blocks of rows output
// channels.
type pointwiseSplit struct {
	cols, chunks, panels int
	rows, blocks         int
}

// columns returns the columns [j0, j1) of chunk c of the ohw columns of
// a product in panels of nr: panels [c*panels/chunks,
// (c+1)*panels/chunks), so that the chunks differ by one panel at most.
// 28x28 planes in panels of 32 are 25 panels, four chunks of 6 or 7;
// chunks of the same width, 224 columns (7 panels), left a last one of
// 112, and one of two workers 448 columns to the other's 336.
func (sp *pointwiseSplit) columns(c, ohw, nr int) (j0, j1 int) {
	return c * sp.panels / sp.chunks * nr, min((c+1)*sp.panels/sp.chunks*nr, ohw)
}

// split returns the blocks of the products: columns in chunks of whole
// panels that keep a block of the output about pointwiseBlockElems, cut
// finer (down to pointwiseMinCols) until every worker has two chunks,
// then rows in blocks when there are still fewer (the small planes of
// a network's last layers). Fewer, wider chunks spare the epilogue
// calls per row of a block, which at a depth of 16 or 64 input
// channels cost as much as a good part of the product: with chunks
// for two per worker rather than four, the CPU time relative to
// im2col's in the same run was 0.78-1.01 of what it had been, on the
// zoo's 1x1 layers of 28x28 to 112x112 planes.
func (s *pointwiseGeometry) split(workers int) pointwiseSplit {
	p := s.p
	oh, ow := p.OutSize()
	ohw, mg := oh*ow, p.M/p.Group
	nr := s.gemm.PanelWidth()
	products := p.N * p.Group
	cols := max(pointwiseMinCols, pointwiseBlockElems/mg/nr*nr)
	for cols > pointwiseMinCols && products*ceilDiv(ohw, cols) < 2*workers {
		cols = max(pointwiseMinCols, cols/2/nr*nr)
	}
	sp := pointwiseSplit{chunks: ceilDiv(ohw, cols)}
	// A few more chunks, if that makes them a multiple of the workers:
	// 19 chunks on 2 workers leave one idle for a twentieth of the time.
	for extra := 1; products*sp.chunks%workers != 0 && extra < workers && ohw/(sp.chunks+1) >= pointwiseMinCols; extra++ {
		sp.chunks++
	}
	sp.panels = ceilDiv(ohw, nr)
	sp.chunks = min(sp.chunks, sp.panels)
	sp.cols = min(ohw, ceilDiv(sp.panels, sp.chunks)*nr) // the widest chunk
	sp.rows, sp.blocks = mg, 1
	if tasks := products * sp.chunks; tasks < 2*workers {
		sp.blocks = min(ceilDiv(2*workers, tasks), max(1, mg/pointwiseMinRows))
		// The GEMM's tiles of rows dealt out evenly: 128 rows are 22
		// tiles of 6, 66 and 62 rows in two blocks (where blocks of a
		// multiple of 24 rows, 72 and 56, took 12 tiles and 10).
		mr := 24 // whole tiles of 4, 6, 12 rows
		if g, ok := s.gemm.(interface{ TileRows() int }); ok {
			mr = g.TileRows()
		}
		sp.rows = ceilDiv(ceilDiv(mg, mr), sp.blocks) * mr
		sp.blocks = ceilDiv(mg, sp.rows)
	}
	return sp
}

// run computes the convolution of x into y by the weights w, chunk by
// chunk, with the epilogue e (which may accumulate).
func (s *pointwiseGeometry) run(x, w, y []float32, e slideEpilogue) {
	s.runAffine(x, 0, w, y, e, nil)
}

// packsAffine reports whether the plan of algorithm alg whose pointwise
// geometry is s packs its columns through an input map (runAffine): the
// pointwise products that pack their columns, with a GEMM that packs
// through a linalg.RowAffine.
func (s *pointwiseGeometry) packsAffine(alg convAlgorithm) bool {
	_, ok := s.gemm.(linalg.AffinePackGemm)
	return alg == convPointwise && s.packs && ok
}

// runAffine is run of in applied to x (nil: x as it is), which the
// products apply as they pack the columns of each block (s must
// packsAffine) and to the columns they compute as matrix-vector
// products, with image n of x at x[n*xStride:] (0: one after the
// other).
func (s *pointwiseGeometry) runAffine(x []float32, xStride int, w, y []float32, e slideEpilogue, in *InputAffine) {
	p := s.p
	oh, ow := p.OutSize()
	cg := p.C / p.Group
	if xStride == 0 {
		xStride = p.C * p.H * p.W
	}
	workers := parallel.Threads()
	if !parallel.Worth(2 * float64(p.N*p.M*oh*ow) * float64(cg)) {
		workers = 1
	}
	sp := s.split(workers)
	t := pointwiseTasks.Get()
	*t = pointwiseTask{s: s, serial: linalg.Serial(s.gemm), x: x, xImage: xStride, w: w, y: y, e: e, sp: sp,
		tasks: p.N * p.Group * sp.chunks * sp.blocks}
	if in != nil {
		t.in = *in
	}
	// Only the products of packed columns on planes of 13x13 or more
	// take the epilogue in their stores. On the columns read in place
	// (fewer than 48 output channels: MobileNet V2's 32->16@112x112, V3's
	// 16->16@56x56, SqueezeNet's 128->16@55x55) the fused stores took
	// 0.93-1.07 of the time of the passes (medians of 10 rounds: no
	// gain), and on 7x7 planes 1.02-1.15 (MobileNet V2's
	// 320->1280@7x7, ShuffleNet's 464->1024@7x7), whose whole blocks
	// the passes finish at once; where packed columns on larger planes
	// took 0.73-0.96 (MobileNet V2's 16->96@112x112 and 24->144@56x56,
	// V3's 16->72@56x56, SqueezeNet's 512->1000@13x13). CPU time, one
	// thread and two, interleaved, loaded machine.
	//
	// With a residual (ResNet's Conv, Add, Relu), the products add the
	// bias as they store, and one pass per row of a block adds the
	// residual and applies the activation (rest): the same roundings,
	// in the same order, as the passes after the product, one pass
	// fewer. ResNet-50's 128->512@28 with its shortcut took 0.97-0.98 of
	// the CPU time (one thread, interleaved, BenchmarkConvResidual).
	if t.fused, t.storeAct = e.storeEpilogue(); t.fused && s.packs && oh*ow >= pointwiseFusedMinCols {
		t.eg, t.fused = t.serial.(linalg.EpilogueGemm)
	} else if t.fused = e.residual != nil && !e.accumulate && e.bias != nil && s.packs && oh*ow >= pointwiseFusedMinCols; t.fused {
		t.storeAct = linalg.Epilogue{Act: linalg.EpilogueNone}
		t.eg, t.fused = t.serial.(linalg.EpilogueGemm)
		t.rest, t.rest.bias = e, nil
	} else {
		t.fused = false
	}
	// The weights packed in advance, when every block of rows starts
	// on a panel of them.
	if pg, ok := s.gemm.(linalg.PackedAGemm); ok && s.packedW != nil && (sp.blocks == 1 || sp.rows%pg.TileRows() == 0) {
		t.pa = linalg.Serial(pg)
	}
	t.off = offsets.get(cg)
	hw := p.H * p.W
	if s.strided {
		hw = roundUpInt(sp.cols, s.gemm.PanelWidth())
	}
	for q := range t.off {
		t.off[q] = int32(q * hw)
	}
	parallel.Run(min(workers, t.tasks), 1, t)
	offsets.put(t.off)
	pointwiseTasks.Put(t)
}

// roundUpInt rounds x up to a multiple of to.
func roundUpInt(x, to int) int { return ceilDiv(x, to) * to }

// pointwiseTask is run's loop: each worker takes the next block of a
// product (item i is block i%blocks of rows of chunk i/blocks%chunks of
// the columns of group i/blocks/chunks%Group of image
// i/blocks/chunks/Group) until none is left.
type pointwiseTask struct {
	s       *pointwiseGeometry
	serial  linalg.WindowGemm
	x, w, y []float32
	e       slideEpilogue
	sp      pointwiseSplit
	off     []int32 // q times the distance between two rows of B
	xImage  int     // the elements from one image of x to the next
	tasks   int
	next    int64 // the next item to take, atomically
	// fused says that the products apply the bias and the activation
	// as they store their tiles (eg, with storeAct), rather than
	// finishBlock in passes after them.
	fused    bool
	eg       linalg.EpilogueGemm
	storeAct linalg.Epilogue
	// pa, when not nil, multiplies by the weights packed in s.packedW.
	pa linalg.PackedAGemm
	// rest, when its residual is set, is e without the bias that the
	// fused stores add: what is left for a pass after them.
	rest slideEpilogue
	// in, when its Scale is not nil, maps the input channels as the
	// columns are packed (see runAffine). A copy, so that the caller's
	// map does not escape to the heap through the pooled task.
	in InputAffine
}

var pointwiseTasks parallel.Tasks[pointwiseTask]

func (t *pointwiseTask) Range(_, _ int) {
	s, p, sp := t.s, t.s.p, t.sp
	oh, ow := p.OutSize()
	ohw, hw, mg, cg := oh*ow, p.H*p.W, p.M/p.Group, p.C/p.Group
	nr := s.gemm.PanelWidth()
	stride := roundUpInt(sp.cols, nr)
	var buf, odd, packed []float32 // the gathered columns or the last panel, gather's scratch, and the packed columns
	switch {
	case s.strided:
		buf, odd = getBuffer(cg*stride), getBuffer(ow)
		defer putBuffer(buf)
		defer putBuffer(odd)
	case !s.packs:
		buf = getBuffer(cg * nr)
		defer putBuffer(buf)
	}
	if s.packs {
		packed = getBuffer(s.gemm.PackedLen(cg, sp.cols))
		defer putBuffer(packed)
	}
	var tailOff []int32
	var column []float32 // a column of B mapped by t.in
	epi := t.storeAct    // this worker's, with the bias of each block's rows
	for {
		i := int(atomic.AddInt64(&t.next, 1) - 1)
		if i >= t.tasks {
			return
		}
		blk, chunk := i%sp.blocks, i/sp.blocks%sp.chunks
		g, n := i/sp.blocks/sp.chunks%p.Group, i/sp.blocks/sp.chunks/p.Group
		m0, m1 := blk*sp.rows, min((blk+1)*sp.rows, mg)
		j0, j1 := sp.columns(chunk, ohw, nr)
		cols := j1 - j0
		a := t.w[(g*mg+m0)*cg:]
		ybase := (n*p.M + g*mg + m0) * ohw
		c := t.y[t.e.at(ybase)+j0:]
		if t.fused && t.e.bias != nil {
			epi.Bias = t.e.bias[g*mg+m0 : g*mg+m1]
		}
		// src and ld are the block's columns of the input, row q at
		// src[q*ld:], gathered into buf when strided.
		src, ld := t.x[n*t.xImage+g*cg*hw+j0:], hw
		in := t.in.image(n, p.C)
		if s.strided {
			s.gather(t.x[n*t.xImage:], buf, odd, g, j0, j1, stride)
			src, ld = buf, stride
		}
		if tail := cols % nr; tail > 0 && tail <= pointwiseEdgeCols && cols > nr {
			// The last columns as matrix-vector products.
			cols -= tail
			for j := cols; j < j1-j0; j++ {
				col, cld := src[j:], ld
				if t.in.Scale != nil {
					if column == nil {
						column = getBuffer(cg)
						defer putBuffer(column)
					}
					col, cld = in.column(column, src[j:], ld, g*cg, cg), 1
				}
				t.serial.Sgemm(false, false, m1-m0, 1, cg, 1, a, cg, col, cld, t.beta(), c[j:], ohw)
			}
			if t.fused {
				t.e.finishBlock(t.y, ybase, ohw, g*mg+m0, m1-m0, j0+cols, j1)
			}
		}
		switch {
		case s.packs:
			if t.in.Scale != nil {
				s.gemm.(linalg.AffinePackGemm).PackBAffine(cg, cols, src, ld, packed, in.rows(g*cg, (g+1)*cg))
			} else {
				s.gemm.PackB(false, cg, cols, src, ld, packed)
			}
			if t.pa != nil {
				var e *linalg.Epilogue
				if t.fused {
					e = &epi
				}
				t.pa.SgemmPackedAB(cols, 1, s.packedW[g].Rows(m0, m1), packed, t.beta(), c, ohw, e)
				break
			}
			if t.fused {
				t.eg.SgemmPackedBEpilogue(m1-m0, cols, cg, 1, a, cg, packed, t.beta(), c, ohw, &epi)
				break
			}
			t.serial.SgemmPackedB(m1-m0, cols, cg, 1, a, cg, packed, t.beta(), c, ohw)
		case s.strided:
			t.product(a, m1-m0, cols, buf, t.off, c, ohw)
		default:
			// The panels read past the group's last plane by up to a
			// panel: the last one is copied when that is past x.
			if tail := cols % nr; tail > 0 && (cg-1)*hw+cols-tail+nr > len(src) {
				cols -= tail
				if tailOff == nil {
					tailOff = offsets.get(cg)
					defer offsets.put(tailOff)
					for q := range tailOff {
						tailOff[q] = int32(q * nr)
					}
				}
				for q := 0; q < cg; q++ {
					copy(buf[q*nr:q*nr+tail], src[q*hw+cols:])
				}
				t.product(a, m1-m0, tail, buf, tailOff, c[cols:], ohw)
			}
			if cols > 0 {
				t.product(a, m1-m0, cols, src, t.off, c, ohw)
			}
		}
		switch {
		case !t.fused:
			t.e.finishBlock(t.y, ybase, ohw, g*mg+m0, m1-m0, j0, j1)
		case t.rest.residual != nil:
			t.rest.finishBlock(t.y, ybase, ohw, g*mg+m0, m1-m0, j0, j0+cols)
		}
	}
}

// beta is the GEMM's beta: 1 when the epilogue accumulates, else 0.
func (t *pointwiseTask) beta() float32 {
	if t.e.accumulate {
		return 1
	}
	return 0
}

// product computes the m×n block c (row stride ldc) of the weights a
// (row stride C/Group) times B read through the window of x with the
// offsets off: stored, or added when the epilogue accumulates.
func (t *pointwiseTask) product(a []float32, m, n int, x []float32, off []int32, c []float32, ldc int) {
	p := t.s.p
	cg := p.C / p.Group
	win := linalg.Window{X: x, Off: off[:cg]}
	t.serial.SgemmWindow(false, m, n, cg, 1, a, cg, win, t.beta(), c, ldc)
}

// storeEpilogue returns e as the GEMM's store epilogue, without its
// bias (which each block of rows takes its part of), and whether the
// GEMM can apply e so: a bias or an activation, the activation Relu or
// Clip, no residual and no accumulation.
func (e *slideEpilogue) storeEpilogue() (bool, linalg.Epilogue) {
	if e.accumulate || e.residual != nil || e.bias == nil && e.act.Kind == ActIdentity {
		return false, linalg.Epilogue{}
	}
	switch e.act.Kind {
	case ActIdentity:
		return true, linalg.Epilogue{Act: linalg.EpilogueNone}
	case ActRelu:
		return true, linalg.Epilogue{Act: linalg.EpilogueRelu}
	case ActClip:
		return true, linalg.Epilogue{Act: linalg.EpilogueClip, Lo: e.act.Alpha, Hi: e.act.Beta}
	}
	return false, linalg.Epilogue{}
}

// gather copies columns [j0, j1) of the strided input of group g of
// the image x into buf, row q (input channel) at q*stride; odd, of OW
// elements, is scratch for the odd columns that a stride of 2 splits
// off (vec.Deinterleave) and drops.
func (s *pointwiseGeometry) gather(x, buf, odd []float32, g, j0, j1, stride int) {
	p := s.p
	_, ow := p.OutSize()
	cg, hw := p.C/p.Group, p.H*p.W
	for q := 0; q < cg; q++ {
		plane := x[(g*cg+q)*hw:][:hw]
		dst := buf[q*stride : q*stride+j1-j0]
		for j := j0; j < j1; {
			oy, ox := j/ow, j%ow
			run := min(ow-ox, j1-j)
			src := plane[oy*p.StrideH*p.W+ox*p.StrideW:]
			d := dst[j-j0 : j-j0+run]
			if p.StrideW == 2 {
				vec.Deinterleave(d, odd[:run-1], src[:2*run-1])
			} else {
				for i := range d {
					d[i] = src[i*p.StrideW]
				}
			}
			j += run
		}
	}
}

// finishBlock applies the epilogue to rows [0, rows) of the product
// stored in the planes of y from base on (channel ch0 first), columns
// [j0, j1) of each plane of hw: the bias, then the residual, then the
// activation, each a vector pass over data still in cache. With whole
// planes, the residual and the activation go over the block at once.
func (e *slideEpilogue) finishBlock(y []float32, base, hw, ch0, rows, j0, j1 int) {
	if e.accumulate || e.bias == nil && e.residual == nil && e.act.Kind == ActIdentity {
		return
	}
	yb := y[e.at(base):] // the block's rows lie in one image
	if e.bias != nil {
		for r := 0; r < rows; r++ {
			row := yb[r*hw+j0 : r*hw+j1]
			vec.BinaryScalar(vec.OpAdd, row, row, e.bias[ch0+r])
		}
	}
	if e.residual == nil && e.act.Kind == ActIdentity {
		return
	}
	if j0 == 0 && j1 == hw {
		e.finishRun(yb[:rows*hw], base)
		return
	}
	for r := 0; r < rows; r++ {
		at := r*hw + j0
		e.finishRun(yb[at:at+j1-j0], base+at)
	}
}

// finishRun adds the residual to dst, at offset off of the output, and
// applies the activation (Relu included).
func (e *slideEpilogue) finishRun(dst []float32, off int) {
	if e.residual != nil {
		vec.Binary(vec.OpAdd, dst, dst, e.residual[off:off+len(dst)])
	}
	if e.act.Kind != ActIdentity {
		e.act.Apply(dst, dst)
	}
}

// backwardFilter accumulates the gradient of the weights, dw_g +=
// dY_{n,g} · X_{n,g}^T for every image in order, X read in place (the
// GEMM packs its transpose).
func (s *pointwiseGeometry) backwardFilter(x, dy, dw []float32) {
	p := s.p
	if s.strided {
		panic("kernels: pointwise dW of a strided convolution")
	}
	hw, mg, cg := p.H*p.W, p.M/p.Group, p.C/p.Group
	for n := 0; n < p.N; n++ {
		for g := 0; g < p.Group; g++ {
			dyg := dy[(n*p.M+g*mg)*hw:]
			xg := x[(n*p.C+g*cg)*hw:]
			linalg.Sgemm(false, true, mg, cg, hw, 1, dyg, hw, xg, hw, 1, dw[g*mg*cg:], cg)
		}
	}
}
