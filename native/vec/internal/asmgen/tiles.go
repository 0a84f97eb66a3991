package main

import (
	"fmt"
	"math"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/toomcook"
)

// tileTransform is a transform X -> L X L^T of tiles (see
// vec.TileTransform) and the name of its loop.
type tileTransform struct {
	name string
	l    [][]float32
}

func emitTileTransforms(masks Mem) {
	var transforms []tileTransform
	for _, r := range []int{3, 5} {
		transforms = append(transforms,
			tileTransform{fmt.Sprintf("winogradInput%dAVX2", r), float32s(toomcook.InputTransform(r))},
			tileTransform{fmt.Sprintf("winogradGradient%dAVX2", r), float32s(toomcook.GradientTransform(r))})
	}
	consts := emitTileConstants(transforms)
	for _, t := range transforms {
		emitTileTransform(t, consts, masks)
	}
}

// float32s rounds a matrix to float32, as package vec does.
func float32s(m [][]float64) [][]float32 {
	f := make([][]float32, len(m))
	for i, row := range m {
		for _, v := range row {
			f[i] = append(f[i], float32(v))
		}
	}
	return f
}

// tileConstants maps each coefficient of the transforms other than 0 and
// 1 to eight copies of it in a table, a vector operand for a
// multiplication.
type tileConstants map[float32]Mem

// emitTileConstants writes the table of the coefficients.
func emitTileConstants(transforms []tileTransform) tileConstants {
	var values []float32
	for _, t := range transforms {
		for _, row := range t.l {
			for _, c := range row {
				if c != 0 && c != 1 && !slices.Contains(values, c) {
					values = append(values, c)
				}
			}
		}
	}
	table := GLOBL("tileConstants", RODATA|NOPTR)
	consts := tileConstants{}
	for i, c := range values {
		for lane := 0; lane < 8; lane++ {
			DATA(32*i+4*lane, U32(math.Float32bits(c))) // avo writes F32(-1) as the integer -1
		}
		consts[c] = table.Offset(32 * i)
	}
	return consts
}

// combine emits the sum of c*x over the coefficients c of row and the
// vectors x, leaving zeros out, adding and subtracting for 1 and -1 and
// multiplying and adding (fused) for the others.
func (consts tileConstants) combine(row []float32, xs []reg.VecVirtual) reg.VecVirtual {
	acc := YMM()
	first := true
	for i, c := range row {
		switch {
		case c == 0:
		case first && c == 1:
			VMOVAPS(xs[i], acc)
		case first:
			VMULPS(consts[c], xs[i], acc)
		case c == 1:
			VADDPS(xs[i], acc, acc)
		case c == -1:
			VSUBPS(xs[i], acc, acc)
		default:
			VFMADD231PS(consts[c], xs[i], acc)
		}
		first = first && c == 0
	}
	if first {
		panic("a row of zeros")
	}
	return acc
}

