// Command asmgen writes the amd64 vector loops of package vec with avo.
// Run it through go generate in native/vec:
//
//	go run ./internal/asmgen -out vec_amd64.s -stubs vec_amd64.go -pkg vec
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

func main() {
	masks := emitMasks()
	emitMaxRows(masks)
	emitMaxStride2()
	emitScaleAdd(masks)
	emitFirstEqualStride2(emitEvenRamp())
	emitTileTransforms(masks)
	emitTransposeBias()
	emitInterleave()
	emitDeinterleave()
	emitTranscendentals()
	emitActivations()
	laneMasks := emitLaneMasks()
	emitWeightedTaps(masks, laneMasks)
	emitMaxRowsAVX512(laneMasks)
	emitMaxStride2AVX512(emitEvenIndex())
	emitSumFloat64()
	Generate()
}

// emitMasks writes the table the loops take the mask of a last partial
// vector from: eight lanes of all ones, then eight of zeros. The mask of
// the first r lanes is the eight int32 from lane 8-r.
func emitMasks() Mem {
	m := GLOBL("tailMasks", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	return m
}

// maxInto emits acc = max(acc, x) for vectors of a running maximum, a NaN
// in x recorded in nan. VMAXPS returns its second source when either is
// a NaN, so acc, given as the second source, keeps a NaN it holds; nan
// collects the lanes where x is one (unordered with itself), to be or-ed
// into the result at the end (all ones: a NaN).
func maxInto(acc, nan, x reg.VecVirtual) {
	u := YMM()
	VCMPPS(U8(3), x, x, u)
	VORPS(u, nan, nan)
	VMAXPS(acc, x, acc)
}

// emitMaxRows writes maxRowsAVX2, which stores in dst[0:n] the
// elementwise maximum of the rows of src at the rows int32 element
// offsets off: 16 columns at a time, then 8, then the last few as the
// last 8 again when n is at least 8 (taking a maximum twice changes
// nothing, and AVX2's masked stores are slow: pooling AlexNet's 54x54
// planes took half as long again), else through masked loads and
// stores, which touch nothing past the rows.
func emitMaxRows(masks Mem) {
	TEXT("maxRowsAVX2", NOSPLIT, "func(n int, dst, src *float32, off *int32, rows int)")
	Pragma("noescape")
	Doc("maxRowsAVX2 is the AVX2 loop of MaxRows; see emitMaxRows in package asmgen.")
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	rows := Load(Param("rows"), GP64())

	// block emits the maximum of vecs vectors of columns at src into dst,
	// masked by mask unless it is nil.
	block := func(vecs int, mask reg.VecVirtual, label string) {
		load := func(m Mem, x reg.VecVirtual) {
			if mask != nil {
				VMASKMOVPS(m, mask, x)
			} else {
				VMOVUPS(m, x)
			}
		}
		first := GP64()
		MOVLQSX(Mem{Base: off}, first)
		acc, nan := make([]reg.VecVirtual, vecs), make([]reg.VecVirtual, vecs)
		for v := range acc {
			acc[v], nan[v] = YMM(), YMM()
			load(Mem{Base: src, Index: first, Scale: 4, Disp: 32 * v}, acc[v])
			VXORPS(nan[v], nan[v], nan[v])
		}
		r := GP64()
		MOVQ(U32(1), r)
		Label(label + "row")
		CMPQ(r, rows)
		JGE(LabelRef(label + "store"))
		at := GP64()
		MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
		for v := range acc {
			x := YMM()
			load(Mem{Base: src, Index: at, Scale: 4, Disp: 32 * v}, x)
			maxInto(acc[v], nan[v], x)
		}
		INCQ(r)
		JMP(LabelRef(label + "row"))
		Label(label + "store")
		for v := range acc {
			VORPS(nan[v], acc[v], acc[v])
			if mask != nil {
				VMASKMOVPS(acc[v], mask, Mem{Base: dst, Disp: 32 * v})
			} else {
				VMOVUPS(acc[v], Mem{Base: dst, Disp: 32 * v})
			}
		}
	}
	for _, vecs := range []int{2, 1} {
		label := fmt.Sprintf("by%d", 8*vecs)
		Label(label)
		CMPQ(n, U32(8*vecs))
		JL(LabelRef(label + "done"))
		block(vecs, nil, label)
		ADDQ(U32(32*vecs), src)
		ADDQ(U32(32*vecs), dst)
		SUBQ(U32(8*vecs), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	CMPQ(avoparam.Addr("n"), U32(8))
	JL(LabelRef("masked"))
	back := GP64() // 8-n columns back, the last 8 end at the last column
	MOVQ(U32(8), back)
	SUBQ(n, back)
	SHLQ(U8(2), back)
	SUBQ(back, src)
	SUBQ(back, dst)
	block(1, nil, "last")
	JMP(LabelRef("done"))
	Label("masked")
	at, mask := GP64(), YMM()
	LEAQ(masks.Offset(32), at)
	SHLQ(U8(2), n)
	SUBQ(n, at)
	VMOVUPS(Mem{Base: at}, mask)
	block(1, mask, "tail")
	Label("done")
	VZEROUPPER()
	RET()
}

// evenElements loads the even ones of the 16 elements at src plus at
// elements: a shuffle picks them within each 128-bit lane, and a
// permutation of 64-bit pairs puts the lanes in order.
func evenElements(src, at reg.Register) reg.VecVirtual {
	lo, hi, t, x := YMM(), YMM(), YMM(), YMM()
	VMOVUPS(Mem{Base: src, Index: at, Scale: 4}, lo)
	VMOVUPS(Mem{Base: src, Index: at, Scale: 4, Disp: 32}, hi)
	VSHUFPS(U8(0x88), hi, lo, t)
	VPERMPD(U8(0xd8), t, x)
	return x
}

// emitMaxStride2 writes maxStride2AVX2, which stores in dst[0:n] (n a
// multiple of 8) the maximum over the taps int32 element offsets off of
// every other element of src from there: dst[j] = max over t of
// src[off[t]+2j], as max-pooling with a stride of 2 takes it along a row.
// It loads 16 elements and keeps the even ones (evenElements), reading
// src[off[t]+2j+1] too.
func emitMaxStride2() {
	TEXT("maxStride2AVX2", NOSPLIT, "func(n int, dst, src *float32, off *int32, taps int)")
	Pragma("noescape")
	Doc("maxStride2AVX2 is the AVX2 loop of MaxStride2; see emitMaxStride2 in package asmgen.")
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	taps := Load(Param("taps"), GP64())
	evens := func(at reg.GPVirtual) reg.VecVirtual { return evenElements(src, at) }
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	first := GP64()
	MOVLQSX(Mem{Base: off}, first)
	acc, nan := evens(first), YMM()
	VXORPS(nan, nan, nan)
	r := GP64()
	MOVQ(U32(1), r)
	Label("tap")
	CMPQ(r, taps)
	JGE(LabelRef("store"))
	at := GP64()
	MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
	maxInto(acc, nan, evens(at))
	INCQ(r)
	JMP(LabelRef("tap"))
	Label("store")
	VORPS(nan, acc, acc)
	VMOVUPS(acc, Mem{Base: dst})
	ADDQ(U32(64), src)
	ADDQ(U32(32), dst)
	SUBQ(U32(8), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

// emitScaleAdd writes scaleAddAVX2, which stores src[i]*a + b in dst[i]
// for i < n, a multiplication then an addition, each rounded, as Go
// computes them: 32 values at a time, then 8, then the last few through
// masked loads and stores.
func emitScaleAdd(masks Mem) {
	TEXT("scaleAddAVX2", NOSPLIT, "func(n int, dst, src *float32, a, b float32)")
	Pragma("noescape")
	Doc("scaleAddAVX2 is the AVX2 loop of ScaleAdd; see emitScaleAdd in package asmgen.")
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	av, bv := YMM(), YMM()
	VBROADCASTSS(avoparam.Addr("a"), av)
	VBROADCASTSS(avoparam.Addr("b"), bv)
	for _, vecs := range []int{4, 1} {
		label := fmt.Sprintf("by%d", 8*vecs)
		Label(label)
		CMPQ(n, U32(8*vecs))
		JL(LabelRef(label + "done"))
		for v := 0; v < vecs; v++ {
			x := YMM()
			VMULPS(Mem{Base: src, Disp: 32 * v}, av, x)
			VADDPS(bv, x, x)
			VMOVUPS(x, Mem{Base: dst, Disp: 32 * v})
		}
		ADDQ(U32(32*vecs), src)
		ADDQ(U32(32*vecs), dst)
		SUBQ(U32(8*vecs), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	at, mask, x := GP64(), YMM(), YMM()
	LEAQ(masks.Offset(32), at)
	SHLQ(U8(2), n)
	SUBQ(n, at)
	VMOVUPS(Mem{Base: at}, mask)
	VMASKMOVPS(Mem{Base: src}, mask, x)
	VMULPS(x, av, x)
	VADDPS(bv, x, x)
	VMASKMOVPS(x, mask, Mem{Base: dst})
	Label("done")
	VZEROUPPER()
	RET()
}

// emitEvenRamp writes the table 0, 2, ..., 14: the offsets of the even
// elements of 16.
func emitEvenRamp() Mem {
	m := GLOBL("evenRamp", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(uint32(2*i)))
	}
	return m
}

// emitFirstEqualStride2 writes firstEqualStride2AVX2, which stores in
// idx[0:n] (n a multiple of 8), for each j, off[t]+2j for the first t
// (in the order of off) at which src[off[t]+2j] equals m[j] or is a NaN,
// or off[0]+2j when none does. Taps are visited last to first, each
// match blending its indices in; equality is that of VCMPPS (zeros of
// both signs equal).
func emitFirstEqualStride2(evenRamp Mem) {
	TEXT("firstEqualStride2AVX2", NOSPLIT, "func(n int, idx *int32, m, src *float32, off *int32, taps int)")
	Pragma("noescape")
	Doc("firstEqualStride2AVX2 is the AVX2 loop of FirstEqualStride2; see emitFirstEqualStride2 in package asmgen.")
	n := Load(Param("n"), GP64())
	idx := Load(Param("idx"), GP64())
	m := Load(Param("m"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	taps := Load(Param("taps"), GP64())
	// ramp holds the lanes' offsets 2j from the first output; it grows
	// by 16 a block.
	ramp, step := YMM(), YMM()
	VMOVDQU(evenRamp, ramp)
	{
		t, x := GP32(), XMM()
		MOVL(U32(16), t)
		VMOVD(t, x)
		VPBROADCASTD(x, step)
	}
	// broadcastAt returns off[t]+2j in each lane j, t in a register.
	broadcastAt := func(at reg.GPVirtual) reg.VecVirtual {
		x, v := XMM(), YMM()
		VMOVQ(at, x)
		VPBROADCASTD(x, v)
		VPADDD(ramp, v, v)
		return v
	}
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	want := YMM()
	VMOVUPS(Mem{Base: m}, want)
	first := GP64()
	MOVLQSX(Mem{Base: off}, first)
	found := broadcastAt(first)
	r := GP64()
	MOVQ(taps, r)
	Label("tap")
	DECQ(r)
	JL(LabelRef("store"))
	at := GP64()
	MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
	v := evenElements(src, at)
	eq, nan := YMM(), YMM()
	VCMPPS(U8(0), want, v, eq) // equal, ordered
	VCMPPS(U8(3), v, v, nan)   // v is a NaN
	VORPS(nan, eq, eq)
	VBLENDVPS(eq, broadcastAt(at), found, found)
	JMP(LabelRef("tap"))
	Label("store")
	VMOVDQU(found, Mem{Base: idx})
	VPADDD(step, ramp, ramp)
	ADDQ(U32(64), src)
	ADDQ(U32(32), m)
	ADDQ(U32(32), idx)
	SUBQ(U32(8), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}
