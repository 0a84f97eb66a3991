package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
	"github.com/onnxkit/onnxkit/native/vec/internal/loopgen"
)

// The loops of max pooling, MaxRows and MaxStride2, at both widths (AVX2
// on 8 lanes, AVX-512 on 16), and the float64 sum of global average
// pooling (AVX2). A running maximum keeps NaNs: VMAXPS returns its second
// source when either is a NaN, so the maximum, given as the second
// source, keeps a NaN it holds; the lanes where a later value is a NaN
// (unordered with itself) are collected in nan, a vector with AVX2 and
// an opmask with AVX-512, and set to all ones (a NaN) at the end.

// nanLanes returns a register for a set of lanes: a vector with AVX2,
// an opmask with AVX-512.
func (l lanes) nanLanes() reg.Register {
	if l.width == 16 {
		return K()
	}
	return YMM()
}

// clearNaN empties the set of lanes nan.
func (l lanes) clearNaN(nan reg.Register) {
	if l.width == 16 {
		KXORW(nan, nan, nan)
	} else {
		VXORPS(nan, nan, nan)
	}
}

// maxInto emits acc = max(acc, x), the lanes where x is a NaN added to
// nan.
func (l lanes) maxInto(acc reg.VecVirtual, nan reg.Register, x reg.VecVirtual) {
	u := l.nanLanes()
	VCMPPS(U8(3), x, x, u)
	if l.width == 16 {
		KORW(u, nan, nan)
	} else {
		VORPS(u, nan, nan)
	}
	VMAXPS(acc, x, acc)
}

// setNaN sets to all ones (a NaN) the lanes of acc that nan holds.
func (l lanes) setNaN(acc reg.VecVirtual, nan reg.Register) {
	if l.width == 16 {
		VPTERNLOGD(U8(0xff), acc, acc, nan, acc)
	} else {
		VORPS(nan, acc, acc)
	}
}

// emitMaxRows writes maxRows+level, func(n int, dst, src *float32, off
// *int32, rows int), which stores in dst[0:n] the elementwise maximum of
// the rows of src at the rows int32 element offsets off: two vectors of
// columns at a time, then one, then the last few. With AVX-512 these go
// through masked loads and stores (masks is laneMasks), which touch
// nothing past the rows. With AVX2 (masks is tailMasks) they are the last
// vector again when n is at least 8 (taking a maximum twice changes
// nothing, and AVX2's masked stores are slow: pooling AlexNet's 54x54
// planes took half as long again), else masked.
func (l lanes) emitMaxRows(masks Mem) {
	fn := "maxRows" + l.name
	TEXT(fn, NOSPLIT, "func(n int, dst, src *float32, off *int32, rows int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of MaxRows; see emitMaxRows in package asmgen.", fn, l.name))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	rows := Load(Param("rows"), GP64())
	l.maxRowsLoop(n, dst, src, off, rows, masks, avoparam.Addr("n"), "")
	Label("done")
	VZEROUPPER()
	RET()
}

// maxRowsLoop emits the body of emitMaxRows on registers, which it
// changes, its labels prefixed by prefix and ending at prefix+"done";
// nParam is where n was given (the AVX2 tail asks whether it was at
// least 8).
func (l lanes) maxRowsLoop(n, dst, src, off, rows reg.Register, masks, nParam Mem, prefix string) {
	bytes := 4 * l.width // of a vector

	// block emits the maximum of vecs vectors of columns at src into dst,
	// masked by mask unless it is nil.
	block := func(vecs int, label string, mask reg.Register) {
		first := GP64()
		MOVLQSX(Mem{Base: off}, first)
		acc, nan := make([]reg.VecVirtual, vecs), make([]reg.Register, vecs)
		for v := range acc {
			acc[v], nan[v] = l.vec(), l.nanLanes()
			loopgen.MaskedLoad(Mem{Base: src, Index: first, Scale: 4, Disp: bytes * v}, mask, acc[v])
			l.clearNaN(nan[v])
		}
		r := GP64()
		MOVQ(U32(1), r)
		Label(label + "row")
		CMPQ(r, rows)
		JGE(LabelRef(label + "store"))
		at := GP64()
		MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
		for v := range acc {
			x := l.vec()
			loopgen.MaskedLoad(Mem{Base: src, Index: at, Scale: 4, Disp: bytes * v}, mask, x)
			l.maxInto(acc[v], nan[v], x)
		}
		INCQ(r)
		JMP(LabelRef(label + "row"))
		Label(label + "store")
		for v := range acc {
			l.setNaN(acc[v], nan[v])
			loopgen.MaskedStore(acc[v], mask, Mem{Base: dst, Disp: bytes * v})
		}
	}
	shape := loopgen.Shape{Lanes: l.width, AVX512: l.width == 16}
	shape.Blocks(prefix, n, dst, src, []int{2, 1}, block)
	TESTQ(n, n)
	JZ(LabelRef(prefix + "done"))
	if shape.AVX512 {
		block(1, prefix+"tail", shape.TailMask(n, masks, masks))
		return
	}
	CMPQ(nParam, U32(8))
	JL(LabelRef(prefix + "masked"))
	back := GP64() // 8-n columns back, the last 8 end at the last column
	MOVQ(U32(8), back)
	SUBQ(n, back)
	SHLQ(U8(2), back)
	SUBQ(back, src)
	SUBQ(back, dst)
	block(1, prefix+"last", nil)
	JMP(LabelRef(prefix + "done"))
	Label(prefix + "masked")
	block(1, prefix+"tail", shape.TailMask(n, masks, masks))
}