// emitTileTransform writes the loop of t: tiles(n int, dst *float32,
// pointStride int, even, odd *float32, rowStride int, spill bool), which
// maps n tiles as vec.TileTransform.Tiles says, eight at a time, one tile
// a lane. AVX2's masked stores are slow (about four times the cost of a
// whole block here), so a last partial vector is done again as the last
// eight tiles when there are eight or more, and with n below eight the
// loads are masked and the stores are too unless spill allows storing
// whole vectors. It multiplies by L along the rows of the tiles first,
// keeping the products on the stack, then along the columns.
func emitTileTransform(t tileTransform, consts tileConstants, masks Mem) {
	TEXT(t.name, 0, // its frame is too large for NOSPLIT
		"func(n int, dst *float32, pointStride int, even, odd *float32, rowStride int, spill bool)")
	Pragma("noescape")
	Doc(t.name + " is an AVX2 loop of vec.TileTransform.Tiles; see emitTileTransform in package asmgen.")
	p, q := len(t.l), len(t.l[0])
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	ps := Load(Param("pointStride"), GP64())
	even := Load(Param("even"), GP64())
	odd := Load(Param("odd"), GP64())
	rs := Load(Param("rowStride"), GP64())
	SHLQ(U8(2), ps) // in bytes
	SHLQ(U8(2), rs)
	rowsApart := GP64() // p points apart: from (u, v) to (u+1, v)
	IMUL3Q(U32(p), ps, rowsApart)
	stage := AllocLocal(32 * p * q) // L X, [q][p] vectors

	// block maps the eight tiles at even, odd to dst, loading through
	// loadMask and storing through storeMask unless they are nil.
	block := func(loadMask, storeMask reg.VecVirtual) {
		load := func(m Mem) reg.VecVirtual {
			x := YMM()
			if loadMask != nil {
				VMASKMOVPS(m, loadMask, x)
			} else {
				VMOVUPS(m, x)
			}
			return x
		}
		// Along the rows: stage[a][u] = sum over b of L[u][b] X[a][b].
		e, o := GP64(), GP64()
		MOVQ(even, e)
		MOVQ(odd, o)
		for a := 0; a < q; a++ {
			xs := make([]reg.VecVirtual, q)
			for b := range xs {
				half := e
				if b%2 == 1 {
					half = o
				}
				xs[b] = load(Mem{Base: half, Disp: 4 * (b / 2)})
			}
			for u := 0; u < p; u++ {
				VMOVUPS(consts.combine(t.l[u], xs), stage.Offset(32*(a*p+u)))
			}
			if a < q-1 {
				ADDQ(rs, e)
				ADDQ(rs, o)
			}
		}
		// Along the columns: point (u, v) = sum over a of L[u][a]
		// stage[a][v], stored at dst + ((u*p + v)*pointStride) floats.
		column := GP64()
		MOVQ(dst, column)
		for v := 0; v < p; v++ {
			ys := make([]reg.VecVirtual, q)
			for a := range ys {
				ys[a] = YMM()
				VMOVUPS(stage.Offset(32*(a*p+v)), ys[a])
			}
			at := GP64()
			MOVQ(column, at)
			for u := 0; u < p; u++ {
				y := consts.combine(t.l[u], ys)
				if storeMask != nil {
					VMASKMOVPS(y, storeMask, Mem{Base: at})
				} else {
					VMOVUPS(y, Mem{Base: at})
				}
				if u < p-1 {
					ADDQ(rowsApart, at)
				}
			}
			if v < p-1 {
				ADDQ(ps, column)
			}
		}
	}
	label := func(s string) string { return t.name + s }
	CMPQ(n, U32(8))
	JL(LabelRef(label("few")))
	Label(label("block"))
	block(nil, nil)
	SUBQ(U32(8), n)
	JZ(LabelRef(label("done")))
	CMPQ(n, U32(8))
	JGE(LabelRef(label("next")))
	// The last n < 8 tiles: step back so that the block ends with them.
	back := GP64()
	MOVQ(U32(8), back)
	SUBQ(n, back)
	SHLQ(U8(2), back)
	SUBQ(back, dst)
	SUBQ(back, even)
	SUBQ(back, odd)
	MOVQ(U32(8), n)
	Label(label("next"))
	ADDQ(U32(32), dst)
	ADDQ(U32(32), even)
	ADDQ(U32(32), odd)
	JMP(LabelRef(label("block")))

	Label(label("few"))
	TESTQ(n, n)
	JZ(LabelRef(label("done")))
	at, mask := GP64(), YMM()
	LEAQ(masks.Offset(32), at)
	SHLQ(U8(2), n)
	SUBQ(n, at)
	VMOVUPS(Mem{Base: at}, mask)
	spill := GP8()
	Load(Param("spill"), spill)
	TESTB(spill, spill)
	JZ(LabelRef(label("masked")))
	block(mask, nil)
	JMP(LabelRef(label("done")))
	Label(label("masked"))
	block(mask, mask)
	Label(label("done"))
	VZEROUPPER()
	RET()
}
