package kernels

// Conv: 2-D convolution (ONNX Conv, cross-correlation as in the spec).
//
// Shapes (row-major):
//
//	x  [N, C, H, W]
//	w  [M, C/Group, KH, KW]
//	b  [M]                  optional bias, nil for none
//	y  [N, M, OH, OW]       OH, OW = p.OutSize()
//	col [C/Group*KH*KW, n*OH*OW]  scratch: the im2col matrices of one group of a chunk of n images, side by side
//
// y[n, m, oy, ox] = b[m] + sum over c, kh, kw of
//
//	w[m, c, kh, kw] * x[n, g*C/Group + c, oy*StrideH - PadTop + kh*DilationH, ox*StrideW - PadLeft + kw*DilationW]
//
// with g = m / (M/Group) and x zero outside the image. A 1-D convolution is
// the case H = KH = 1, StrideH = DilationH = 1, PadTop = PadBottom = 0.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// ConvParams holds the resolved attributes and dimensions of a 2-D
// convolution. Pads are explicit; ResolveAutoPad turns ONNX's auto_pad
// into them.
type ConvParams struct {
	N, C, H, W                           int // input batch, channels, height, width
	M, KH, KW                            int // output channels, kernel height and width
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	DilationH, DilationW                 int
	Group                                int // C and M are both divisible by Group
	// Act is the fused epilogue: y = Act(conv + b). Backward passes
	// take only the identity and Relu.
	Act Activation
	// algorithm, when not convAuto, is the algorithm every pass must
	// take (convalg.go): for tests, which force each in turn.
	algorithm convAlgorithm
	// inputMapped says the forward pass reads its input through an
	// InputAffine (PlanConvForwardAffine): the automatic choice then
	// leaves to the pointwise products, which map the input as they
	// pack it, the 1x1 convolutions that other algorithms would take
	// only by a small margin.
	inputMapped bool
}

// OutSize returns the output height and width:
// (H + PadTop + PadBottom - (DilationH*(KH-1) + 1)) / StrideH + 1, and the
// same along the width.
func (p *ConvParams) OutSize() (oh, ow int) {
	oh = windowCount(p.H, p.KH, p.StrideH, p.PadTop, p.PadBottom, p.DilationH, false)
	ow = windowCount(p.W, p.KW, p.StrideW, p.PadLeft, p.PadRight, p.DilationW, false)
	return oh, ow
}

