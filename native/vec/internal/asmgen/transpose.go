package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// emitTransposeBias writes transposeBiasAVX2(rowBlocks, colBlocks int,
// dst *float32, dstStride int, src *float32, srcStride int, bias
// *float32, residual *float32, relu bool), the 8x8 blocks of
// vec.TransposeBiasResidual: each block of eight rows of src is
// transposed in registers (pairs interleaved, then quadruples, then the
// 128-bit halves exchanged), the bias of each column added (zero without
// one, so that a -0 becomes a 0 as in Go), then the residual (laid out
// as dst, at the same offsets; none when nil), and max(v, 0) taken with
// v as the operand VMAXPS returns when either is a NaN, which a NaN thus
// survives.
func emitTransposeBias() {
	TEXT("transposeBiasAVX2", NOSPLIT, "func(rowBlocks, colBlocks int, dst *float32, dstStride int, src *float32, srcStride int, bias *float32, residual *float32, relu bool)")
	Pragma("noescape")
	Doc("transposeBiasAVX2 is the AVX2 loop of TransposeBiasResidual; see emitTransposeBias in package asmgen.")
	rowBlocks := Load(Param("rowBlocks"), GP64())
	dst := Load(Param("dst"), GP64())
	ds := Load(Param("dstStride"), GP64())
	src := Load(Param("src"), GP64())
	ss := Load(Param("srcStride"), GP64())
	bias := Load(Param("bias"), GP64())
	// res is residual minus dst: the residual of a store to at is at
	// (at)(res*1), whatever at.
	res := Load(Param("residual"), GP64())
	relu := GP8()
	Load(Param("relu"), relu)
	SHLQ(U8(2), ds)
	SHLQ(U8(2), ss)
	SUBQ(dst, res)
	zero := YMM()
	VXORPS(zero, zero, zero)

	Label("rows")
	colBlocks := Load(Param("colBlocks"), GP64())
	s, d, b := GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(bias, b)
	Label("cols")
	// Eight rows of eight columns at s.
	r := make([]reg.VecVirtual, 8)
	at := GP64()
	MOVQ(s, at)
	for i := range r {
		r[i] = YMM()
		VMOVUPS(Mem{Base: at}, r[i])
		if i < 7 {
			ADDQ(ss, at)
		}
	}
	t := make([]reg.VecVirtual, 8)
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = YMM(), YMM()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	u := make([]reg.VecVirtual, 8)
	for h := 0; h < 8; h += 4 { // rows 0-3, then 4-7
		for k := 0; k < 2; k++ {
			u[h+2*k], u[h+2*k+1] = YMM(), YMM()
			VSHUFPS(U8(0x44), t[h+2+k], t[h+k], u[h+2*k])
			VSHUFPS(U8(0xee), t[h+2+k], t[h+k], u[h+2*k+1])
		}
	}
	// Column j of the block: u[j%4] holds its rows 0-3 in its low half
	// (j < 4) or high half, u[4+j%4] its rows 4-7.
	finish := func(label string, withBias, withRes bool) {
		MOVQ(d, at)
		for j := 0; j < 8; j++ {
			col := YMM()
			imm := U8(0x20)
			if j >= 4 {
				imm = U8(0x31)
			}
			VPERM2F128(imm, u[4+j%4], u[j%4], col)
			if withBias {
				bj := YMM()
				VBROADCASTSS(Mem{Base: b, Disp: 4 * j}, bj)
				VADDPS(bj, col, col)
			} else {
				VADDPS(zero, col, col)
			}
			if withRes {
				VADDPS(Mem{Base: at, Index: res, Scale: 1}, col, col)
			}
			stored := fmt.Sprintf("%s%d", label, j)
			TESTB(relu, relu)
			JZ(LabelRef(stored))
			VMAXPS(col, zero, col)
			Label(stored)
			VMOVUPS(col, Mem{Base: at})
			if j < 7 {
				ADDQ(ds, at)
			}
		}
	}
	{
		given := Load(Param("residual"), GP64())
		TESTQ(given, given)
		JNZ(LabelRef("withres"))
	}
	TESTQ(bias, bias)
	JZ(LabelRef("nobias"))
	finish("bias", true, false)
	JMP(LabelRef("next"))
	Label("nobias")
	finish("zero", false, false)
	JMP(LabelRef("next"))
	Label("withres")
	TESTQ(bias, bias)
	JZ(LabelRef("nobiasres"))
	finish("biasres", true, true)
	JMP(LabelRef("next"))
	Label("nobiasres")
	finish("zerores", false, true)
	Label("next")
	ADDQ(U32(32), s) // the next 8 columns of src
	ADDQ(U32(32), b)
	{
		step := GP64() // 8 rows of dst on
		MOVQ(ds, step)
		SHLQ(U8(3), step)
		ADDQ(step, d)
	}
	DECQ(colBlocks)
	JNZ(LabelRef("cols"))
	// The next 8 rows of src, the next 8 columns of dst.
	{
		step := GP64()
		MOVQ(ss, step)
		SHLQ(U8(3), step)
		ADDQ(step, src)
	}
	ADDQ(U32(32), dst)
	DECQ(rowBlocks)
	JNZ(LabelRef("rows"))
	VZEROUPPER()
	RET()
}
