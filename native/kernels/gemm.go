package kernels

// Gemm and MatMul.
//
// Gemm shapes (row-major):
//
//	a [M, K], or [K, M] when TransA
//	b [K, N], or [N, K] when TransB
//	c per Bias: none, scalar [1], row [N], column [M] (or [M, 1]), full [M, N]
//	y [M, N]
//
// y = Alpha * op(a) * op(b) + Beta * c, with c broadcast to [M, N].
//
// MatMul shapes (row-major):
//
//	a [BatchA..., M, K]
//	b [BatchB..., K, N]
//	y [broadcast(BatchA, BatchB)..., M, N]
//
// numpy matmul on matrices of at least two axes. A 1-D a is the executor's
// [1, K] with the M axis dropped from y afterwards, a 1-D b is [K, 1] with
// the N axis dropped.

import (
	"slices"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/tensor"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// GemmBias says how Gemm's optional input C broadcasts to [M, N].
type GemmBias int

// The shapes of Gemm's C.
const (
	GemmBiasNone   GemmBias = iota // no C
	GemmBiasScalar                 // C has one element
	GemmBiasRow                    // C is [N] or [1, N]: one value per column
	GemmBiasColumn                 // C is [M, 1]: one value per row
	GemmBiasFull                   // C is [M, N]
)

// size returns the number of elements of C for an m×n product.
func (k GemmBias) size(m, n int) int {
	return [...]int{0, 1, n, m, m * n}[k]
}

// GemmParams holds the dimensions and attributes of Gemm.
type GemmParams struct {
	M, N, K        int
	TransA, TransB bool    // transA, transB
	Alpha, Beta    float32 // alpha, beta, ONNX defaults 1
	Bias           GemmBias
	Act            Activation // forward epilogue: y = Act(y); backward ignores it
}

// Validate reports a dimension below 1 or an unknown Bias as a *ParamError.
func (p *GemmParams) Validate() error {
	if err := checkPositive("Gemm", []string{"M", "N", "K"}, p.M, p.N, p.K); err != nil {
		return err
	}
	for _, d := range [][2]int{{p.M, p.K}, {p.K, p.N}, {p.M, p.N}} {
		if err := checkElems("Gemm", "M, N, K", d[0], d[1]); err != nil {
			return err
		}
	}
	if p.Bias < GemmBiasNone || p.Bias > GemmBiasFull {
		return paramErr("Gemm", "Bias", "unknown bias shape %d", int(p.Bias))
	}
	return nil
}

// leading returns the row strides of the stored a and b.
func (p *GemmParams) leading() (lda, ldb int) {
	lda, ldb = p.K, p.N
	if p.TransA {
		lda = p.M
	}
	if p.TransB {
		ldb = p.K
	}
	return lda, ldb
}

// GemmForward computes y = Alpha*op(a)*op(b) + Beta*c, then
// y = p.Act(y), row by row once the product is done; c is unused (may be nil) when p.Bias
// is GemmBiasNone.
func GemmForward(p *GemmParams, a, b, c, y []float32) {
	GemmPreparedForward(p, a, b, nil, c, y)
}

// GemmPreparedForward is GemmForward multiplying by pb, b prepared by
// PrepareB(p.TransB, p.K, p.N, b), where it can, with bitwise the same
// results; pb may be nil, and is not used with a transposed a. A few
// rows of a are multiplied by panels of b in both cases (see
// rowByPanels).
func GemmPreparedForward(p *GemmParams, a, b []float32, pb *PreparedB, c, y []float32) {
	const op = "Gemm"
	need(op, "a", a, p.M*p.K)
	need(op, "b", b, p.K*p.N)
	need(op, "c", c, p.Bias.size(p.M, p.N))
	need(op, "y", y, p.M*p.N)
	beta := float32(0)
	if p.Bias != GemmBiasNone && p.Beta != 0 {
		beta = 1
		fillBias(p, c, y)
	}
	lda, ldb := p.leading()
	switch {
	case !p.TransA && pb.Fits(p.TransB, p.K, p.N, b) && pb.multiply(p.M, p.Alpha, a, lda, beta, y):
	case !p.TransA && rowsByPackedB(p.TransB, p.M, p.N, p.K, p.Alpha, a, lda, b, beta, y):
	default:
		linalg.Sgemm(p.TransA, p.TransB, p.M, p.N, p.K, p.Alpha, a, lda, b, ldb, beta, y, p.N)
	}
	applyRows(p.Act, nil, y, nil, nil, p.M, p.N)
}

// fillBias stores p.Beta*c, broadcast to p.M×p.N as p.Bias says, in y:
// one pass of the first row and copies of it when the rows are the same.
func fillBias(p *GemmParams, c, y []float32) {
	m, n := p.M, p.N
	for i := range m {
		row := y[i*n : (i+1)*n]
		switch p.Bias {
		case GemmBiasScalar, GemmBiasRow:
			if i > 0 {
				copy(row, y[:n])
				continue
			}
			for j := range row {
				if p.Bias == GemmBiasScalar {
					row[j] = p.Beta * c[0]
				} else {
					row[j] = p.Beta * c[j]
				}
			}
		case GemmBiasColumn:
			for j := range row {
				row[j] = p.Beta * c[i]
			}
		case GemmBiasFull:
			for j, x := range c[i*n : (i+1)*n] {
				row[j] = p.Beta * x
			}
		}
	}
}

// GemmBackward accumulates the gradients with respect to a, b and c (any
// may be nil) given dy [M, N], each in its input's stored layout. It does
// not look at p.Act: with a fused ReLU, dy must already be zero where y
// is 0.
//
//	d op(a) += Alpha * dy * op(b)ᵀ
//	d op(b) += Alpha * op(a)ᵀ * dy
//	dc      += Beta * dy summed over the axes c is broadcast along
func GemmBackward(p *GemmParams, a, b, dy, da, db, dc []float32) {
	const op = "Gemm"
	need(op, "dy", dy, p.M*p.N)
	lda, ldb := p.leading()
	if da != nil {
		need(op, "b", b, p.K*p.N)
		need(op, "da", da, p.M*p.K)
		if p.TransA { // a is [K, M]: da = Alpha * op(b) * dyᵀ
			linalg.Sgemm(p.TransB, true, p.K, p.M, p.N, p.Alpha, b, ldb, dy, p.N, 1, da, p.M)
		} else { // a is [M, K]: da = Alpha * dy * op(b)ᵀ
			linalg.Sgemm(false, !p.TransB, p.M, p.K, p.N, p.Alpha, dy, p.N, b, ldb, 1, da, p.K)
		}
	}
	if db != nil {
		need(op, "a", a, p.M*p.K)
		need(op, "db", db, p.K*p.N)
		if p.TransB { // b is [N, K]: db = Alpha * dyᵀ * op(a)
			linalg.Sgemm(true, p.TransA, p.N, p.K, p.M, p.Alpha, dy, p.N, a, lda, 1, db, p.K)
		} else { // b is [K, N]: db = Alpha * op(a)ᵀ * dy
			linalg.Sgemm(!p.TransA, false, p.K, p.N, p.M, p.Alpha, a, lda, dy, p.N, 1, db, p.N)
		}
	}
	if dc != nil && p.Bias != GemmBiasNone {
		need(op, "dc", dc, p.Bias.size(p.M, p.N))
		gemmBiasBackward(p, dy, dc)
	}
}

// gemmBiasBackward accumulates dc += Beta * dy reduced to c's shape, with
// float64 sums.
func gemmBiasBackward(p *GemmParams, dy, dc []float32) {
	switch p.Bias {
	case GemmBiasFull:
		for i, g := range dy[:p.M*p.N] {
			dc[i] += p.Beta * g
		}
	case GemmBiasRow:
		for j := 0; j < p.N; j++ {
			var s float64
			for i := 0; i < p.M; i++ {
				s += float64(dy[i*p.N+j])
			}
			dc[j] += p.Beta * float32(s)
		}
	case GemmBiasColumn:
		for i := 0; i < p.M; i++ {
			var s float64
			for _, g := range dy[i*p.N : (i+1)*p.N] {
				s += float64(g)
			}
			dc[i] += p.Beta * float32(s)
		}
	case GemmBiasScalar:
		var s float64
		for _, g := range dy[:p.M*p.N] {
			s += float64(g)
		}
		dc[0] += p.Beta * float32(s)
	}
}

// MatMulParams holds the dimensions of a batched MatMul.
type MatMulParams struct {
	BatchA, BatchB []int // leading (batch) axes of a and b, possibly empty
	M, K, N        int
	// Act is the forward epilogue, applied after the bias of
	// MatMulBiasForward; backward ignores it (it runs unfused).
	Act Activation
	// Scale, when not nil, scales the product before the bias in
	// MatMulBiasForward; backward ignores it as it does Act.
	Scale *Scale
	// AView and BView, when not nil, lay a and b out as views (read in
	// place from a larger buffer, such as a Transpose's input) rather
	// than as row-major tensors, and YView lays y out so (written in
	// place as a Transpose of it, its rows contiguous, with no residual);
	// backward takes none of them.
	AView, BView, YView *MatMulView
}

// Validate reports a dimension below 1 or batch axes that do not
// broadcast as a *ParamError.
func (p *MatMulParams) Validate() error {
	if err := checkPositive("MatMul", []string{"M", "K", "N"}, p.M, p.K, p.N); err != nil {
		return err
	}
	out, err := BroadcastShape(p.BatchA, p.BatchB)
	if err != nil {
		return err
	}
	for _, m := range []struct {
		batch []int
		r, c  int
	}{{p.BatchA, p.M, p.K}, {p.BatchB, p.K, p.N}, {out, p.M, p.N}} {
		if err := checkElems("MatMul", "BatchA, BatchB, M, K, N", append(slices.Clone(m.batch), m.r, m.c)...); err != nil {
			return err
		}
	}
	if err := p.AView.check("AView", p.BatchA, p.M, p.K); err != nil {
		return err
	}
	if err := p.BView.check("BView", p.BatchB, p.K, p.N); err != nil {
		return err
	}
	if err := p.YView.check("YView", out, p.M, p.N); err != nil {
		return err
	}
	if v := p.YView; v != nil && v.Strides[len(v.Strides)-1] != 1 && p.N > 1 {
		return paramErr("MatMul", "YView", "strides %v do not lay out contiguous rows", v.Strides)
	}
	return nil
}

// OutBatch returns the batch axes of y, the broadcast of BatchA and
// BatchB. It panics if they do not broadcast: call Validate first.
func (p *MatMulParams) OutBatch() []int {
	out, err := BroadcastShape(p.BatchA, p.BatchB)
	if err != nil {
		panic("kernels: MatMul: unvalidated params: " + err.Error())
	}
	return out
}

// batches returns the number of output matrices and, for each, the index
// of the a and b matrix it multiplies.
func (p *MatMulParams) batches() (count int, ia, ib []int) {
	out := p.OutBatch()
	count = tensor.NumElements(out)
	sa, sb := tensor.BroadcastStrides(p.BatchA, out), tensor.BroadcastStrides(p.BatchB, out)
	ia, ib = make([]int, count), make([]int, count)
	for o := range count {
		r := o
		for axis := len(out) - 1; axis >= 0; axis-- {
			i := r % out[axis]
			r /= out[axis]
			ia[o] += i * sa[axis]
			ib[o] += i * sb[axis]
		}
	}
	return count, ia, ib
}

// sharedB reports whether every output matrix multiplies its own matrix
// of a, in order, by the one matrix of b: then the batch folds into the
// rows, a [count*M, K] times b [K, N], one product instead of count (a
// Linear layer on [batch, tokens, features], which would otherwise read
// the whole weight once per batch entry).
func (p *MatMulParams) sharedB(count int) bool {
	return tensor.NumElements(p.BatchB) == 1 && tensor.NumElements(p.BatchA) == count
}

// MatMulForward computes each output matrix y_o = p.Act(a_ia(o) * b_ib(o)), the
// matrices spread over the workers, or as one product when they share b.
func MatMulForward(p *MatMulParams, a, b, y []float32) {
	MatMulBiasForward(p, a, b, nil, nil, y)
}

// MatMulBiasForward is MatMulForward followed by the epilogue y =
// Act((Scale(y) + bias) + r), bias (nil for none) of N values added to
// every row and r (nil for none) of y's shape: MatMul, a Mul or Div by a
// scalar (p.Scale), the Add of a bias, the Add of a residual connection
// and an activation in one pass, rounded as those ops would. Each output matrix takes its epilogue as soon as its
// product is done.
func MatMulBiasForward(p *MatMulParams, a, b, bias, r, y []float32) {
	MatMulPreparedForward(p, a, b, nil, bias, r, y)
}

// MatMulPreparedForward is MatMulBiasForward multiplying by pb, the one
// matrix of b prepared by PrepareB(false, p.K, p.N, b), where it can,
// with bitwise the same results; pb may be nil. A few rows of a are
// multiplied by panels of b in both cases (see rowByPanels).
func MatMulPreparedForward(p *MatMulParams, a, b []float32, pb *PreparedB, bias, r, y []float32) {
	count := tensor.NumElements(p.OutBatch())
	if p.BView != nil && (!p.sharedB(count) || len(p.BView.Strides) != 2) || p.YView != nil ||
		p.AView != nil && !p.sharedB(count) {
		matMulViewsForward(p, a, b, bias, r, y)
		return
	}
	const op = "MatMul"
	_, ia, ib := p.batches()
	mk, kn, mn := p.M*p.K, p.K*p.N, p.M*p.N
	lda := p.K
	if p.AView != nil {
		need(op, "a", a, p.AView.extent(p.BatchA, p.M, p.K))
		var rows bool
		if lda, rows = p.AView.rows(p.BatchA, p.M, p.K); !rows {
			// One product of all the rows by the shared b, with a
			// gathered: the Transpose's copy, but no product per matrix
			// of a, each packing b again.
			gathered := getBuffer(count * mk)
			defer putBuffer(gathered)
			gatherView(p.AView, p.BatchA, p.M, p.K, a, gathered)
			a, lda = gathered, p.K
		}
	} else {
		need(op, "a", a, tensor.NumElements(p.BatchA)*mk)
	}
	transB, ldb := false, p.N
	if p.BView != nil {
		need(op, "b", b, p.BView.extent(nil, p.K, p.N))
		transB, ldb = p.BView.matrix(p.K, p.N)
	} else {
		need(op, "b", b, tensor.NumElements(p.BatchB)*kn)
	}
	need(op, "y", y, count*mn)
	if bias != nil {
		need(op, "bias", bias, p.N)
	}
	if r != nil {
		need(op, "r", r, count*mn)
	}
	if p.sharedB(count) {
		switch rows := count * p.M; {
		case !transB && pb.Fits(false, p.K, p.N, b) && pb.multiply(rows, 1, a, lda, 0, y):
		case rowsByPackedB(transB, rows, p.N, p.K, 1, a, lda, b, 0, y):
		default:
			linalg.Sgemm(false, transB, rows, p.N, p.K, 1, a, lda, b, ldb, 0, y, p.N)
		}
		applyRows(p.Act, p.Scale, y, bias, r, count*p.M, p.N)
		return
	}
	forEachProduct(p, count, func(g linalg.Gemm, o int) {
		g.Sgemm(false, false, p.M, p.N, p.K, 1, a[ia[o]*mk:], p.K, b[ib[o]*kn:], p.N, 0, y[o*mn:], p.N)
		productEpilogue(p, o, bias, r, y)
	})
}

// productEpilogue applies p's epilogue to output matrix o of y, with the
// matching matrix of the residual r (nil for none).
func productEpilogue(p *MatMulParams, o int, bias, r, y []float32) {
	if p.Scale == nil && bias == nil && r == nil && p.Act.Kind == ActIdentity {
		return
	}
	mn := p.M * p.N
	var ro []float32
	if r != nil {
		ro = r[o*mn : (o+1)*mn]
	}
	epilogueRows(p.Act, p.Scale, y[o*mn:(o+1)*mn], bias, ro, p.N)
}

// forEachProduct calls product for each of the count output matrices of
// a batched MatMul, with the Gemm to compute it by: one after another,
// each spread over the workers as Sgemm sees fit, or spread over the
// workers, each computed on one (see spreadProducts).
func forEachProduct(p *MatMulParams, count int, product func(g linalg.Gemm, o int)) {
	mn := p.M * p.N
	g := linalg.Current()
	if !spreadProducts(count, parallel.Threads(), 2*mn*p.K) {
		// One product after another, each spread over the workers as
		// Sgemm sees fit.
		for o := range count {
			product(g, o)
		}
		return
	}
	// The products spread over the workers, each computed on one: that
	// spares a split of every product and nested loops (the workers'
	// products would split again, on goroutines of their own). A serial
	// Gemm gives bitwise the results of the parallel one. Each worker
	// takes the next product as it finishes one, so that a worker that
	// starts late, or runs on a core that other work shares, leaves its
	// products to the others rather than holding up the call with a
	// fixed share of them.
	serial := linalg.Serial(g)
	workers := min(parallel.Threads(), count/grainFor(mn*p.K))
	if workers <= 1 {
		for o := range count {
			product(serial, o)
		}
		return
	}
	var next atomic.Int64
	parallel.For(workers, 1, func(lo, hi int) {
		for range hi - lo {
			for o := int(next.Add(1)) - 1; o < count; o = int(next.Add(1)) - 1 {
				product(serial, o)
			}
		}
	})
}

// spreadProducts reports whether a batched MatMul of count products of
// flops each, on threads workers, computes each product on one worker,
// the products spread over the workers (attention's heads), rather than
// one after another, each split by Sgemm: when the products are too
// small for Sgemm to split, or when they divide among the workers
// evenly or nearly (a quarter more than an even share at worst). Sgemm
// spreads a product of parallel.Grain() flops or more.
func spreadProducts(count, threads, flops int) bool {
	return flops < parallel.Grain() || count%threads == 0 || count >= 4*threads
}

// MatMulBackward accumulates da_i += sum of dy_o * b_ib(o)ᵀ over the
// outputs o that read a_i, and db_j += sum of a_ia(o)ᵀ * dy_o over those
// that read b_j; da or db may be nil. Each gradient matrix sums its terms
// in output order, the gradient matrices spread over the workers; when
// every output shares b, each gradient is one product over the folded
// batch. p must have no views (AView, BView, YView).
func MatMulBackward(p *MatMulParams, a, b, dy, da, db []float32) {
	const op = "MatMul"
	if p.AView != nil || p.BView != nil || p.YView != nil {
		panic("kernels: MatMul backward of an operand read as a view")
	}
	count, ia, ib := p.batches()
	mk, kn, mn := p.M*p.K, p.K*p.N, p.M*p.N
	need(op, "dy", dy, count*mn)
	if p.sharedB(count) {
		// da [count*M, K] += dy b^T; db [K, N] += a^T dy, each one product.
		if da != nil {
			need(op, "b", b, kn)
			need(op, "da", da, count*mk)
			linalg.Sgemm(false, true, count*p.M, p.K, p.N, 1, dy, p.N, b, p.N, 1, da, p.K)
		}
		if db != nil {
			need(op, "a", a, count*mk)
			need(op, "db", db, kn)
			linalg.Sgemm(true, false, p.K, p.N, count*p.M, 1, a, p.K, dy, p.N, 1, db, p.N)
		}
		return
	}
	if da != nil {
		na := tensor.NumElements(p.BatchA)
		need(op, "b", b, tensor.NumElements(p.BatchB)*kn)
		need(op, "da", da, na*mk)
		parallel.For(na, grainFor(count*mn*p.K/max(na, 1)), func(lo, hi int) {
			for o := range count {
				if i := ia[o]; i >= lo && i < hi {
					linalg.Sgemm(false, true, p.M, p.K, p.N, 1, dy[o*mn:], p.N, b[ib[o]*kn:], p.N, 1, da[i*mk:], p.K)
				}
			}
		})
	}
	if db != nil {
		nb := tensor.NumElements(p.BatchB)
		need(op, "a", a, tensor.NumElements(p.BatchA)*mk)
		need(op, "db", db, nb*kn)
		parallel.For(nb, grainFor(count*mn*p.K/max(nb, 1)), func(lo, hi int) {
			for o := range count {
				if j := ib[o]; j >= lo && j < hi {
					linalg.Sgemm(true, false, p.K, p.N, p.M, 1, a[ia[o]*mk:], p.K, dy[o*mn:], p.N, 1, db[j*kn:], p.N)
				}
			}
		})
	}
}