// Validate reports the first attribute or dimension the kernels cannot run
// with, as a *ParamError.
func (p *ConvParams) Validate() error {
	const op = "Conv"
	if err := checkPositive(op, []string{"N", "C", "H", "W", "M", "KH", "KW",
		"StrideH", "StrideW", "DilationH", "DilationW", "Group"},
		p.N, p.C, p.H, p.W, p.M, p.KH, p.KW, p.StrideH, p.StrideW,
		p.DilationH, p.DilationW, p.Group); err != nil {
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
	if err := checkElems(op, "M, C, KH, KW", p.M, p.C, p.KH, p.KW); err != nil {
		return err
	}
	if p.C%p.Group != 0 {
		return paramErr(op, "Group", "input channels %d not divisible by group %d", p.C, p.Group)
	}
	if p.M%p.Group != 0 {
		return paramErr(op, "Group", "output channels %d not divisible by group %d", p.M, p.Group)
	}
	oh, ow := p.OutSize()
	if oh < 1 || ow < 1 {
		return paramErr(op, "KH, KW", "dilated kernel %dx%d larger than padded input %dx%d",
			p.DilationH*(p.KH-1)+1, p.DilationW*(p.KW-1)+1,
			p.H+p.PadTop+p.PadBottom, p.W+p.PadLeft+p.PadRight)
	}
	if err := checkElems(op, "N, M, OH, OW", p.N, p.M, oh, ow); err != nil {
		return err
	}
	return checkElems(op, "C, KH, KW, OH, OW", p.C, p.KH, p.KW, oh, ow)
}

// FLOPs returns the multiply-adds of one forward pass counted as two
// operations each; backward for dX and dW costs twice that.
func (p *ConvParams) FLOPs() int64 {
	oh, ow := p.OutSize()
	return 2 * int64(p.N) * int64(p.M) * int64(oh*ow) * int64(p.C/p.Group*p.KH*p.KW)
}

// pointwise reports whether the im2col matrix of a group is the input
// itself: a 1x1 kernel with unit strides and no padding.
func (p *ConvParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0
}

// colRows returns the number of rows of the im2col matrix of one group.
func (p *ConvParams) colRows() int { return p.C / p.Group * p.KH * p.KW }

// Images are multiplied in chunks: the im2col matrices of a chunk's
// images sit side by side, col [C/Group*KH*KW, images*OH*OW], so that one
// GEMM covers the chunk: small feature maps (the late layers of a CNN)
// give the GEMM more columns, and the weights are packed once per chunk
// rather than once per image. Every step (im2col, GEMM, epilogue) is
// spread over all workers, so a batch of one image uses them all too.
// The buffers come from the kernels' free list (workspace.go).
const (
	// convTargetCols is how many GEMM columns (images times OH*OW) a
	// chunk aims for.
	convTargetCols = 1024
	// convMaxColElems caps the im2col matrix of a chunk (8 MiB); a chunk
	// holds at least one image whatever its size.
	convMaxColElems = 1 << 21
)

// chunkImages returns the number of images per chunk.
func (p *ConvParams) chunkImages() int {
	oh, ow := p.OutSize()
	ohw := oh * ow
	nb := min(p.N, (convTargetCols+ohw-1)/ohw)
	return max(1, min(nb, convMaxColElems/(p.colRows()*ohw)))
}

// ConvForward computes y from x, w and the optional bias b (nil for none),
// applying p.Act. It takes the algorithm convPlanFor
// chooses (convalg.go): matrix-vector products for one output position
// per image (convmatvec.go), direct sums for depthwise and other grouped
// convolutions with few channels per group (convdirect.go), Winograd
// (convwinograd.go), a window of the
// input read as A for strided convolutions (convgather.go), a sliding
// window read as B (convslide.go), or im2col and GEMM. Bias and activation
// are applied as each product is stored, a row or plane at a time.
func ConvForward(p *ConvParams, x, w, b, y []float32) {
	ConvResidualForward(p, x, w, b, nil, y)
}

// ConvResidualForward is ConvForward with r (nil for none), of y's
// shape, added to the convolution and its bias before p.Act: a
// residual connection's Add (ResNet's Conv, Add, Relu) in the
// epilogue. The sums round as Conv then Add would.
func ConvResidualForward(p *ConvParams, x, w, b, r, y []float32) {
	plan := p.mustPlan(convForwardPass)
	p.convForward(&plan, x, w, b, r, y, 0)
}

// convForward is ConvResidualForward by plan, with image n of the
// output at y[n*stride:] when stride is not zero (at least M*OH*OW).
func (p *ConvParams) convForward(plan *convPlan, x, w, b, r, y []float32, stride int) {
	p.convForwardAffine(plan, x, 0, w, b, r, y, stride, nil)
}

// mapsPlanes reports whether the plan maps its input in (nil: none)
// into planes of its own before reading them (InputAffine.applyPlanes):
// the strided window, reading the input in place (no padding).
func (plan *convPlan) mapsPlanes(in *InputAffine) bool {
	return in != nil && plan.alg == convStridedWindow && !plan.gather.padded()
}

// convForwardAffine is convForward of in applied to x (nil: x as it
// is), with image n of x at x[n*xStride:] when xStride is not zero (at
// least C*H*W); see ConvForwardPlan.ForwardApart.
func (p *ConvParams) convForwardAffine(plan *convPlan, x []float32, xStride int, w, b, r, y []float32, stride int, in *InputAffine) {
	const op = "Conv"
	oh, ow := p.OutSize()
	ohw := oh * ow
	mg, k := p.M/p.Group, p.colRows()
	if image := p.C * p.H * p.W; xStride != 0 && xStride != image {
		if xStride < image {
			panic(fmt.Sprintf("kernels: Conv: images %d apart in x, each %d long", xStride, image))
		}
		need(op, "x", x, (p.N-1)*xStride+image)
		if !plan.mapsPlanes(in) && (plan.alg != convPointwise || in != nil && !plan.point.packsAffine(plan.alg)) {
			// The other algorithms read the images one after the
			// other: gathered first, the copy that a Concat of
			// them would have made (the window's map into planes
			// reads them apart).
			dense := getBuffer(p.N * image)
			defer putBuffer(dense)
			for n := range p.N {
				copy(dense[n*image:(n+1)*image], x[n*xStride:])
			}
			x, xStride = dense, 0
		}
	} else {
		xStride = 0
		need(op, "x", x, p.N*image)
	}
	need(op, "w", w, p.M*k)
	e := slideEpilogue{bias: b, act: p.Act, residual: r}
	if stride != 0 && stride != p.M*ohw {
		if stride < p.M*ohw {
			panic(fmt.Sprintf("kernels: Conv: images %d apart in y, each %d long", stride, p.M*ohw))
		}
		need(op, "y", y, (p.N-1)*stride+p.M*ohw)
		e.image, e.imageStride = p.M*ohw, stride
	} else {
		need(op, "y", y, p.N*p.M*ohw)
	}
	if b != nil {
		need(op, "b", b, p.M)
	}
	if r != nil {
		need(op, "r", r, p.N*p.M*ohw)
	}
	if in != nil {
		in.check(p)
		if plan.point.packsAffine(plan.alg) {
			plan.point.runAffine(x, xStride, w, y, e, in)
			return
		}
		if plan.mapsPlanes(in) {
			// The window reads the input in place: mapped into planes
			// a whole number of vectors apart, in a call per image.
			plane := p.mappedPlane()
			mapped := getBuffer(p.N * p.C * plane)
			defer putBuffer(mapped)
			in.applyPlanes(p, x, xStride, mapped, plane)
			plan.gather.runPlanes(mapped, plane, w, y, e)
			return
		}
		mapped := getBuffer(p.N * p.C * p.H * p.W)
		defer putBuffer(mapped)
		in.apply(p, x, mapped)
		x = mapped
	}
	if xStride != 0 {
		plan.point.runAffine(x, xStride, w, y, e, nil) // only pointwise products read x apart
		return
	}
	if plan.run(x, w, y, e) {
		return
	}
	nb := p.chunkImages()
	// With a PackedGemm, im2col writes the columns in its packed
	// layout, which spares the GEMM packing them (products with one row
	// or one column are not blocked).
	blocked, packs := linalg.Current().(linalg.PackedGemm)
	packs = packs && mg > 1 && ohw > 1
	var col, tmp []float32
	switch {
	case packs:
		col = getBuffer(blocked.PackedLen(k, nb*ohw))
		defer putBuffer(col)
	case nb > 1 || !p.pointwise():
		col = getBuffer(k * nb * ohw)
		defer putBuffer(col)
	}
	if nb > 1 {
		tmp = getBuffer(mg * nb * ohw)
		defer putBuffer(tmp)
	}
	// gemm computes dst = wg·columns, with n columns.
	gemm := func(wg, columns []float32, n int, dst []float32) {
		if packs {
			blocked.SgemmPackedB(mg, n, k, 1, wg, k, columns, 0, dst, n)
		} else {
			linalg.Sgemm(false, false, mg, n, k, 1, wg, k, columns, n, 0, dst, n)
		}
	}
	for n0 := 0; n0 < p.N; n0 += nb {
		cnt := min(nb, p.N-n0)
		cols := cnt * ohw
		for g := 0; g < p.Group; g++ {
			var src []float32
			if packs {
				src = p.chunkPanels(x, col, n0, cnt, g, blocked.PanelWidth())
			} else {
				src = p.chunkColumns(x, col, n0, cnt, g)
			}
			wg := w[g*mg*k:]
			t := imageEpilogues.Get()
			*t = imageEpilogue{p: p, y: y, e: e, n0: n0, g: g, ohw: ohw, cols: cols}
			if cnt == 1 {
				gemm(wg, src, ohw, y[e.at((n0*p.M+g*mg)*ohw):][:mg*ohw])
			} else {
				gemm(wg, src, cols, tmp)
				t.tmp = tmp
			}
			parallel.Run(cnt*mg, grainFor(ohw), t)
			imageEpilogues.Put(t)
		}
	}
}

// imageEpilogue stores, as e says, output rows of im2col's product of
// group g of images [n0, n0+cols/ohw): in y itself, or from the product
// tmp [M/Group, cols] when it is not nil. Item t is row t%mg of image
// t/mg.
type imageEpilogue struct {
	p                *ConvParams
	y, tmp           []float32
	e                slideEpilogue
	n0, g, ohw, cols int
}

var imageEpilogues parallel.Tasks[imageEpilogue]

func (t *imageEpilogue) Range(lo, hi int) {
	p, ohw := t.p, t.ohw
	mg := p.M / p.Group
	for task := lo; task < hi; task++ {
		i, m := task/mg, task%mg
		at := ((t.n0+i)*p.M + t.g*mg + m) * ohw
		dst := t.y[t.e.at(at):][:ohw]
		src := dst
		if t.tmp != nil {
			src = t.tmp[m*t.cols+i*ohw : m*t.cols+(i+1)*ohw]
		}
		t.e.storeRow(dst, src, t.g*mg+m, at)
	}
}

// chunkColumns returns the im2col matrix [C/Group*KH*KW, cnt*OH*OW] of
// group g of images [n0, n0+cnt), built in col; for a pointwise
// convolution of one image it is that image's group of x itself.
func (p *ConvParams) chunkColumns(x, col []float32, n0, cnt, g int) []float32 {
	oh, ow := p.OutSize()
	ohw, hw, cg, k := oh*ow, p.H*p.W, p.C/p.Group, p.colRows()
	if cnt == 1 && p.pointwise() {
		return x[(n0*p.C+g*cg)*hw : (n0*p.C+(g+1)*cg)*hw]
	}
	cols := cnt * ohw
	parallel.For(cnt*k, grainFor(ohw), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			i, r := t/k, t%k
			xg := x[((n0+i)*p.C+g*cg)*hw : ((n0+i)*p.C+(g+1)*cg)*hw]
			p.im2colRow(xg, r, col[r*cols+i*ohw:r*cols+(i+1)*ohw])
		}
	})
	return col[:k*cols]
}

