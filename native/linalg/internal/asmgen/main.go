// Command asmgen writes the amd64 GEMM micro-kernels of package linalg
// with avo. Run it through go generate in native/linalg:
//
//	go run ./internal/asmgen -out kernel_amd64.s -stubs kernel_amd64.go -pkg linalg
//
// Each kernel computes one mr×nr tile C = alpha*A*B + beta*C (or
// C = alpha*A*B when useBeta is 0, never reading C), then, when its
// last two arguments, bias and clamp, are not nil, the store epilogue
// of linalg's storeEpilogue: min(max(C[i][j] + bias[i], clamp[0]),
// clamp[1]) + clamp[2], in registers before the store. B is a packed
// k×nr panel stored row by row (nr values per step of k) and C is
// row-major with a row stride of ldc elements. A comes in one of three
// layouts (the signatures below end in bias, clamp *float32):
//
//   - packed (kernel names ending in "Packed"): an mr×k panel stored
//     column by column, mr values per step of k;
//     func(k int, a, b, c *float32, ldc int, alpha, beta float32, useBeta int)
//
//   - rows (names ending in "Rows"): mr rows of a row-major matrix with a
//     row stride of lda elements, read in place without packing;
//     func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, useBeta int)
//
//   - gathered (names ending in "Gather"): row i of A read
//     through a window of x, A[i][q] = x[rows[i]+off[q]] with rows an
//     array of mr int32 element offsets and off one of k; a strided
//     convolution reads its input that way in place of an im2col matrix
//     (see linalg.Blocked.SgemmWindowA). Twelve rows would need more base
//     registers than amd64 has, so the AVX-512 shape has no such variant;
//     kernel6x32AVX512Gather and kernel7x32AVX512Gather take six and seven rows instead, by two panels of B
//     packed 16 columns wide (the AVX2 layout, which the AVX-512 level
//     keeps for packed B), the second panel elements after the first;
//     their variants ending in "Next" also prefetch into L2 the rows of
//     the next two panels (panel elements on from the second) that
//     they read of their own.
//     func(k int, x *float32, rows, off *int32, b, c *float32, ldc int, alpha, beta float32, useBeta int)
//     func(k int, x *float32, rows, off *int32, b *float32, panel int, c *float32, ldc int, alpha, beta float32, useBeta int)
//
// kernel12x8AVX2Packed and kernel12x8AVX2Rows compute the 12×8 tiles of
// the last panel of a B packed 8 columns wide, beside the AVX-512
// kernel's 12×32 tiles (see linalg's kernel.run8). kernel6x32AVX512Packed
// and kernel6x32AVX512Rows compute 6×32 tiles, for products whose rows
// 12-row tiles cover badly (see linalg's kernel.plainKernel).
//
// The packed and rows kernels of the main shapes have a variant whose name ends in "Slide" that reads B through a
// sliding window instead of a packed panel: row q of B is
// b[off[q] : off[q]+nr], with off an array of k int32 element offsets.
// A convolution with unit strides reads its input that way in place of
// an im2col matrix (see linalg.Blocked.SgemmWindow).
//
//	func(k int, a, b *float32, off *int32, c *float32, ldc int, alpha, beta float32, useBeta int)
//	func(k int, a *float32, lda int, b *float32, off *int32, c *float32, ldc int, alpha, beta float32, useBeta int)
//
// dotRowsAVX2 and axpyCols32AVX2 are the matrix-vector kernels for
// products with one row or one column; see their doc comments.
//
// packBTrans16AVX2 packs 16 rows of a row-major matrix as the columns
// of a B panel, and copyRows6AVX2 (and 12, 16, 32) copy k runs of that
// many values between strided rows; see their doc comments.
//
// For each element of C the products are summed in increasing order of k
// with one fused multiply-add per step, so a tile gives the same bits
// whichever layout A had and wherever the tile sits.
package main