// emitMaxPoolRowsS2 writes maxPoolRowsS2+level, the loop of MaxPoolRows
// with a stride of 2: for each of planes planes q and each of rows
// output rows r, the maximum down the rows of src at q*srcPlane +
// r*srcStride plus the kh offsets down into image[0:cols]
// (maxRowsLoop), then the maximum over the kw offsets across of every
// other element of row (row[across[t]+2j], as emitMaxStride2 takes it)
// into dst[q*dstPlane + r*dstStride:][:width], the last partial vector
// through a masked store; row must hold 32 elements per block of 16
// outputs past the largest offset of across (the loads of evens); three
// taps across, a 3x3 window's, go without the loop over the taps. One
// call for all the rows of many planes: the calls per row, their checks
// and their blocks' tails cost as much as the loops on rows of 7 to 56
// outputs. masks is laneMasks16 (AVX-512) or tailMasks (AVX2),
// evenIndex emitMaxStride2's table (AVX-512).
func (l lanes) emitMaxPoolRowsS2(masks, evenIndex Mem) {
	fn := "maxPoolRowsS2" + l.name
	TEXT(fn, NOSPLIT, "func(planes, srcPlane, dstPlane, rows int, src *float32, srcStride int, down *int32, kh int, image *float32, cols int, row *float32, dst *float32, dstStride int, width int, across *int32, kw int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of MaxPoolRows with a stride of 2; see emitMaxPoolRowsS2 in package asmgen.", fn, l.name))
	q := GP64()
	XORQ(q, q)
	Label("nextplane")
	CMPQ(q, avoparam.Addr("planes"))
	JGE(LabelRef("done"))
	r := GP64()
	XORQ(r, r)
	Label("nextrow")
	CMPQ(r, avoparam.Addr("rows"))
	JGE(LabelRef("planedone"))

	src, stride := Load(Param("src"), GP64()), Load(Param("srcStride"), GP64())
	IMULQ(r, stride)
	LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src)
	srcPlane := Load(Param("srcPlane"), GP64())
	IMULQ(q, srcPlane)
	LEAQ(Mem{Base: src, Index: srcPlane, Scale: 4}, src)
	n, image := Load(Param("cols"), GP64()), Load(Param("image"), GP64())
	down, kh := Load(Param("down"), GP64()), Load(Param("kh"), GP64())
	l.maxRowsLoop(n, image, src, down, kh, masks, avoparam.Addr("cols"), "down")
	Label("downdone")

	row, m := Load(Param("row"), GP64()), Load(Param("width"), GP64())
	dst, dstStride := Load(Param("dst"), GP64()), Load(Param("dstStride"), GP64())
	IMULQ(r, dstStride)
	LEAQ(Mem{Base: dst, Index: dstStride, Scale: 4}, dst)
	dstPlane := Load(Param("dstPlane"), GP64())
	IMULQ(q, dstPlane)
	LEAQ(Mem{Base: dst, Index: dstPlane, Scale: 4}, dst)
	across, kw := Load(Param("across"), GP64()), Load(Param("kw"), GP64())
	evens := l.evens(row, evenIndex)
	// Three taps across (3x3 windows) without the loop over them: their
	// offsets in registers, the three loads and maxima unrolled.
	acc, nan := l.vec(), l.nanLanes()
	a0, a1, a2 := GP64(), GP64(), GP64()
	CMPQ(kw, U8(3))
	JNE(LabelRef("block"))
	MOVLQSX(Mem{Base: across}, a0)
	MOVLQSX(Mem{Base: across, Disp: 4}, a1)
	MOVLQSX(Mem{Base: across, Disp: 8}, a2)
	Label("block3")
	VMOVUPS(evens(a0), acc)
	l.clearNaN(nan)
	l.maxInto(acc, nan, evens(a1))
	l.maxInto(acc, nan, evens(a2))
	l.setNaN(acc, nan)
	CMPQ(m, U32(l.width))
	JL(LabelRef("partial"))
	VMOVUPS(acc, Mem{Base: dst})
	ADDQ(U32(8*l.width), row)
	ADDQ(U32(4*l.width), dst)
	SUBQ(U32(l.width), m)
	JG(LabelRef("block3"))
	JMP(LabelRef("rowdone"))

	Label("block")
	first := GP64()
	MOVLQSX(Mem{Base: across}, first)
	VMOVUPS(evens(first), acc)
	l.clearNaN(nan)
	t := GP64()
	MOVQ(U32(1), t)
	Label("tap")
	CMPQ(t, kw)
	JGE(LabelRef("store"))
	at := GP64()
	MOVLQSX(Mem{Base: across, Index: t, Scale: 4}, at)
	l.maxInto(acc, nan, evens(at))
	INCQ(t)
	JMP(LabelRef("tap"))
	Label("store")
	l.setNaN(acc, nan)
	CMPQ(m, U32(l.width))
	JL(LabelRef("partial"))
	VMOVUPS(acc, Mem{Base: dst})
	ADDQ(U32(8*l.width), row)
	ADDQ(U32(4*l.width), dst)
	SUBQ(U32(l.width), m)
	JG(LabelRef("block"))
	JMP(LabelRef("rowdone"))
	Label("partial")
	shape := loopgen.Shape{Lanes: l.width, AVX512: l.width == 16}
	loopgen.MaskedStore(acc, shape.TailMask(m, masks, masks), Mem{Base: dst})
	Label("rowdone")
	INCQ(r)
	JMP(LabelRef("nextrow"))
	Label("planedone")
	INCQ(q)
	JMP(LabelRef("nextplane"))
	Label("done")
	VZEROUPPER()
	RET()
}