// chunkPanels builds the matrix of chunkColumns in col, packed as
// linalg.PackedGemm.SgemmPackedB takes it, in panels of w columns. The
// rows of a pointwise convolution are the input planes themselves, dealt
// out from x with no im2col copy.
func (p *ConvParams) chunkPanels(x, col []float32, n0, cnt, g, w int) []float32 {
	oh, ow := p.OutSize()
	ohw, k := oh*ow, p.colRows()
	cols := cnt * ohw
	t := panelTasks.Get()
	*t = panelTask{p: p, x: x, col: col, n0: n0, g: g, w: w}
	parallel.Run(cnt*k, grainFor(ohw), t)
	panelTasks.Put(t)
	if tail := cols % w; tail > 0 {
		last := (cols - tail) * k // the last panel, whose columns beyond cols are zero
		for r := 0; r < k; r++ {
			clear(col[last+r*w+tail : last+(r+1)*w])
		}
	}
	return col[:(cols+w-1)/w*w*k]
}

// panelTask builds the rows [lo, hi) of chunkPanels' matrix; item t is
// row t%k of image n0+t/k.
type panelTask struct {
	p        *ConvParams
	x, col   []float32
	n0, g, w int
}

var panelTasks parallel.Tasks[panelTask]

func (t *panelTask) Range(lo, hi int) {
	p, w := t.p, t.w
	oh, ow := p.OutSize()
	ohw, hw, cg, k := oh*ow, p.H*p.W, p.C/p.Group, p.colRows()
	pointwise := p.pointwise()
	var row []float32
	if !pointwise {
		row = getBuffer(ohw)
		defer putBuffer(row)
	}
	for task := lo; task < hi; task++ {
		i, r := task/k, task%k
		xg := t.x[((t.n0+i)*p.C+t.g*cg)*hw : ((t.n0+i)*p.C+(t.g+1)*cg)*hw]
		if pointwise {
			row = xg[r*hw : (r+1)*hw]
		} else {
			p.im2colRow(xg, r, row[:ohw])
		}
		// Deal the row's columns out to their panels.
		for j, done := i*ohw, 0; done < ohw; {
			off := j % w
			run := min(w-off, ohw-done)
			at := (j-off)*k + r*w + off
			copy(t.col[at:at+run], row[done:done+run])
			j, done = j+run, done+run
		}
	}
}

