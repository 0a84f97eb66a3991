package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// emitInterleave writes interleaveAVX2(blocks int, dst, even, odd
// *float32, bias float32, relu, accumulate bool), the whole vectors of
// vec.Interleave: 8 elements of each source, paired within each 128-bit
// half (VUNPCKLPS, VUNPCKHPS) and the halves put in order (VPERM2F128),
// make 16 of dst. ReLU takes max(v, 0) with v the operand VMAXPS returns
// when either is a NaN, which a NaN thus survives.
func emitInterleave() {
	TEXT("interleaveAVX2", NOSPLIT, "func(blocks int, dst, even, odd *float32, bias float32, relu, accumulate bool)")
	Pragma("noescape")
	Doc("interleaveAVX2 is the AVX2 loop of Interleave; see emitInterleave in package asmgen.")
	blocks := Load(Param("blocks"), GP64())
	dst := Load(Param("dst"), GP64())
	even := Load(Param("even"), GP64())
	odd := Load(Param("odd"), GP64())
	bias, zero := YMM(), YMM()
	VBROADCASTSS(avoparam.Addr("bias"), bias)
	VXORPS(zero, zero, zero)
	relu, accumulate := GP8(), GP8()
	Load(Param("relu"), relu)
	Load(Param("accumulate"), accumulate)

	Label("block")
	e, o := YMM(), YMM()
	VMOVUPS(Mem{Base: even}, e)
	VMOVUPS(Mem{Base: odd}, o)
	lo, hi := YMM(), YMM()
	VUNPCKLPS(o, e, lo) // e0 o0 e1 o1 | e4 o4 e5 o5
	VUNPCKHPS(o, e, hi) // e2 o2 e3 o3 | e6 o6 e7 o7
	first, second := YMM(), YMM()
	VPERM2F128(U8(0x20), hi, lo, first)
	VPERM2F128(U8(0x31), hi, lo, second)
	TESTB(accumulate, accumulate)
	JZ(LabelRef("store"))
	VADDPS(Mem{Base: dst}, first, first)
	VADDPS(Mem{Base: dst, Disp: 32}, second, second)
	JMP(LabelRef("write"))
	Label("store")
	VADDPS(bias, first, first)
	VADDPS(bias, second, second)
	TESTB(relu, relu)
	JZ(LabelRef("write"))
	VMAXPS(first, zero, first)
	VMAXPS(second, zero, second)
	Label("write")
	VMOVUPS(first, Mem{Base: dst})
	VMOVUPS(second, Mem{Base: dst, Disp: 32})
	ADDQ(U32(64), dst)
	ADDQ(U32(32), even)
	ADDQ(U32(32), odd)
	DECQ(blocks)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// emitDeinterleave writes deinterleaveAVX2(blocks int, even, odd, src
// *float32), the whole vectors of vec.Deinterleave: 16 elements of src
// make 8 of each of even and odd, taken within each 128-bit half
// (VSHUFPS) and the 64-bit pairs then put in order (VPERMPD).
func emitDeinterleave() {
	TEXT("deinterleaveAVX2", NOSPLIT, "func(blocks int, even, odd, src *float32)")
	Pragma("noescape")
	Doc("deinterleaveAVX2 is the AVX2 loop of Deinterleave; see emitDeinterleave in package asmgen.")
	blocks := Load(Param("blocks"), GP64())
	even := Load(Param("even"), GP64())
	odd := Load(Param("odd"), GP64())
	src := Load(Param("src"), GP64())
	Label("block")
	a, b := YMM(), YMM()
	VMOVUPS(Mem{Base: src}, a)
	VMOVUPS(Mem{Base: src, Disp: 32}, b)
	e, o := YMM(), YMM()
	VSHUFPS(U8(0x88), b, a, e) // s0 s2 s8 s10 | s4 s6 s12 s14
	VSHUFPS(U8(0xdd), b, a, o) // s1 s3 s9 s11 | s5 s7 s13 s15
	VPERMPD(U8(0xd8), e, e)
	VPERMPD(U8(0xd8), o, o)
	VMOVUPS(e, Mem{Base: even})
	VMOVUPS(o, Mem{Base: odd})
	ADDQ(U32(64), src)
	ADDQ(U32(32), even)
	ADDQ(U32(32), odd)
	DECQ(blocks)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// emitInterleave4 writes interleave4AVX2(blocks int, dst, a, b, c, d
// *float32, bias float32, relu, accumulate bool), the whole vectors of
// vec.Interleave4: 8 elements of each source make 32 of dst, a 4x8
// transpose. The sources are paired within each 128-bit half (a with b,
// c with d: VUNPCKLPS, VUNPCKHPS), the pairs joined into quadruples
// (VUNPCKLPD, VUNPCKHPD), and the halves put in order (VPERM2F128).
// Bias, ReLU and accumulation are those of emitInterleave.
func emitInterleave4() {
	TEXT("interleave4AVX2", NOSPLIT, "func(blocks int, dst, a, b, c, d *float32, bias float32, relu, accumulate bool)")
	Pragma("noescape")
	Doc("interleave4AVX2 is the AVX2 loop of Interleave4; see emitInterleave4 in package asmgen.")
	blocks := Load(Param("blocks"), GP64())
	dst := Load(Param("dst"), GP64())
	srcs := []reg.Register{Load(Param("a"), GP64()), Load(Param("b"), GP64()), Load(Param("c"), GP64()), Load(Param("d"), GP64())}
	bias, zero := YMM(), YMM()
	VBROADCASTSS(avoparam.Addr("bias"), bias)
	VXORPS(zero, zero, zero)
	relu, accumulate := GP8(), GP8()
	Load(Param("relu"), relu)
	Load(Param("accumulate"), accumulate)

	Label("block4")
	a, b, c, d := YMM(), YMM(), YMM(), YMM()
	VMOVUPS(Mem{Base: srcs[0]}, a)
	VMOVUPS(Mem{Base: srcs[1]}, b)
	VMOVUPS(Mem{Base: srcs[2]}, c)
	VMOVUPS(Mem{Base: srcs[3]}, d)
	abLo, abHi, cdLo, cdHi := YMM(), YMM(), YMM(), YMM()
	VUNPCKLPS(b, a, abLo) // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS(b, a, abHi) // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS(d, c, cdLo) // c0 d0 c1 d1 | c4 d4 c5 d5
	VUNPCKHPS(d, c, cdHi) // c2 d2 c3 d3 | c6 d6 c7 d7
	q0, q1, q2, q3 := YMM(), YMM(), YMM(), YMM()
	VUNPCKLPD(cdLo, abLo, q0) // a0 b0 c0 d0 | a4 b4 c4 d4
	VUNPCKHPD(cdLo, abLo, q1) // a1 b1 c1 d1 | a5 b5 c5 d5
	VUNPCKLPD(cdHi, abHi, q2) // a2 b2 c2 d2 | a6 b6 c6 d6
	VUNPCKHPD(cdHi, abHi, q3) // a3 b3 c3 d3 | a7 b7 c7 d7
	out := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VPERM2F128(U8(0x20), q1, q0, out[0]) // quadruples 0, 1
	VPERM2F128(U8(0x20), q3, q2, out[1]) // 2, 3
	VPERM2F128(U8(0x31), q1, q0, out[2]) // 4, 5
	VPERM2F128(U8(0x31), q3, q2, out[3]) // 6, 7
	TESTB(accumulate, accumulate)
	JZ(LabelRef("store4"))
	for i, o := range out {
		VADDPS(Mem{Base: dst, Disp: 32 * i}, o, o)
	}
	JMP(LabelRef("write4"))
	Label("store4")
	for _, o := range out {
		VADDPS(bias, o, o)
	}
	TESTB(relu, relu)
	JZ(LabelRef("write4"))
	for _, o := range out {
		VMAXPS(o, zero, o)
	}
	Label("write4")
	for i, o := range out {
		VMOVUPS(o, Mem{Base: dst, Disp: 32 * i})
	}
	ADDQ(U32(128), dst)
	for _, s := range srcs {
		ADDQ(U32(32), s)
	}
	DECQ(blocks)
	JNZ(LabelRef("block4"))
	VZEROUPPER()
	RET()
}

// emitDeinterleave4 writes deinterleave4AVX2(blocks int, a, b, c, d,
// src *float32), the whole vectors of vec.Deinterleave4: 32 elements of
// src make 8 of each of a, b, c and d, the transpose of
// emitInterleave4's: the 128-bit halves of the quadruples put back side
// by side (VPERM2F128), then a 4x4 transpose within each half
// (VUNPCK{L,H}PS, VUNPCK{L,H}PD).
func emitDeinterleave4() {
	TEXT("deinterleave4AVX2", NOSPLIT, "func(blocks int, a, b, c, d, src *float32)")
	Pragma("noescape")
	Doc("deinterleave4AVX2 is the AVX2 loop of Deinterleave4; see emitDeinterleave4 in package asmgen.")
	blocks := Load(Param("blocks"), GP64())
	dsts := []reg.Register{Load(Param("a"), GP64()), Load(Param("b"), GP64()), Load(Param("c"), GP64()), Load(Param("d"), GP64())}
	src := Load(Param("src"), GP64())
	Label("dblock4")
	x := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	for i, v := range x {
		VMOVUPS(Mem{Base: src, Disp: 32 * i}, v) // quadruples 2i, 2i+1
	}
	q0, q1, q2, q3 := YMM(), YMM(), YMM(), YMM()
	VPERM2F128(U8(0x20), x[2], x[0], q0) // a0 b0 c0 d0 | a4 b4 c4 d4
	VPERM2F128(U8(0x31), x[2], x[0], q1) // a1 b1 c1 d1 | a5 b5 c5 d5
	VPERM2F128(U8(0x20), x[3], x[1], q2) // a2 b2 c2 d2 | a6 b6 c6 d6
	VPERM2F128(U8(0x31), x[3], x[1], q3) // a3 b3 c3 d3 | a7 b7 c7 d7
	t0, t1, t2, t3 := YMM(), YMM(), YMM(), YMM()
	VUNPCKLPS(q1, q0, t0) // a0 a1 b0 b1 | a4 a5 b4 b5
	VUNPCKHPS(q1, q0, t1) // c0 c1 d0 d1 | c4 c5 d4 d5
	VUNPCKLPS(q3, q2, t2) // a2 a3 b2 b3 | a6 a7 b6 b7
	VUNPCKHPS(q3, q2, t3) // c2 c3 d2 d3 | c6 c7 d6 d7
	out := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VUNPCKLPD(t2, t0, out[0]) // a0 ... a7
	VUNPCKHPD(t2, t0, out[1]) // b
	VUNPCKLPD(t3, t1, out[2]) // c
	VUNPCKHPD(t3, t1, out[3]) // d
	for i, o := range out {
		VMOVUPS(o, Mem{Base: dsts[i]})
		ADDQ(U32(32), dsts[i])
	}
	ADDQ(U32(128), src)
	DECQ(blocks)
	JNZ(LabelRef("dblock4"))
	VZEROUPPER()
	RET()
}
