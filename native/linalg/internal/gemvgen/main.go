// Command gemvgen writes the amd64 matrix-vector loop of package linalg's
// DotRows with avo. Run it through go generate in native/linalg:
//
//	go run ./internal/gemvgen -out gemv_amd64.s -stubs gemv_stubs_amd64.go -pkg linalg
//
// dotRowsAVX2 runs the arithmetic of dotRows4AVX2 (package asmgen's
// emitDotRows4) over many groups of four rows in one call, so that each
// row is summed to the same bits as there, without a call per group.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	emitDotRows()
	Generate()
}

// emitDotRows writes dotRowsAVX2(groups, k, a, lda, x, y), which stores
// in y[0:4*groups] the dot products of x[0:k] with rows of the row-major
// matrix a (rows lda elements apart), k a multiple of 8. Each row has
// two accumulators, for the even and odd blocks of 8 columns, added
// before the pairwise horizontal sums of the four rows.
func emitDotRows() {
	TEXT("dotRowsAVX2", NOSPLIT, "func(groups, k int, a *float32, lda int, x *float32, y *float32)")
	Pragma("noescape")
	Doc("dotRowsAVX2 computes the dot products of 4*groups matrix rows with a vector; see package gemvgen.")
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