func biasOf(b []float32, m int) float32 {
	if b == nil {
		return 0
	}
	return b[m]
}

// storeEpilogue stores src + bias into dst (which may be src), applying
// ReLU when relu is set; with neither bias nor ReLU it only copies.
func storeEpilogue(dst, src []float32, bias float32, hasBias, relu bool) {
	src = src[:len(dst)]
	switch {
	case relu:
		for j, v := range src {
			dst[j] = max(v+bias, 0)
		}
	case hasBias:
		vec.ScaleAdd(dst, src, 1, bias) // v*1 is v: the sum alone, in AVX2 where there is
	case len(dst) > 0 && &dst[0] != &src[0]:
		copy(dst, src)
	}
}

// storeRow stores the epilogue of src, the product of output channel ch,
// into dst, at offset off of the output: the bias, then the residual
// and the activation (Relu with the bias when there is no residual).
func (e *slideEpilogue) storeRow(dst, src []float32, ch, off int) {
	storeEpilogue(dst, src, biasOf(e.bias, ch), e.bias != nil, e.storeRelu())
	e.finish(dst, off)
}

// convEpilogue applies the epilogue e to the m rows of y, ohw long, at
// offset off of the output.
func convEpilogue(y []float32, e slideEpilogue, m, ohw, off int) {
	if e.bias == nil && e.residual == nil && e.act.Kind == ActIdentity {
		return
	}
	for i := 0; i < m; i++ {
		row := y[i*ohw : (i+1)*ohw]
		e.storeRow(row, row, i, off+i*ohw)
	}
}

