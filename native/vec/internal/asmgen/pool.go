package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The loops of pooling: MaxRows and MaxStride2 on 16 lanes (AVX-512),
// and the float64 sum of global average pooling (AVX2). The max loops keep the NaN rule of the AVX2 loops (maxInto): VMAXPS given the
// running maximum as its second source keeps a NaN it holds, and the
// lanes where a later value is a NaN are collected in an opmask, to be
// set to all ones (a NaN) at the end.

// maxInto512 emits acc = max(acc, x) on ZMM registers, the lanes where x
// is a NaN (unordered with itself) or-ed into the opmask nan.
func maxInto512(acc reg.VecVirtual, nan reg.OpmaskVirtual, x reg.VecVirtual) {
	k := K()
	VCMPPS(U8(3), x, x, k)
	KORW(k, nan, nan)
	VMAXPS(acc, x, acc)
}

// setNaN sets to all ones (a NaN) the lanes of acc that nan marks.
func setNaN(acc reg.VecVirtual, nan reg.OpmaskVirtual) {
	VPTERNLOGD(U8(0xff), acc, acc, nan, acc)
}

// emitMaxRowsAVX512 writes maxRowsAVX512, MaxRows's loop on 16 lanes,
// func(n int, dst, src *float32, off *int32, rows int): dst[0:n] takes
// the elementwise maximum of the rows of src at the rows int32 element
// offsets off, 32 columns at a time, then 16, then the last few through
// masked loads and stores (laneMasks), which touch nothing past the rows.
func emitMaxRowsAVX512(laneMasks Mem) {
	TEXT("maxRowsAVX512", NOSPLIT, "func(n int, dst, src *float32, off *int32, rows int)")
	Pragma("noescape")
	Doc("maxRowsAVX512 is the AVX-512 loop of MaxRows; see emitMaxRowsAVX512 in package asmgen.")
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	rows := Load(Param("rows"), GP64())

	// block emits the maximum of vecs vectors of columns at src into
	// dst, masked by mask unless it is nil.
	block := func(vecs int, mask reg.OpmaskVirtual, label string) {
		load := func(m Mem, x reg.VecVirtual) {
			if mask != nil {
				VMOVUPS_Z(m, mask, x)
			} else {
				VMOVUPS(m, x)
			}
		}
		first := GP64()
		MOVLQSX(Mem{Base: off}, first)
		acc, nan := make([]reg.VecVirtual, vecs), make([]reg.OpmaskVirtual, vecs)
		for v := range acc {
			acc[v], nan[v] = ZMM(), K()
			load(Mem{Base: src, Index: first, Scale: 4, Disp: 64 * v}, acc[v])
			KXORW(nan[v], nan[v], nan[v])
		}
		r := GP64()
		MOVQ(U32(1), r)
		Label(label + "row")
		CMPQ(r, rows)
		JGE(LabelRef(label + "store"))
		at := GP64()
		MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
		for v := range acc {
			x := ZMM()
			load(Mem{Base: src, Index: at, Scale: 4, Disp: 64 * v}, x)
			maxInto512(acc[v], nan[v], x)
		}
		INCQ(r)
		JMP(LabelRef(label + "row"))
		Label(label + "store")
		for v := range acc {
			setNaN(acc[v], nan[v])
			if mask != nil {
				VMOVUPS(acc[v], mask, Mem{Base: dst, Disp: 64 * v})
			} else {
				VMOVUPS(acc[v], Mem{Base: dst, Disp: 64 * v})
			}
		}
	}
	for _, vecs := range []int{2, 1} {
		label := fmt.Sprintf("by%d", 16*vecs)
		Label(label)
		CMPQ(n, U32(16*vecs))
		JL(LabelRef(label + "done"))
		block(vecs, nil, label)
		ADDQ(U32(64*vecs), src)
		ADDQ(U32(64*vecs), dst)
		SUBQ(U32(16*vecs), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	k, table := K(), GP64()
	LEAQ(laneMasks, table)
	KMOVW(Mem{Base: table, Index: n, Scale: 2}, k)
	block(1, k, "tail")
	Label("done")
	VZEROUPPER()
	RET()
}

// emitEvenIndex writes the table 0, 2, ..., 30: the lanes of the even
// elements of two vectors of 16, as VPERMI2PS numbers them.
func emitEvenIndex() Mem {
	m := GLOBL("evenIndex16", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(2*i)))
	}
	return m
}

// emitMaxStride2AVX512 writes maxStride2AVX512, MaxStride2's loop on 16
// lanes, func(n int, dst, src *float32, off *int32, taps int), n a
// multiple of 16: dst[j] = max over t of src[off[t]+2j]. It loads 32
// elements and keeps the even ones with one permutation of two vectors,
// reading src[off[t]+2j+1] too.
func emitMaxStride2AVX512(evenIndex Mem) {
	TEXT("maxStride2AVX512", NOSPLIT, "func(n int, dst, src *float32, off *int32, taps int)")
	Pragma("noescape")
	Doc("maxStride2AVX512 is the AVX-512 loop of MaxStride2; see emitMaxStride2AVX512 in package asmgen.")
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	taps := Load(Param("taps"), GP64())
	index := ZMM()
	VMOVUPS(evenIndex, index)
	evens := func(at reg.GPVirtual) reg.VecVirtual {
		lo, hi, x := ZMM(), ZMM(), ZMM()
		VMOVUPS(Mem{Base: src, Index: at, Scale: 4}, lo)
		VMOVUPS(Mem{Base: src, Index: at, Scale: 4, Disp: 64}, hi)
		VMOVUPS(index, x)
		VPERMI2PS(hi, lo, x)
		return x
	}
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	first := GP64()
	MOVLQSX(Mem{Base: off}, first)
	acc, nan := evens(first), K()
	KXORW(nan, nan, nan)
	r := GP64()
	MOVQ(U32(1), r)
	Label("tap")
	CMPQ(r, taps)
	JGE(LabelRef("store"))
	at := GP64()
	MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
	maxInto512(acc, nan, evens(at))
	INCQ(r)
	JMP(LabelRef("tap"))
	Label("store")
	setNaN(acc, nan)
	VMOVUPS(acc, Mem{Base: dst})
	ADDQ(U32(128), src)
	ADDQ(U32(64), dst)
	SUBQ(U32(16), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
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
	var acc [4]reg.VecVirtual
	for i := range acc {
		acc[i] = l.vec()
		VXORPD(acc[i], acc[i], acc[i])
	}
	half := 2 * l.width // bytes of half a vector of float32
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for i, a := range acc {
		d := l.vec()
		VCVTPS2PD(Mem{Base: src, Disp: i * half}, d)
		VADDPD(d, a, a)
	}
	ADDQ(U32(8*l.width), src)
	SUBQ(U32(2*l.width), n)
	JMP(LabelRef("block"))
	Label("done")
	VADDPD(acc[1], acc[0], acc[0])
	VADDPD(acc[3], acc[2], acc[2])
	VADDPD(acc[2], acc[0], acc[0])
	VMOVUPD(acc[0], Mem{Base: sums})
	VZEROUPPER()
	RET()
}