import (
	"fmt"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// kernelShape describes one register-blocked micro-kernel.
type kernelShape struct {
	name   string
	isa    string                 // for the doc comment
	mr     int                    // rows of C per tile: one broadcast of A each
	vecs   int                    // vectors per row of the tile
	lanes  int                    // float32 lanes per vector
	newVec func() reg.VecVirtual  // YMM or ZMM
	zero   func(r reg.VecVirtual) // clears a vector with an instruction of the kernel's ISA
	unroll int                    // steps of k per loop iteration
	// splitB reads vector v of a row of B from panel v of B packed one
	// vector wide, the panels panel elements apart.
	splitB bool
	// prefetchNext, with splitB, prefetches into L2 the rows of the
	// next two panels (2*panel and 3*panel elements on) that each step
	// reads of its own two; the kernel's name then ends in "Next".
	prefetchNext bool
}

func main() {
	// Every kernel broadcasts each value of A into a register once a step
	// and multiplies it by each vector of B's row, rather than folding
	// the broadcast into each FMA (AVX-512's {1to16} memory operands),
	// which loads it once per vector: on Zen 5 (full-width AVX-512; Zen
	// 4 splits 512-bit operations in two) the folded 6x32 tiles ran at
	// about half of a core's peak. One thread, loaded machine, k = 256 in
	// L1, best of 2000 batches of 20 calls: the gathered 6x32 tile 206-210
	// GFLOP/s against 143-155 folded, 7x32 209-213 against 151-161; thread
	// CPU time, A/B interleaved: 6x32 on a hot tile 190-210 against
	// 165-180, 12x32 189-215 against 173-191. The sums, one FMA a step in
	// k order, are bitwise the same.
	shapes := []kernelShape{
		{name: "kernel6x16AVX2", isa: "AVX2 and FMA", mr: 6, vecs: 2, lanes: 8,
			newVec: YMM, zero: func(r reg.VecVirtual) { VXORPS(r, r, r) }, unroll: 4},
		{name: "kernel12x32AVX512", isa: "AVX-512F", mr: 12, vecs: 2, lanes: 16,
			newVec: ZMM, zero: func(r reg.VecVirtual) { VPXORD(r, r, r) }, unroll: 4},
	}
	for _, s := range shapes {
		for _, slide := range []bool{false, true} {
			emit(s, packedA, slide)
			emit(s, rowsA, slide)
		}
		if s.mr <= 6 {
			emit(s, gatheredA, false)
		}
	}
	// The gathered A of the AVX-512 level: six or seven rows (the base
	// registers of twelve do not fit; seven tile the 7x7 planes of
	// networks' last layers), 32 columns from two of the AVX2 layout's
	// 16-wide panels of B. The variants ending in "Next" also prefetch
	// the next pair of panels, for the first tile of a pair (see linalg's
	// tilePair).
	for _, mr := range []int{6, 7} {
		for _, next := range []bool{false, true} {
			emit(kernelShape{name: fmt.Sprintf("kernel%dx32AVX512", mr), isa: "AVX-512F", mr: mr, vecs: 2, lanes: 16,
				newVec: ZMM, zero: func(r reg.VecVirtual) { VPXORD(r, r, r) }, unroll: 4, splitB: true, prefetchNext: next}, gatheredA, false)
		}
	}
	// The last, narrow panel of B beside the AVX-512 kernel's 12-row
	// panels of A: 12 YMM accumulators, in AVX2 (AVX-512F alone has no
	// 8-lane FMA with a broadcast operand).
	narrow := kernelShape{name: "kernel12x8AVX2", isa: "AVX2 and FMA", mr: 12, vecs: 1, lanes: 8,
		newVec: YMM, zero: func(r reg.VecVirtual) { VXORPS(r, r, r) }, unroll: 4}
	emit(narrow, packedA, false)
	emit(narrow, rowsA, false)
	// The AVX-512 kernel of 6-row tiles, for products whose rows 12-row
	// tiles cover badly (64 rows in 72): on 256-bit units its 12 ZMM
	// accumulators keep the FMA pipes as busy as 24 do.
	six := kernelShape{name: "kernel6x32AVX512", isa: "AVX-512F", mr: 6, vecs: 2, lanes: 16,
		newVec: ZMM, zero: func(r reg.VecVirtual) { VPXORD(r, r, r) }, unroll: 4}
	emit(six, packedA, false)
	emit(six, rowsA, false)
	emitTransposePack()
	for _, w := range []int{6, 12, 16, 32} {
		emitStridedCopy(w)
	}
	emitDotRows()
	emitAxpyCols32()
	Generate()
}

// aLayout is how a kernel reads A: see the package comment.
type aLayout int

const (
	packedA aLayout = iota
	rowsA
	gatheredA
)

// emit writes the kernel for shape s with A in the given layout, and B
// packed, or read through a sliding window when slide is true.
func emit(s kernelShape, layout aLayout, slide bool) {
	nr := s.vecs * s.lanes
	if bits.OnesCount(uint(s.unroll)) != 1 || layout == rowsA && s.mr%3 != 0 {
		panic("asmgen: unroll must be a power of two and mr a multiple of 3 for rows of A")
	}
	if s.splitB && (s.vecs != 2 || slide) {
		panic("asmgen: B split into panels takes two vectors a row, packed")
	}
	var name, aParams, aWords string
	switch layout {
	case packedA:
		name, aParams, aWords = s.name+"Packed", "a", "packed"
	case rowsA:
		name, aParams, aWords = s.name+"Rows", "a *float32, lda int", "row-major"
	case gatheredA:
		name, aParams, aWords = s.name+"Gather", "x *float32, rows, off *int32", "gathered"
		if s.prefetchNext {
			name += "Next"
		}
	}
	bParams, bLayout := "b", "packed"
	if s.splitB {
		bParams, bLayout = "b *float32, panel int", "two panels of packed"
	}
	if slide {
		name, bParams, bLayout = name+"Slide", "b *float32, off *int32", "a sliding window of"
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(k int, %s, %s, c *float32, ldc int, alpha, beta float32, useBeta int, bias, clamp *float32)", aParams, bParams))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %dx%d micro-kernel for %s with %s A and %s B; see the package comment of asmgen.",
		name, s.mr, nr, s.isa, aWords, bLayout))

	k := Load(Param("k"), GP64())
	b := Load(Param("b"), GP64())
	// bRow returns the addresses of row u of B relative to the current
	// step, vector by vector, and advanceB moves B on by steps of k.
	bRow := func(u int) func(v int) Mem {
		return func(v int) Mem { return Mem{Base: b, Disp: 4 * (u*nr + v*s.lanes)} }
	}
	advanceB := func(steps int) { ADDQ(U32(4*nr*steps), b) }
	// prefetchB prefetches what prefetchNext says for step u.
	prefetchB := func(u int) {}
	if s.splitB {
		panel := Load(Param("panel"), GP64())
		SHLQ(U8(2), panel)
		if s.prefetchNext {
			panel3 := GP64()
			LEAQ(Mem{Base: panel, Index: panel, Scale: 2}, panel3)
			prefetchB = func(u int) {
				PREFETCHT1(Mem{Base: b, Index: panel, Scale: 2, Disp: 4 * u * s.lanes})
				PREFETCHT1(Mem{Base: b, Index: panel3, Scale: 1, Disp: 4 * u * s.lanes})
			}
		}
		bRow = func(u int) func(v int) Mem {
			return func(v int) Mem {
				m := Mem{Base: b, Disp: 4 * u * s.lanes}
				if v == 1 {
					m.Index, m.Scale = panel, 1
				}
				return m
			}
		}
		advanceB = func(steps int) { ADDQ(U32(4*s.lanes*steps), b) }
	}
	if slide {
		off := Load(Param("off"), GP64())
		bRow = func(u int) func(v int) Mem {
			r := GP64()
			MOVLQSX(Mem{Base: off, Disp: 4 * u}, r)
			return func(v int) Mem { return Mem{Base: b, Index: r, Scale: 4, Disp: 4 * v * s.lanes} }
		}
		advanceB = func(steps int) { ADDQ(U32(4*steps), off) }
	}

	// aRow returns, for step u of an unrolled block, the addresses of
	// A[i][u] relative to the current step. Packed A is one base
	// register; rows of A are groups of three rows from bases 3*lda
	// apart, indexed by lda; gathered A is a base register per row,
	// indexed by the step's offset.
	var aAt func(i, u int) Mem
	aRow := func(u int) func(i int) Mem { return func(i int) Mem { return aAt(i, u) } }
	var advanceA func(steps int)
	switch layout {
	case gatheredA:
		x := Load(Param("x"), GP64())
		rowOff := Load(Param("rows"), GP64())
		bases := make([]reg.GPVirtual, s.mr)
		for i := range bases {
			r := GP64()
			MOVLQSX(Mem{Base: rowOff, Disp: 4 * i}, r)
			bases[i] = GP64()
			LEAQ(Mem{Base: x, Index: r, Scale: 4}, bases[i])
		}
		off := Load(Param("off"), GP64())
		aRow = func(u int) func(i int) Mem {
			r := GP64()
			MOVLQSX(Mem{Base: off, Disp: 4 * u}, r)
			return func(i int) Mem { return Mem{Base: bases[i], Index: r, Scale: 4} }
		}
		advanceA = func(steps int) { ADDQ(U32(4*steps), off) }
	case rowsA:
		lda := Load(Param("lda"), GP64())
		SHLQ(U8(2), lda)
		lda3 := GP64()
		LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
		bases := make([]reg.GPVirtual, s.mr/3)
		for g := range bases {
			bases[g] = GP64()
			if g == 0 {
				Load(Param("a"), bases[g])
			} else {
				LEAQ(Mem{Base: bases[g-1], Index: lda3, Scale: 1}, bases[g])
			}
		}
		aAt = func(i, u int) Mem {
			m := Mem{Base: bases[i/3], Disp: 4 * u}
			if i%3 > 0 {
				m.Index, m.Scale = lda, uint8(i%3)
			}
			return m
		}
		advanceA = func(steps int) {
			for _, r := range bases {
				ADDQ(U32(4*steps), r)
			}
		}
	default:
		a := Load(Param("a"), GP64())
		aAt = func(i, u int) Mem { return Mem{Base: a, Disp: 4 * (u*s.mr + i)} }
		advanceA = func(steps int) { ADDQ(U32(4*s.mr*steps), a) }
	}

	Comment("Prefetch the tile of C, which is read or written only at the end.")
	{
		c := Load(Param("c"), GP64())
		ldc := Load(Param("ldc"), GP64())
		SHLQ(U8(2), ldc)
		for i := 0; i < s.mr; i++ {
			PREFETCHT0(Mem{Base: c})
			PREFETCHT0(Mem{Base: c, Disp: 4*nr - 4})
			if i < s.mr-1 {
				ADDQ(ldc, c)
			}
		}
	}

	acc := make([][]reg.VecVirtual, s.mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, s.vecs)
		for v := range acc[i] {
			acc[i][v] = s.newVec()
			s.zero(acc[i][v])
		}
	}

	// step emits the rank-1 update for step u of an unrolled block:
	// acc[i][v] += A[i][u] * B[u][v*lanes : (v+1)*lanes].
	step := func(u int) {
		bv := make([]reg.VecVirtual, s.vecs)
		bAt := bRow(u)
		for v := range bv {
			bv[v] = s.newVec()
			VMOVUPS(bAt(v), bv[v])
		}
		prefetchB(u)
		aAtStep := aRow(u)
		for i := 0; i < s.mr; i++ {
			t := s.newVec()
			VBROADCASTSS(aAtStep(i), t)
			for v := range bv {
				VFMADD231PS(bv[v], t, acc[i][v])
			}
		}
	}

	Comment("Unrolled main loop over k.")
	blocks := GP64()
	MOVQ(k, blocks)
	SHRQ(U8(bits.TrailingZeros(uint(s.unroll))), blocks)
	JZ(LabelRef("tail"))
	Label("block")
	for u := 0; u < s.unroll; u++ {
		step(u)
	}
	advanceA(s.unroll)
	advanceB(s.unroll)
	DECQ(blocks)
	JNZ(LabelRef("block"))

	Label("tail")
	ANDQ(U8(s.unroll-1), k)
	JZ(LabelRef("store"))
	Label("tailstep")
	step(0)
	advanceA(1)
	advanceB(1)
	DECQ(k)
	JNZ(LabelRef("tailstep"))

	Label("store")
	Comment("Scale by alpha, then add beta*C unless useBeta is 0.")
	av := s.newVec()
	VBROADCASTSS(avoparam.Addr("alpha"), av)
	for i := range acc {
		for v := range acc[i] {
			VMULPS(acc[i][v], av, acc[i][v])
		}
	}
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	useBeta := Load(Param("useBeta"), GP64())
	TESTQ(useBeta, useBeta)
	JZ(LabelRef("finish"))

	{
		bv := s.newVec()
		VBROADCASTSS(avoparam.Addr("beta"), bv)
		row := GP64()
		MOVQ(c, row)
		for i := range acc {
			for v := range acc[i] {
				VFMADD231PS(Mem{Base: row, Disp: 4 * v * s.lanes}, bv, acc[i][v])
			}
			if i < len(acc)-1 {
				ADDQ(ldc, row)
			}
		}
	}

	Label("finish")
	Comment("The store epilogue, when bias is not nil: add bias[i] to row i,",
		"clamp to [clamp[0], clamp[1]], then add clamp[2] (+0 turns Relu's -0",
		"into +0, -0 changes nothing).")
	bias := Load(Param("bias"), GP64())
	TESTQ(bias, bias)
	JZ(LabelRef("plain"))
	{
		clamp := Load(Param("clamp"), GP64())
		lo, hi, z := s.newVec(), s.newVec(), s.newVec()
		VBROADCASTSS(Mem{Base: clamp}, lo)
		VBROADCASTSS(Mem{Base: clamp, Disp: 4}, hi)
		VBROADCASTSS(Mem{Base: clamp, Disp: 8}, z)
		for i := range acc {
			bb := s.newVec()
			VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, bb)
			for v := range acc[i] {
				x := acc[i][v]
				VADDPS(bb, x, x)
				VMAXPS(x, lo, x) // x when x is NaN
				VMINPS(x, hi, x)
				VADDPS(z, x, x)
				VMOVUPS(x, Mem{Base: c, Disp: 4 * v * s.lanes})
			}
			ADDQ(ldc, c)
		}
		VZEROUPPER()
		RET()
	}

	Label("plain")
	for i := range acc {
		for v := range acc[i] {
			VMOVUPS(acc[i][v], Mem{Base: c, Disp: 4 * v * s.lanes})
		}
		ADDQ(ldc, c)
	}
	VZEROUPPER()
	RET()
}