// ConvBackward accumulates the gradients of the loss with respect to x, w
// and b into dx, dw and db, given the upstream gradient dy [N, M, OH, OW].
// Any of dx, dw, db may be nil to skip it. When p.Act is Relu, y must be
// the output of ConvForward, and dy is taken through the ReLU (zero where
// y is 0); otherwise y is unused and may be nil. Other activations have
// no backward pass here.
//
// dW and dX run over the same chunks of images as ConvForward, each
// chunk's GEMM spread over the workers: dW sums over the chunks in order,
// dX is the col2im of each chunk's W^T·dY, images and channels spread over
// the workers; dB is spread by channel.
func ConvBackward(p *ConvParams, x, w, y, dy, dx, dw, db []float32) {
	convBackward(p, x, w, y, dy, dx, dw, db, false)
}

// ConvBackwardOverwrite is ConvBackward for a caller that no longer needs
// dy: with a fused ReLU it masks dy in place instead of into a work
// buffer of dy's size (for a whole batch of early layers, tens of MiB),
// leaving dy undefined. The gradients are the same, bit for bit.
func ConvBackwardOverwrite(p *ConvParams, x, w, y, dy, dx, dw, db []float32) {
	convBackward(p, x, w, y, dy, dx, dw, db, true)
}

// convBackward is ConvBackward, masking dy in place when overwrite is set.
func convBackward(p *ConvParams, x, w, y, dy, dx, dw, db []float32, overwrite bool) {
	const op = "Conv"
	oh, ow := p.OutSize()
	ohw := oh * ow
	need(op, "dy", dy, p.N*p.M*ohw)
	p.Act.checkBackward(op)
	if p.Act.relu() {
		n := p.N * p.M * ohw
		need(op, "y", y, n)
		masked := dy[:n]
		if !overwrite {
			masked = getBuffer(n)
			defer putBuffer(masked)
		}
		MaskByRelu(y[:n], dy, masked)
		dy = masked
	}
	if db != nil {
		need(op, "db", db, p.M)
		parallel.For(p.M, grainFor(p.N*ohw), func(lo, hi int) {
			for m := lo; m < hi; m++ {
				var sum float64
				for n := 0; n < p.N; n++ {
					for _, v := range dy[(n*p.M+m)*ohw : (n*p.M+m+1)*ohw] {
						sum += float64(v)
					}
				}
				db[m] += float32(sum)
			}
		})
	}
	if dw != nil {
		convBackwardFilter(p, x, dy, dw)
	}
	if dx != nil {
		convBackwardData(p, w, dy, dx)
	}
}

