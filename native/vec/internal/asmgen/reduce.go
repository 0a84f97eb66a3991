package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// The loops of softmax's rows: the maximum of a row and the shifted
// exponentials with their sum.

// emitLaneMax writes laneMaxAVX2(n int, src, lanes *float32), which
// stores in lanes[0:8] the maxima of src[j], src[j+8], ... for j < 8
// (n a multiple of 8, at least 8), a lane that met a NaN holding a NaN
// (lanes.maxInto).
func emitLaneMax() {
	TEXT("laneMaxAVX2", NOSPLIT, "func(n int, src, lanes *float32)")
	Pragma("noescape")
	Doc("laneMaxAVX2 is the AVX2 loop of Max; see emitLaneMax in package asmgen.")
	n := Load(Param("n"), GP64())
	src := Load(Param("src"), GP64())
	out := Load(Param("lanes"), GP64())
	acc, nan := YMM(), YMM()
	VMOVUPS(Mem{Base: src}, acc)
	VCMPPS(U8(3), acc, acc, nan)
	ADDQ(U32(32), src)
	SUBQ(U32(8), n)
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	x := YMM()
	VMOVUPS(Mem{Base: src}, x)
	lanesAVX2.maxInto(acc, nan, x)
	ADDQ(U32(32), src)
	SUBQ(U32(8), n)
	JMP(LabelRef("block"))
	Label("done")
	VORPS(nan, acc, acc)
	VMOVUPS(acc, Mem{Base: out})
	VZEROUPPER()
	RET()
}

// emitExpShiftSums writes expShiftSum+level(n int, dst, src *float32,
// shift float32, sums *float64), which stores e^(src[i] - shift) in
// dst[i] for i < n (a multiple of the lanes) and the sums of the
// results in float64, lane by lane, in sums[0:lanes/2]: each block's
// exponentials are widened to doubles, half a vector at a time, into
// two accumulators. The halves come from the register, not read back
// from dst: reading half of a vector just stored made the AVX-512 loop
// 1.15x slower on Zen 4 (31 against 27 µs for 512 rows of 128).
func (l lanes) emitExpShiftSum() {
	fn := "expShiftSum" + l.name
	TEXT(fn, NOSPLIT, "func(n int, dst, src *float32, shift float32, sums *float64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of ExpShiftSum; see emitExpShiftSum in package asmgen.", fn, l.name))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	sums := Load(Param("sums"), GP64())
	shift := l.vec()
	VBROADCASTSS(avoparam.Addr("shift"), shift)
	acc := [2]reg.VecVirtual{l.vec(), l.vec()}
	for _, a := range acc {
		VXORPD(a, a, a)
	}
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	x := l.vec()
	VMOVUPS(Mem{Base: src}, x)
	VSUBPS(shift, x, x)
	e := l.exp(x)
	VMOVUPS(e, Mem{Base: dst})
	for h, a := range acc {
		d := l.vec()
		VCVTPS2PD(l.halfOf(e, h), d)
		VADDPD(d, a, a)
	}
	ADDQ(U32(4*l.width), src)
	ADDQ(U32(4*l.width), dst)
	SUBQ(U32(l.width), n)
	JMP(LabelRef("block"))
	Label("done")
	VADDPD(acc[1], acc[0], acc[0])
	VMOVUPD(acc[0], Mem{Base: sums})
	VZEROUPPER()
	RET()
}

// halfOf returns half h (0 the low, 1 the high) of the float32 vector
// v, in a register of half v's width: the low half is v's own lower
// part, the high half is extracted into a new register.
func (l lanes) halfOf(v reg.VecVirtual, h int) reg.Register {
	if l.width == 16 {
		if h == 0 {
			return v.AsY()
		}
		y := YMM()
		VEXTRACTF32X8(U8(1), v, y)
		return y
	}
	if h == 0 {
		return v.AsX()
	}
	x := XMM()
	VEXTRACTF128(U8(1), v, x)
	return x
}