// emitTransposePack writes packBTrans16AVX2, which stores the first
// k/8*8 columns of a 16×k block of a row-major matrix (row stride ldb
// elements) transposed: column q becomes the 16 values at
// dst[q*dstStride:], so that a transposed B becomes a packed panel.
// Each 8×8 sub-block is transposed in registers (unpack, shuffle, swap
// of 128-bit halves); the rows are prefetched a few lines ahead because
// they are usually read from far memory.
func emitTransposePack() {
	TEXT("packBTrans16AVX2", NOSPLIT, "func(k int, src *float32, ldb int, dst *float32, dstStride int)")
	Pragma("noescape")
	Doc("packBTrans16AVX2 packs a 16-row block of a row-major matrix as B-panel columns with AVX2; see emitTransposePack in package asmgen.")
	k := Load(Param("k"), GP64())
	SHRQ(U8(3), k)
	JZ(LabelRef("done"))
	ld := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	bases := make([]reg.GPVirtual, 6) // rows 0, 3, 6, 9, 12, 15
	for g := range bases {
		bases[g] = GP64()
		if g == 0 {
			Load(Param("src"), bases[g])
		} else {
			LEAQ(Mem{Base: bases[g-1], Index: ld3, Scale: 1}, bases[g])
		}
	}
	row := func(j int) Mem {
		m := Mem{Base: bases[j/3]}
		if j%3 > 0 {
			m.Index, m.Scale = ld, uint8(j%3)
		}
		return m
	}
	dst := Load(Param("dst"), GP64())
	stride := Load(Param("dstStride"), GP64())
	SHLQ(U8(2), stride)

	Label("loop")
	for h := 0; h < 2; h++ {
		r := make([]reg.VecVirtual, 8)
		for i := range r {
			r[i] = YMM()
			VMOVUPS(row(8*h+i), r[i])
			PREFETCHT0(row(8*h + i).Offset(512))
		}
		// t: pairs of rows interleaved; u: four rows, one column per
		// 128-bit half; out: the eight columns.
		t := make([]reg.VecVirtual, 8)
		for i := 0; i < 8; i += 2 {
			t[i], t[i+1] = YMM(), YMM()
			VUNPCKLPS(r[i+1], r[i], t[i])
			VUNPCKHPS(r[i+1], r[i], t[i+1])
		}
		u := make([]reg.VecVirtual, 8)
		for g := 0; g < 8; g += 4 {
			for i, sel := range []struct {
				x, y int
				imm  uint8
			}{{0, 2, 0x44}, {0, 2, 0xEE}, {1, 3, 0x44}, {1, 3, 0xEE}} {
				u[g+i] = YMM()
				VSHUFPS(U8(sel.imm), t[g+sel.y], t[g+sel.x], u[g+i])
			}
		}
		out := GP64()
		MOVQ(dst, out)
		for q := 0; q < 8; q++ {
			o := YMM()
			imm := uint8(0x20)
			if q >= 4 {
				imm = 0x31
			}
			VPERM2F128(U8(imm), u[4+q%4], u[q%4], o)
			VMOVUPS(o, Mem{Base: out, Disp: 32 * h})
			if q < 7 {
				ADDQ(stride, out)
			}
		}
	}
	for _, b := range bases {
		ADDQ(U8(32), b)
	}
	LEAQ(Mem{Base: dst, Index: stride, Scale: 8}, dst)
	DECQ(k)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// emitStridedCopy writes copyRows<w>AVX2, which copies k runs of w
// float32 values: dst[q*dstStride : q*dstStride+w] = src[q*srcStride :
// q*srcStride+w] for q < k (strides in elements). Packing uses it for
// rows of B and columns of a transposed A, where a call of copy per run
// would cost more than the run.
func emitStridedCopy(w int) {
	name := fmt.Sprintf("copyRows%dAVX2", w)
	TEXT(name, NOSPLIT, "func(k int, src *float32, srcStride int, dst *float32, dstStride int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies k strided runs of %d values; see emitStridedCopy in package asmgen.", name, w))
	k := Load(Param("k"), GP64())
	TESTQ(k, k)
	JZ(LabelRef("done"))
	src := Load(Param("src"), GP64())
	dst := Load(Param("dst"), GP64())
	ss := Load(Param("srcStride"), GP64())
	SHLQ(U8(2), ss)
	ds := Load(Param("dstStride"), GP64())
	SHLQ(U8(2), ds)
	Label("loop")
	off := 0
	for ; off+8 <= w; off += 8 {
		y := YMM()
		VMOVUPS(Mem{Base: src, Disp: 4 * off}, y)
		VMOVUPS(y, Mem{Base: dst, Disp: 4 * off})
	}
	if off+4 <= w {
		x := XMM()
		VMOVUPS(Mem{Base: src, Disp: 4 * off}, x)
		VMOVUPS(x, Mem{Base: dst, Disp: 4 * off})
		off += 4
	}
	if off+2 <= w {
		r := GP64()
		MOVQ(Mem{Base: src, Disp: 4 * off}, r)
		MOVQ(r, Mem{Base: dst, Disp: 4 * off})
		off += 2
	}
	if off != w {
		panic("asmgen: strided copy width must be even")
	}
	ADDQ(ss, src)
	ADDQ(ds, dst)
	DECQ(k)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// emitDotRows writes dotRowsAVX2(groups, k, a, lda, x, y), which stores
// in y[0:4*groups] the dot products of x[0:k] with rows of the row-major
// matrix a (rows lda elements apart), k a multiple of 8. Each row has
// two accumulators, for the even and odd blocks of 8 columns, added
// before the pairwise horizontal sums of the four rows.
func emitDotRows() {
	TEXT("dotRowsAVX2", NOSPLIT, "func(groups, k int, a *float32, lda int, x *float32, y *float32)")
	Pragma("noescape")
	Doc("dotRowsAVX2 computes the dot products of 4*groups matrix rows with a vector; see emitDotRows in package asmgen.")
	groups := Load(Param("groups"), GP64())
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	lda3 := GP64()
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	x0 := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	next := GP64() // the first row of the next group
	Label("group")
	TESTQ(groups, groups)
	JZ(LabelRef("done"))
	MOVQ(a, next)
	LEAQ(Mem{Base: next, Index: lda, Scale: 4}, next)
	x := GP64()
	MOVQ(x0, x)
	row := func(i, disp int) Mem {
		switch i {
		case 0:
			return Mem{Base: a, Disp: disp}
		case 3:
			return Mem{Base: a, Index: lda3, Scale: 1, Disp: disp}
		}
		return Mem{Base: a, Index: lda, Scale: uint8(i), Disp: disp}
	}
	acc := make([][2]reg.VecVirtual, 4)
	for i := range acc {
		for h := range acc[i] {
			acc[i][h] = YMM()
			VXORPS(acc[i][h], acc[i][h], acc[i][h])
		}
	}
	step := func(h, disp int) {
		xv := YMM()
		VMOVUPS(Mem{Base: x, Disp: disp}, xv)
		for i := range acc {
			VFMADD231PS(row(i, disp), xv, acc[i][h])
		}
	}
	blocks := GP64()
	MOVQ(k, blocks)
	SHRQ(U8(4), blocks)
	JZ(LabelRef("half"))
	Label("loop")
	step(0, 0)
	step(1, 32)
	ADDQ(U8(64), a)
	ADDQ(U8(64), x)
	DECQ(blocks)
	JNZ(LabelRef("loop"))
	Label("half")
	TESTQ(U32(8), k)
	JZ(LabelRef("reduce"))
	step(0, 0)
	Label("reduce")
	for i := range acc {
		VADDPS(acc[i][1], acc[i][0], acc[i][0])
	}
	h01, h23 := YMM(), YMM()
	VHADDPS(acc[1][0], acc[0][0], h01)
	VHADDPS(acc[3][0], acc[2][0], h23)
	VHADDPS(h23, h01, h01)
	hi := XMM()
	VEXTRACTF128(U8(1), h01, hi)
	VADDPS(hi, h01.AsX(), hi)
	VMOVUPS(hi, Mem{Base: y})
	ADDQ(U8(16), y)
	MOVQ(next, a)
	DECQ(groups)
	JMP(LabelRef("group"))
	Label("done")
	VZEROUPPER()
	RET()
}

// emitAxpyCols32 writes axpyCols32AVX2, which stores in y[0:32] the sum
// over q < k of x[q] times row q of a 32-column block of a row-major
// matrix (row stride ldb elements): 32 columns of a vector-matrix
// product. Even and odd steps of q go to separate accumulators, so that
// eight multiply-add chains are in flight.
func emitAxpyCols32() {
	TEXT("axpyCols32AVX2", NOSPLIT, "func(k int, x *float32, b *float32, ldb int, y *float32)")
	Pragma("noescape")
	Doc("axpyCols32AVX2 computes 32 columns of a vector-matrix product; see emitAxpyCols32 in package asmgen.")
	k := Load(Param("k"), GP64())
	x := Load(Param("x"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	acc := make([][4]reg.VecVirtual, 2)
	for h := range acc {
		for v := range acc[h] {
			acc[h][v] = YMM()
			VXORPS(acc[h][v], acc[h][v], acc[h][v])
		}
	}
	step := func(h int) {
		xv := YMM()
		VBROADCASTSS(Mem{Base: x, Disp: 4 * h}, xv)
		for v := range acc[h] {
			VFMADD231PS(Mem{Base: b, Disp: 32 * v}, xv, acc[h][v])
		}
		ADDQ(ldb, b)
	}
	pairs := GP64()
	MOVQ(k, pairs)
	SHRQ(U8(1), pairs)
	JZ(LabelRef("odd"))
	Label("loop")
	step(0)
	step(1)
	ADDQ(U8(8), x)
	DECQ(pairs)
	JNZ(LabelRef("loop"))
	Label("odd")
	TESTQ(U32(1), k)
	JZ(LabelRef("store"))
	step(0)
	Label("store")
	y := Load(Param("y"), GP64())
	for v := range acc[0] {
		VADDPS(acc[1][v], acc[0][v], acc[0][v])
		VMOVUPS(acc[0][v], Mem{Base: y, Disp: 32 * v})
	}
	VZEROUPPER()
	RET()
}