// chunkGradient returns dY of group g of images [n0, n0+cnt) as one
// matrix [M/Group, cnt*OH*OW], gathered into buf, or read in place from dy
// for a single image.
func (p *ConvParams) chunkGradient(dy, buf []float32, n0, cnt, g int) []float32 {
	oh, ow := p.OutSize()
	ohw, mg := oh*ow, p.M/p.Group
	if cnt == 1 {
		return dy[(n0*p.M+g*mg)*ohw : (n0*p.M+(g+1)*mg)*ohw]
	}
	cols := cnt * ohw
	parallel.For(cnt*mg, grainFor(ohw), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			i, m := t/mg, t%mg
			copy(buf[m*cols+i*ohw:m*cols+(i+1)*ohw], dy[((n0+i)*p.M+g*mg+m)*ohw:])
		}
	})
	return buf[:mg*cols]
}

// convBackwardFilter accumulates dW_g += dY_{chunk,g} · col_{chunk,g}^T
// over the chunks of images in order, reading col through the forward
// pass's window where it has one.
func convBackwardFilter(p *ConvParams, x, dy, dw []float32) {
	const op = "Conv"
	oh, ow := p.OutSize()
	ohw := oh * ow
	mg, k := p.M/p.Group, p.colRows()
	need(op, "x", x, p.N*p.C*p.H*p.W)
	need(op, "dw", dw, p.M*k)
	switch plan := p.mustPlan(convFilterPass); plan.alg {
	case convWinograd3, convWinograd5:
		plan.wino.backwardFilter(x, dy, dw)
		return
	case convSlidingWindow:
		plan.slide.backwardFilter(x, dy, dw)
		return
	case convStridedWindow:
		plan.gather.backwardFilter(x, dy, dw)
		return
	case convDirect:
		plan.direct.backwardFilter(x, dy, dw)
		return
	case convPointwise:
		plan.point.backwardFilter(x, dy, dw)
		return
	}
	nb := p.chunkImages()
	var col, dyc []float32
	if nb > 1 || !p.pointwise() {
		col = getBuffer(k * nb * ohw)
		defer putBuffer(col)
	}
	if nb > 1 {
		dyc = getBuffer(mg * nb * ohw)
		defer putBuffer(dyc)
	}
	for n0 := 0; n0 < p.N; n0 += nb {
		cnt := min(nb, p.N-n0)
		cols := cnt * ohw
		for g := 0; g < p.Group; g++ {
			src := p.chunkColumns(x, col, n0, cnt, g)
			dyg := p.chunkGradient(dy, dyc, n0, cnt, g)
			linalg.Sgemm(false, true, mg, k, cols, 1, dyg, cols, src, cols, 1, dw[g*mg*k:], k)
		}
	}
}

