package main

import (
	"fmt"
	"math"

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

// emitSoftmaxAVX512 writes softmaxAVX512(rows, n int, tail uint64,
// dst, src *float32), which stores in dst the softmaxes of rows rows of
// src laid one after another, each of n+t elements, n a multiple of 16
// and the t < 16 elements after it given by the bits of tail (1<<t -
// 1), in one call: each row's maximum (a NaN if the row holds one), the
// shifted exponentials and their sum as expShiftSumAVX512 computes them
// (the tail's missing lanes read as -Inf, whose exponentials add 0),
// then each exponential times float32(1/sum). One call spares the three
// calls a row of Max, ExpShiftSum and ScaleAdd and the Go between them,
// which took as long as the arithmetic on rows of 128 (attention's
// scores).
func emitSoftmaxAVX512() {
	l := lanesAVX512
	TEXT("softmaxAVX512", NOSPLIT, "func(rows, n int, tail uint64, dst, src *float32)")
	Pragma("noescape")
	Doc("softmaxAVX512 is the AVX512 loop of SoftmaxRows; see emitSoftmaxAVX512 in package asmgen.")
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	tailBits := GP64()
	Load(Param("tail"), tailBits)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	tail := K()
	KMOVW(tailBits.As32(), tail)
	// The bytes from a row to the next: 4(n + popcount(tail)).
	rowBytes := GP64()
	POPCNTQ(tailBits, rowBytes)
	ADDQ(n, rowBytes)
	SHLQ(U8(2), rowBytes)
	at := func(base, i reg.Register) Mem { return Mem{Base: base, Index: i, Scale: 4} }
	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	i := GP64()

	// The maximum, NaNs noted in a mask.
	negInf := l.f(math.Inf(-1))
	acc := l.vec()
	VMOVAPS(negInf, acc)
	nan := K()
	KXORW(nan, nan, nan)
	maxOf := func(x reg.VecVirtual) {
		un := K()
		VCMPPS(U8(3), x, x, un)
		KORW(un, nan, nan)
		VMAXPS(x, acc, acc)
	}
	XORQ(i, i)
	Label("max")
	CMPQ(i, n)
	JAE(LabelRef("maxTail"))
	x := l.vec()
	VMOVUPS(at(src, i), x)
	maxOf(x)
	ADDQ(U8(16), i)
	JMP(LabelRef("max"))
	Label("maxTail")
	xt := l.vec()
	VMOVAPS(negInf, xt)
	VMOVUPS(at(src, n), tail, xt)
	maxOf(xt)
	y := YMM()
	VEXTRACTF32X8(U8(1), acc, y)
	VMAXPS(y, acc.AsY(), y)
	x4 := XMM()
	VEXTRACTF128(U8(1), y, x4)
	VMAXPS(x4, y.AsX(), x4)
	t := XMM()
	VMOVHLPS(x4, x4, t)
	VMAXPS(t, x4, x4)
	VMOVSHDUP(x4, t)
	VMAXSS(t, x4, x4)
	shift := l.vec()
	VBROADCASTSS(x4, shift)
	KORTESTW(nan, nan)
	JZ(LabelRef("exp"))
	VBROADCASTSS(constant(0x7fc00000), shift) // a NaN in the row: NaNs out
	Label("exp")

	// The exponentials and their sum, in doubles.
	sums := [2]reg.VecVirtual{l.vec(), l.vec()}
	for _, s := range sums {
		VXORPD(s, s, s)
	}
	expOf := func(x reg.VecVirtual) reg.VecVirtual {
		VSUBPS(shift, x, x)
		e := l.exp(x)
		for h, s := range sums {
			d := l.vec()
			VCVTPS2PD(l.halfOf(e, h), d)
			VADDPD(d, s, s)
		}
		return e
	}
	XORQ(i, i)
	Label("expBlock")
	CMPQ(i, n)
	JAE(LabelRef("expTail"))
	xe := l.vec()
	VMOVUPS(at(src, i), xe)
	VMOVUPS(expOf(xe), at(dst, i))
	ADDQ(U8(16), i)
	JMP(LabelRef("expBlock"))
	Label("expTail")
	KORTESTW(tail, tail)
	JZ(LabelRef("sum"))
	xte := l.vec()
	VMOVAPS(negInf, xte)
	VMOVUPS(at(src, n), tail, xte)
	VMOVUPS(expOf(xte), tail, at(dst, n))
	Label("sum")
	VADDPD(sums[1], sums[0], sums[0])
	ys := YMM()
	VEXTRACTF64X4(U8(1), sums[0], ys)
	VADDPD(ys, sums[0].AsY(), ys)
	xs := XMM()
	VEXTRACTF128(U8(1), ys, xs)
	VADDPD(xs, ys.AsX(), xs)
	ts := XMM()
	VUNPCKHPD(xs, xs, ts)
	VADDSD(ts, xs, xs)
	inv := XMM()
	VCVTSS2SD(constant(math.Float32bits(1)), inv, inv)
	VDIVSD(xs, inv, inv)
	VCVTSD2SS(inv, inv, inv)
	scale := l.vec()
	VBROADCASTSS(inv, scale)

	// Each exponential times the inverse of the sum.
	XORQ(i, i)
	Label("scale")
	CMPQ(i, n)
	JAE(LabelRef("scaleTail"))
	xm := l.vec()
	VMULPS(at(dst, i), scale, xm)
	VMOVUPS(xm, at(dst, i))
	ADDQ(U8(16), i)
	JMP(LabelRef("scale"))
	Label("scaleTail")
	KORTESTW(tail, tail)
	JZ(LabelRef("next"))
	xtm := l.vec()
	VMOVUPS_Z(at(dst, n), tail, xtm)
	VMULPS(xtm, scale, xtm)
	VMOVUPS(xtm, tail, at(dst, n))
	Label("next")
	ADDQ(rowBytes, src)
	ADDQ(rowBytes, dst)
	DECQ(rows)
	JMP(LabelRef("row"))
	Label("done")
	VZEROUPPER()
	RET()
}
