package main

import (
	"fmt"
	"math"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/toomcook"
	"github.com/onnxkit/onnxkit/native/vec/internal/loopgen"
)

// tileTransform is a transform X -> L X L^T of tiles (see
// vec.TileTransform) and the name of its loop; step is how many columns
// apart a row's tiles begin, the phases of columns its loop reads from
// (tile transforms only).
type tileTransform struct {
	name string
	l    [][]float32
	step int
}

func emitTileTransforms(masks Mem) {
	var transforms, outputs []tileTransform
	for _, r := range []int{3, 5} {
		transforms = append(transforms,
			tileTransform{fmt.Sprintf("winogradInput%dAVX2", r), float32s(toomcook.InputTransform(2, r)), 2},
			tileTransform{fmt.Sprintf("winogradGradient%dAVX2", r), float32s(toomcook.GradientTransform(r)), 2})
		outputs = append(outputs, tileTransform{fmt.Sprintf("winogradOutput%dAVX2", r), float32s(toomcook.OutputTransform(2, r)), 0})
	}
	// F(4x4, 3x3), its input transform on tiles four columns apart.
	transforms = append(transforms, tileTransform{"winogradInput4x3AVX2", float32s(toomcook.InputTransform(4, 3)), 4})
	outputs = append(outputs, tileTransform{"winogradOutput4x3AVX2", float32s(toomcook.OutputTransform(4, 3)), 0})
	consts := emitTileConstants(append(transforms, outputs...))
	for _, t := range transforms {
		emitTileTransform(t, consts, masks)
	}
	for _, t := range outputs {
		emitPointTransform(t, consts, masks)
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

// separable emits the vectors of L X L^T, L [p, q], from those of X [q, q]
// that load gives a row at a time: along the rows first, stage[a][u] =
// sum over b of L[u][b] X[a][b], kept on the stack, then along the
// columns, point (u, v) = sum over a of L[u][a] stage[a][v], handed to
// store in the order of v, then u.
func (consts tileConstants) separable(l [][]float32, stage Mem, load func(a int) []reg.VecVirtual, store func(u, v int, y reg.VecVirtual)) {
	p, q := len(l), len(l[0])
	for a := 0; a < q; a++ {
		xs := load(a)
		for u := 0; u < p; u++ {
			VMOVUPS(consts.combine(l[u], xs), stage.Offset(32*(a*p+u)))
		}
	}
	for v := 0; v < p; v++ {
		ys := make([]reg.VecVirtual, q)
		for a := range ys {
			ys[a] = YMM()
			VMOVUPS(stage.Offset(32*(a*p+v)), ys[a])
		}
		for u := 0; u < p; u++ {
			store(u, v, consts.combine(l[u], ys))
		}
	}
}

// maskedLoad loads a YMM from m through mask, or whole when mask is nil.
func maskedLoad(m Mem, mask reg.VecVirtual) reg.VecVirtual {
	x := YMM()
	loopgen.MaskedLoad(m, mask, x)
	return x
}

// pointLayout turns the stride between the points p x p that a transform
// of q x q tiles stores into bytes, and returns the distance from point
// (u, v) to (u+1, v) and the stack the products along the rows stay on,
// [q][p] vectors.
func pointLayout(p, q int, stride reg.Register) (rowsApart reg.GPVirtual, stage Mem) {
	SHLQ(U8(2), stride)
	rowsApart = GP64()
	IMUL3Q(U32(p), stride, rowsApart)
	return rowsApart, AllocLocal(32 * p * q)
}

// pointStores returns the store of separable that puts point (u, v) at
// dst + (u*p + v)*stride bytes, and the register it keeps the address of
// column v in.
func pointStores(p int, dst, stride, rowsApart reg.Register, mask reg.VecVirtual) func(u, v int, y reg.VecVirtual) {
	column, at := GP64(), GP64()
	return func(u, v int, y reg.VecVirtual) {
		switch {
		case u == 0 && v == 0:
			MOVQ(dst, column)
			MOVQ(dst, at)
		case u == 0:
			ADDQ(stride, column)
			MOVQ(column, at)
		default:
			ADDQ(rowsApart, at)
		}
		loopgen.MaskedStore(y, mask, Mem{Base: at})
	}
}

// eightAtATime emits the loop over n lanes of the transform loops: block
// on whole vectors of eight, a last partial vector done again as the last
// eight when there are eight or more (AVX2's masked stores are slow:
// about four times the cost of a whole block here), and fewer than eight
// through few (given the mask of the first n lanes). step advances the
// pointers by eight lanes, back moves them back by the given bytes.
func eightAtATime(name string, n reg.Register, masks Mem, block func(), step func(), back func(bytes reg.GPVirtual), few func(mask reg.VecVirtual)) {
	label := func(s string) string { return name + s }
	CMPQ(n, U32(8))
	JL(LabelRef(label("few")))
	Label(label("block"))
	block()
	SUBQ(U32(8), n)
	JZ(LabelRef(label("done")))
	CMPQ(n, U32(8))
	JGE(LabelRef(label("next")))
	// The last n < 8: step back so that the next block ends with them.
	bytes := GP64()
	MOVQ(U32(8), bytes)
	SUBQ(n, bytes)
	SHLQ(U8(2), bytes)
	back(bytes)
	MOVQ(U32(8), n)
	Label(label("next"))
	step()
	JMP(LabelRef(label("block")))

	Label(label("few"))
	TESTQ(n, n)
	JZ(LabelRef(label("done")))
	at, mask := GP64(), YMM()
	LEAQ(masks.Offset(32), at)
	SHLQ(U8(2), n)
	SUBQ(n, at)
	VMOVUPS(Mem{Base: at}, mask)
	few(mask)
	Label(label("done"))
	VZEROUPPER()
	RET()
}

// emitTileTransform writes the loop of t: tiles(n int, dst *float32,
// pointStride int, phases *float32, phaseStride, rowStride int, spill
// bool), which maps n tiles as vec.TileTransform.Tiles says, eight at a
// time, one tile a lane (see eightAtATime); with n below eight the loads
// are masked, and the stores too unless spill allows storing whole
// vectors. Element (a, b) of a tile is read from phase b%step at row a,
// b/step elements on.
func emitTileTransform(t tileTransform, consts tileConstants, masks Mem) {
	TEXT(t.name, 0, // its frame is too large for NOSPLIT
		"func(n int, dst *float32, pointStride int, phases *float32, phaseStride int, rowStride int, spill bool)")
	Pragma("noescape")
	Doc(t.name + " is an AVX2 loop of vec.TileTransform.Tiles; see emitTileTransform in package asmgen.")
	p, q := len(t.l), len(t.l[0])
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	ps := Load(Param("pointStride"), GP64())
	phase := make([]reg.GPVirtual, t.step)
	phase[0] = GP64()
	Load(Param("phases"), phase[0])
	apart := Load(Param("phaseStride"), GP64())
	SHLQ(U8(2), apart) // in bytes
	for k := 1; k < t.step; k++ {
		phase[k] = GP64()
		LEAQ(Mem{Base: phase[k-1], Index: apart, Scale: 1}, phase[k])
	}
	rs := Load(Param("rowStride"), GP64())
	SHLQ(U8(2), rs) // in bytes
	rowsApart, stage := pointLayout(p, q, ps)

	// block maps the eight tiles at the phases to dst, loading through
	// loadMask and storing through storeMask unless they are nil.
	block := func(loadMask, storeMask reg.VecVirtual) {
		row := GP64()
		XORQ(row, row)
		load := func(a int) []reg.VecVirtual {
			if a > 0 {
				ADDQ(rs, row)
			}
			xs := make([]reg.VecVirtual, q)
			for b := range xs {
				xs[b] = maskedLoad(Mem{Base: phase[b%t.step], Index: row, Scale: 1, Disp: 4 * (b / t.step)}, loadMask)
			}
			return xs
		}
		consts.separable(t.l, stage, load, pointStores(p, dst, ps, rowsApart, storeMask))
	}
	eightAtATime(t.name, n, masks,
		func() { block(nil, nil) },
		func() {
			ADDQ(U32(32), dst)
			for _, ph := range phase {
				ADDQ(U32(32), ph)
			}
		},
		func(bytes reg.GPVirtual) {
			SUBQ(bytes, dst)
			for _, ph := range phase {
				SUBQ(bytes, ph)
			}
		},
		func(mask reg.VecVirtual) {
			spill := GP8()
			Load(Param("spill"), spill)
			TESTB(spill, spill)
			JZ(LabelRef(t.name + "masked"))
			block(mask, nil)
			JMP(LabelRef(t.name + "done"))
			Label(t.name + "masked")
			block(mask, mask)
		})
}

// emitPointTransform writes the loop of t: points(n int, dst *float32,
// dstStride int, src *float32, srcStride int), which maps n tiles as
// vec.PointTransform.Apply says, eight at a time, one tile a lane (see
// eightAtATime); with n below eight, through masked loads and stores.
func emitPointTransform(t tileTransform, consts tileConstants, masks Mem) {
	TEXT(t.name, 0, // its frame is too large for NOSPLIT
		"func(n int, dst *float32, dstStride int, src *float32, srcStride int)")
	Pragma("noescape")
	Doc(t.name + " is an AVX2 loop of vec.PointTransform.Apply; see emitPointTransform in package asmgen.")
	p, q := len(t.l), len(t.l[0])
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	ds := Load(Param("dstStride"), GP64())
	src := Load(Param("src"), GP64())
	ss := Load(Param("srcStride"), GP64())
	SHLQ(U8(2), ss) // in bytes
	rowsApart, stage := pointLayout(p, q, ds)

	block := func(mask reg.VecVirtual) {
		at := GP64()
		MOVQ(src, at)
		load := func(a int) []reg.VecVirtual {
			xs := make([]reg.VecVirtual, q)
			for b := range xs {
				if a > 0 || b > 0 {
					ADDQ(ss, at)
				}
				xs[b] = maskedLoad(Mem{Base: at}, mask)
			}
			return xs
		}
		consts.separable(t.l, stage, load, pointStores(p, dst, ds, rowsApart, mask))
	}
	eightAtATime(t.name, n, masks,
		func() { block(nil) },
		func() {
			ADDQ(U32(32), dst)
			ADDQ(U32(32), src)
		},
		func(bytes reg.GPVirtual) {
			SUBQ(bytes, dst)
			SUBQ(bytes, src)
		},
		func(mask reg.VecVirtual) { block(mask) })
}