// convBackwardData accumulates dX_{n,g} += col2im(W_g^T · dY_{n,g}), one
// GEMM per chunk of images, or, with unit strides, as the forward pass of
// the adjoint convolution, by Winograd or through a window (convalg.go).
func convBackwardData(p *ConvParams, w, dy, dx []float32) {
	const op = "Conv"
	oh, ow := p.OutSize()
	ohw := oh * ow
	cg, mg, k := p.C/p.Group, p.M/p.Group, p.colRows()
	need(op, "w", w, p.M*k)
	need(op, "dx", dx, p.N*p.C*p.H*p.W)
	if plan := p.mustPlan(convDataPass); plan.alg != convIm2col {
		flipped := getBuffer(p.M * k)
		defer putBuffer(flipped)
		p.flipKernel(w, flipped)
		plan.run(dy, flipped, dx, slideEpilogue{accumulate: true})
		return
	}
	hw := p.H * p.W
	nb := p.chunkImages()
	if nb == 1 && p.pointwise() {
		for n := 0; n < p.N; n++ {
			for g := 0; g < p.Group; g++ {
				dyg := dy[(n*p.M+g*mg)*ohw:]
				dxg := dx[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
				linalg.Sgemm(true, false, k, ohw, mg, 1, w[g*mg*k:], k, dyg, ohw, 1, dxg, ohw)
			}
		}
		return
	}
	dcol := getBuffer(k * nb * ohw)
	defer putBuffer(dcol)
	var dyc []float32
	if nb > 1 {
		dyc = getBuffer(mg * nb * ohw)
		defer putBuffer(dyc)
	}
	for n0 := 0; n0 < p.N; n0 += nb {
		cnt := min(nb, p.N-n0)
		cols := cnt * ohw
		for g := 0; g < p.Group; g++ {
			dyg := p.chunkGradient(dy, dyc, n0, cnt, g)
			linalg.Sgemm(true, false, k, cols, mg, 1, w[g*mg*k:], k, dyg, cols, 0, dcol, cols)
			parallel.For(cnt*cg, grainFor(p.KH*p.KW*ohw), func(lo, hi int) {
				for t := lo; t < hi; t++ {
					i, c := t/cg, t%cg
					plane := dx[((n0+i)*p.C+g*cg+c)*hw : ((n0+i)*p.C+g*cg+c+1)*hw]
					p.col2imChannel(dcol[i*ohw:], cols, c, plane)
				}
			})
		}
	}
}

// im2colRow fills dst [OH*OW] with row r = (c*KH+kh)*KW+kw of the column
// matrix of one group of one image, xg [C/Group, H, W]: column oy*OW+ox
// holds xg[c, oy*StrideH-PadTop+kh*DilationH, ox*StrideW-PadLeft+kw*DilationW],
// or 0 where that falls in the padding.
func (p *ConvParams) im2colRow(xg []float32, r int, dst []float32) {
	oh, ow := p.OutSize()
	khw := p.KH * p.KW
	c, kh, kw := r/khw, r%khw/p.KW, r%p.KW
	plane := xg[c*p.H*p.W : (c+1)*p.H*p.W]
	off := kw*p.DilationW - p.PadLeft
	oxLo, oxHi := validRange(ow, p.W, p.StrideW, off)
	for oy := 0; oy < oh; oy++ {
		row := dst[oy*ow : (oy+1)*ow]
		iy := oy*p.StrideH - p.PadTop + kh*p.DilationH
		if iy < 0 || iy >= p.H {
			clear(row)
			continue
		}
		src := plane[iy*p.W : (iy+1)*p.W]
		clear(row[:oxLo])
		clear(row[oxHi:])
		if oxLo == oxHi {
			continue
		}
		ix := oxLo*p.StrideW + off
		if p.StrideW == 1 {
			copy(row[oxLo:oxHi], src[ix:])
			continue
		}
		for ox := oxLo; ox < oxHi; ox++ {
			row[ox] = src[ix]
			ix += p.StrideW
		}
	}
}

// col2imChannel is the adjoint of im2col for channel c: it adds every
// entry of the KH*KW rows of channel c of the column matrix dcol (row
// stride ld, the image's columns starting at dcol[0]) back onto the input
// position it was read from, in plane [H, W]. The order of the additions
// is fixed.
func (p *ConvParams) col2imChannel(dcol []float32, ld, c int, plane []float32) {
	oh, ow := p.OutSize()
	for kh := 0; kh < p.KH; kh++ {
		for kw := 0; kw < p.KW; kw++ {
			r := (c*p.KH+kh)*p.KW + kw
			src := dcol[r*ld : r*ld+oh*ow]
			off := kw*p.DilationW - p.PadLeft
			oxLo, oxHi := validRange(ow, p.W, p.StrideW, off)
			for oy := 0; oy < oh; oy++ {
				iy := oy*p.StrideH - p.PadTop + kh*p.DilationH
				if iy < 0 || iy >= p.H {
					continue
				}
				row := src[oy*ow : (oy+1)*ow]
				dst := plane[iy*p.W : (iy+1)*p.W]
				ix := oxLo*p.StrideW + off
				if p.StrideW == 1 && oxLo < oxHi {
					d := dst[ix : ix+oxHi-oxLo]
					for j, v := range row[oxLo:oxHi] {
						d[j] += v
					}
					continue
				}
				for ox := oxLo; ox < oxHi; ox++ {
					dst[ix] += row[ox]
					ix += p.StrideW
				}
			}
		}
	}
}

// validRange returns the range [lo, hi) of output positions o in [0, out)
// whose input position o*stride + off lies in [0, in).
func validRange(out, in, stride, off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if in-1-off >= 0 {
		hi = (in-1-off)/stride + 1
	}
	lo = min(lo, out)
	hi = max(min(hi, out), lo)
	return lo, hi
}

// windowCount returns how many windows of a kernel of size k, dilated by
// d, fit along an axis of size in padded by padBegin and padEnd, moving by
// stride: floor((in + padBegin + padEnd - ((k-1)*d + 1)) / stride) + 1.
// With ceil the division rounds up, and a last window that would start in
// the end padding is dropped, as the ONNX pooling spec states.
func windowCount(in, k, stride, padBegin, padEnd, d int, ceil bool) int {
	span := in + padBegin + padEnd - ((k-1)*d + 1)
	if span < 0 {
		return 0
	}
	if !ceil {
		return span/stride + 1
	}
	out := (span+stride-1)/stride + 1
	if (out-1)*stride >= in+padBegin {
		out--
	}
	return out
}

// AutoPad is ONNX's auto_pad attribute of Conv and the pooling ops.
type AutoPad int

// The auto_pad modes.
const (
	AutoPadNotSet    AutoPad = iota // NOTSET: the explicit pads attribute is used
	AutoPadSameUpper                // SAME_UPPER: output = ceil(in/stride), odd padding at the end
	AutoPadSameLower                // SAME_LOWER: output = ceil(in/stride), odd padding at the start
	AutoPadValid                    // VALID: no padding
)

// ResolveAutoPad returns the padding at the start and end of one spatial
// axis of size in for a kernel of size kernel with the given stride and
// dilation. For the SAME modes the total padding is
// max(0, (ceil(in/stride)-1)*stride + (kernel-1)*dilation + 1 - in),
// split evenly, the odd unit going to the end (SAME_UPPER) or to the start
// (SAME_LOWER). AutoPadNotSet has no derived pads and is an error.
func ResolveAutoPad(mode AutoPad, in, kernel, stride, dilation int) (begin, end int, err error) {
	const op = "AutoPad"
	if err := checkPositive(op, []string{"in", "kernel", "stride", "dilation"},
		in, kernel, stride, dilation); err != nil {
		return 0, 0, err
	}
	switch mode {
	case AutoPadValid:
		return 0, 0, nil
	case AutoPadSameUpper, AutoPadSameLower:
		out := (in + stride - 1) / stride
		total := max(0, (out-1)*stride+(kernel-1)*dilation+1-in)
		small := total / 2
		if mode == AutoPadSameUpper {
			return small, total - small, nil
		}
		return total - small, small, nil
	case AutoPadNotSet:
		return 0, 0, paramErr(op, "mode", "NOTSET takes the explicit pads, there is nothing to resolve")
	}
	return 0, 0, paramErr(op, "mode", "unknown auto_pad mode %d", int(mode))
}
