package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"

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