// emitEvenTable writes the table 0, 2, ..., 2(n-1) of int32 under name:
// the offsets of the even ones of 2n elements.
func emitEvenTable(name string, n int) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < n; i++ {
		DATA(4*i, U32(uint32(2*i)))
	}
	return m
}

// evens returns a function that loads the even ones of the 2*width
// elements at src plus at elements. With AVX2 that is evenElements; with
// AVX-512 one permutation of two vectors by the table evenIndex, which
// it loads into a register first.
func (l lanes) evens(src reg.Register, evenIndex Mem) func(at reg.GPVirtual) reg.VecVirtual {
	if l.width != 16 {
		return func(at reg.GPVirtual) reg.VecVirtual { return evenElements(src, at) }
	}
	index := ZMM()
	VMOVUPS(evenIndex, index)
	return func(at reg.GPVirtual) reg.VecVirtual {
		lo, hi, x := ZMM(), ZMM(), ZMM()
		VMOVUPS(Mem{Base: src, Index: at, Scale: 4}, lo)
		VMOVUPS(Mem{Base: src, Index: at, Scale: 4, Disp: 64}, hi)
		VMOVUPS(index, x)
		VPERMI2PS(hi, lo, x)
		return x
	}
}

// emitMaxStride2 writes maxStride2+level, func(n int, dst, src *float32,
// off *int32, taps int), which stores in dst[0:n] (n a multiple of the
// lanes) the maximum over the taps int32 element offsets off of every
// other element of src from there: dst[j] = max over t of src[off[t]+2j],
// as max-pooling with a stride of 2 takes it along a row. It loads two
// vectors and keeps the even elements (evens), reading src[off[t]+2j+1]
// too. It returns the table of the even elements' indexes (AVX-512).
func (l lanes) emitMaxStride2() (evenIndex Mem) {
	if l.width == 16 {
		evenIndex = emitEvenTable("evenIndex16", 16)
	}
	fn := "maxStride2" + l.name
	TEXT(fn, NOSPLIT, "func(n int, dst, src *float32, off *int32, taps int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of MaxStride2; see emitMaxStride2 in package asmgen.", fn, l.name))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	taps := Load(Param("taps"), GP64())
	evens := l.evens(src, evenIndex)
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	first := GP64()
	MOVLQSX(Mem{Base: off}, first)
	acc, nan := evens(first), l.nanLanes()
	l.clearNaN(nan)
	r := GP64()
	MOVQ(U32(1), r)
	Label("tap")
	CMPQ(r, taps)
	JGE(LabelRef("store"))
	at := GP64()
	MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
	l.maxInto(acc, nan, evens(at))
	INCQ(r)
	JMP(LabelRef("tap"))
	Label("store")
	l.setNaN(acc, nan)
	VMOVUPS(acc, Mem{Base: dst})
	ADDQ(U32(8*l.width), src)
	ADDQ(U32(4*l.width), dst)
	SUBQ(U32(l.width), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
	return evenIndex
}

// emitSumFloat64 writes sumFloat64AVX2, func(n int, src *float32, sums
// *float64), which adds src[0:n] (n a multiple of 16) in float64, lane
// by lane, and stores the lanes' sums in sums[0:4]: each half vector of
// float32 is widened to doubles and added into one of four accumulators,
// so that four additions are in flight. The AVX-512 level runs it too:
// a plane's sum is short and bound by loading it, and a version on 16
// lanes measured no faster on the loaded machine.
func emitSumFloat64() {
	l := lanesAVX2
	TEXT("sumFloat64AVX2", NOSPLIT, "func(n int, src *float32, sums *float64)")
	Pragma("noescape")
	Doc("sumFloat64AVX2 is the AVX2 loop of SumFloat64; see emitSumFloat64 in package asmgen.")
	n := Load(Param("n"), GP64())
	src := Load(Param("src"), GP64())
	sums := Load(Param("sums"), GP64())
	l.emitWidenedSums(n, src, sums, func(d, acc reg.VecVirtual) { VADDPD(d, acc, acc) })
}
