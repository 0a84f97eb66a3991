package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// emitInterleavePlanes writes interleavePlanesAVX512(rows, width int,
// dst *float32, dstRowStride int, src *float32, planeStride, planes
// int), the loop of vec.InterleavePlanes: rows of width elements of
// eight planes (rows width apart, planes planeStride apart) stored lane
// by lane, element x of row r of plane l at dst[r*dstRowStride+8x+l],
// zero added as vec.TransposeBias adds it (a -0 becomes a 0); with
// fewer than eight planes (1 to 7), the lanes from planes on zero, the
// planes beyond never read (a loop of its own). Each block of eight
// columns of the eight planes is transposed in registers as
// emitTransposeBias transposes; the last columns of a row, fewer than
// eight, are loaded through an opmask (laneMasks, the table of
// loopgen.LaneMasks) and only their own vectors stored, so that rows of
// any width go straight into a padded buffer, its padding untouched.
func emitInterleavePlanes(laneMasks Mem) {
	TEXT("interleavePlanesAVX512", NOSPLIT, "func(rows, width int, dst *float32, dstRowStride int, src *float32, planeStride, planes int)")
	Pragma("noescape")
	Doc("interleavePlanesAVX512 is the loop of InterleavePlanes; see emitInterleavePlanes in package asmgen.")
	rows := Load(Param("rows"), GP64())
	dst := Load(Param("dst"), GP64())
	drs := Load(Param("dstRowStride"), GP64())
	src := Load(Param("src"), GP64())
	ps := Load(Param("planeStride"), GP64())
	SHLQ(U8(2), drs)
	SHLQ(U8(2), ps)
	zero := YMM()
	VXORPS(zero, zero, zero)
	planes := Load(Param("planes"), GP64())
	CMPQ(planes, U8(8))
	JNE(LabelRef("partial"))
	interleaveRows("", rows, dst, drs, src, ps, nil, zero, laneMasks)
	Label("partial")
	interleaveRows("partial", rows, dst, drs, src, ps, planes, zero, laneMasks)
}

// interleaveRows emits the loop over the rows of interleavePlanesAVX512,
// its labels prefixed by prefix, reading the first planes planes when
// planes is not nil (fewer than eight), all eight otherwise, and
// returns.
func interleaveRows(prefix string, rows, dst, drs, src, ps, planes reg.Register, zero reg.VecVirtual, laneMasks Mem) {
	Label(prefix + "row")
	n := Load(Param("width"), GP64())
	s, d := GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	// block transposes the eight planes' columns at s, loaded through
	// mask unless it is nil, and stores the first of the columns (all
	// eight, or n under a mask) at d.
	block := func(label string, mask reg.Register) {
		r := make([]reg.VecVirtual, 8)
		for i := range r {
			r[i] = YMM()
			if planes != nil && i > 0 {
				VXORPS(r[i], r[i], r[i])
			}
		}
		at := GP64()
		MOVQ(s, at)
		for i := range r {
			if planes != nil && i > 0 {
				CMPQ(planes, U8(i))
				JLE(LabelRef(label + "loaded"))
			}
			if mask == nil {
				VMOVUPS(Mem{Base: at}, r[i])
			} else {
				VMOVUPS_Z(Mem{Base: at}, mask, r[i])
			}
			if i < 7 {
				ADDQ(ps, at)
			}
		}
		if planes != nil {
			Label(label + "loaded")
		}
		cols := transpose8(r)
		for j, col := range cols {
			if mask != nil && j > 0 {
				CMPQ(n, U8(j))
				JLE(LabelRef(label + "stored"))
			}
			VADDPS(zero, col, col)
			VMOVUPS(col, Mem{Base: d, Disp: 32 * j})
		}
		if mask != nil {
			Label(label + "stored")
		}
	}
	Label(prefix + "block")
	CMPQ(n, U8(8))
	JL(LabelRef(prefix + "blocksdone"))
	block(prefix+"block", nil)
	ADDQ(U8(32), s)
	ADDQ(U32(256), d)
	SUBQ(U8(8), n)
	JMP(LabelRef(prefix + "block"))
	Label(prefix + "blocksdone")
	TESTQ(n, n)
	JZ(LabelRef(prefix + "next"))
	{
		table, k := GP64(), K()
		LEAQ(laneMasks, table)
		KMOVW(Mem{Base: table, Index: n, Scale: 2}, k)
		block(prefix+"tail", k)
	}
	Label(prefix + "next")
	{
		step := Load(Param("width"), GP64())
		LEAQ(Mem{Base: src, Index: step, Scale: 4}, src)
	}
	ADDQ(drs, dst)
	DECQ(rows)
	JNZ(LabelRef(prefix + "row"))
	VZEROUPPER()
	RET()
}

// transpose8 returns the eight columns of the 8x8 block whose rows are
// r, transposed as emitTransposeBias does: pairs interleaved, then
// quadruples, then the 128-bit halves exchanged.
func transpose8(r []reg.VecVirtual) []reg.VecVirtual {
	t := make([]reg.VecVirtual, 8)
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = YMM(), YMM()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	u := make([]reg.VecVirtual, 8)
	for h := 0; h < 8; h += 4 {
		for k := 0; k < 2; k++ {
			u[h+2*k], u[h+2*k+1] = YMM(), YMM()
			VSHUFPS(U8(0x44), t[h+2+k], t[h+k], u[h+2*k])
			VSHUFPS(U8(0xee), t[h+2+k], t[h+k], u[h+2*k+1])
		}
	}
	cols := make([]reg.VecVirtual, 8)
	for j := range cols {
		cols[j] = YMM()
		imm := U8(0x20)
		if j >= 4 {
			imm = U8(0x31)
		}
		VPERM2F128(imm, u[4+j%4], u[j%4], cols[j])
	}
	return cols
}
