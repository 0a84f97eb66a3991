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

func emitTileTransforms(masks, laneMasks Mem) {
	type transform struct {
		name string
		l    [][]float64
		step int
	}
	var transforms, outputs []transform
	for _, r := range []int{3, 5} {
		transforms = append(transforms,
			transform{fmt.Sprintf("winogradInput%d", r), toomcook.InputTransform(2, r), 2},
			transform{fmt.Sprintf("winogradGradient%d", r), toomcook.GradientTransform(r), 2})
		outputs = append(outputs, transform{fmt.Sprintf("winogradOutput%d", r), toomcook.OutputTransform(2, r), 0})
	}
	// F(4x4, 3x3), its input transform on tiles four columns apart.
	transforms = append(transforms, transform{"winogradInput4x3", toomcook.InputTransform(4, 3), 4})
	outputs = append(outputs, transform{"winogradOutput4x3", toomcook.OutputTransform(4, 3), 0})
	var all [][][]float32
	for _, t := range append(transforms[:len(transforms):len(transforms)], outputs...) {
		all = append(all, float32s(t.l))
	}
	avx2 := &tileWidth{suffix: "AVX2", lanes: 8, vec: YMM, masks: masks}
	avx2.consts = emitTileConstants("tileConstantsAVX2", avx2.lanes, all)
	for _, t := range transforms {
		avx2.emitTileTransform(tileTransform{t.name + avx2.suffix, float32s(t.l), t.step})
	}
	for _, t := range outputs {
		avx2.emitPointTransform(tileTransform{t.name + avx2.suffix, float32s(t.l), 0})
	}
	// The point transforms in ZMMs too. The tile transforms are not
	// faster so: on Zen 5 (one thread, best of 5, BenchmarkTileTransforms),
	// ResNet-18's input tiles of F(4x4, 3x3) at 56x56, 14 a row, took
	// 3.6-6.0 against 4.7-5.0us a plane, those of F(2x2, 3x3) at 28x28
	// 1.3-1.8 against 1.1-1.6us and at 56x56, 28 a row, 4.6-7.7 against
	// 3.4-5.6us; the output transforms of the 196 tiles of a plane 1.2-2.1
	// against 1.7-2.4us (F(4x4, 3x3)) and 0.30-0.40 against 0.35-0.65us
	// (F(2x2, 3x3)).
	avx512 := &tileWidth{suffix: "AVX512", lanes: 16, vec: ZMM, masks: laneMasks, avx512: true}
	avx512.consts = emitTileConstants("tileConstantsAVX512", avx512.lanes, all[len(transforms):])
	for _, t := range outputs {
		avx512.emitPointTransform(tileTransform{t.name + avx512.suffix, float32s(t.l), 0})
	}
}

// tileWidth is one instruction set's form of the transform loops: AVX2,
// eight tiles a YMM, the last few through masks of lanes (tailMasks),
// or AVX-512, sixteen a ZMM, the last few through opmasks (laneMasks16).
type tileWidth struct {
	suffix string
	lanes  int
	vec    func() reg.VecVirtual
	masks  Mem
	avx512 bool
	consts tileConstants
}

// bytes is the size of a vector.
func (w *tileWidth) bytes() int { return 4 * w.lanes }

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
// 1 to a vector of copies of it in a table, an operand for a
// multiplication.
type tileConstants map[float32]Mem

// emitTileConstants writes the table of the coefficients of the matrices,
// lanes copies of each.
func emitTileConstants(name string, lanes int, matrices [][][]float32) tileConstants {
	var values []float32
	for _, l := range matrices {
		for _, row := range l {
			for _, c := range row {
				if c != 0 && c != 1 && !slices.Contains(values, c) {
					values = append(values, c)
				}
			}
		}
	}
	table := GLOBL(name, RODATA|NOPTR)
	consts := tileConstants{}
	for i, c := range values {
		for lane := 0; lane < lanes; lane++ {
			DATA(4*lanes*i+4*lane, U32(math.Float32bits(c))) // avo writes F32(-1) as the integer -1
		}
		consts[c] = table.Offset(4 * lanes * i)
	}
	return consts
}

// combine emits the sum of c*x over the coefficients c of row and the
// vectors x, leaving zeros out, adding and subtracting for 1 and -1 and
// multiplying and adding (fused) for the others.
func (w *tileWidth) combine(row []float32, xs []reg.VecVirtual) reg.VecVirtual {
	consts := w.consts
	acc := w.vec()
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
func (w *tileWidth) separable(l [][]float32, stage Mem, load func(a int) []reg.VecVirtual, store func(u, v int, y reg.VecVirtual)) {
	p, q, size := len(l), len(l[0]), w.bytes()
	for a := 0; a < q; a++ {
		xs := load(a)
		for u := 0; u < p; u++ {
			VMOVUPS(w.combine(l[u], xs), stage.Offset(size*(a*p+u)))
		}
	}
	for v := 0; v < p; v++ {
		ys := make([]reg.VecVirtual, q)
		for a := range ys {
			ys[a] = w.vec()
			VMOVUPS(stage.Offset(size*(a*p+v)), ys[a])
		}
		for u := 0; u < p; u++ {
			store(u, v, w.combine(l[u], ys))
		}
	}
}

// maskedLoad loads a vector from m through mask (a YMM of lanes or an
// opmask), or whole when mask is nil.
func (w *tileWidth) maskedLoad(m Mem, mask reg.Register) reg.VecVirtual {
	x := w.vec()
	loopgen.MaskedLoad(m, mask, x)
	return x
}

// pointLayout turns the stride between the points p x p that a transform
// of q x q tiles stores into bytes, and returns the distance from point
// (u, v) to (u+1, v) and the stack the products along the rows stay on,
// [q][p] vectors.
func (w *tileWidth) pointLayout(p, q int, stride reg.Register) (rowsApart reg.GPVirtual, stage Mem) {
	SHLQ(U8(2), stride)
	rowsApart = GP64()
	IMUL3Q(U32(p), stride, rowsApart)
	return rowsApart, AllocLocal(w.bytes() * p * q)
}

// pointStores returns the store of separable that puts point (u, v) at
// dst + (u*p + v)*stride bytes, and the register it keeps the address of
// column v in.
func pointStores(p int, dst, stride, rowsApart reg.Register, mask reg.Register) func(u, v int, y reg.VecVirtual) {
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

// loop emits the loop over n lanes of the transform loops, under the
// labels of name. AVX2: block on whole vectors of eight, a last partial
// vector done again as the last eight when there are eight or more
// (AVX2's masked stores are slow: about four times the cost of a whole
// block here), and fewer than eight through few (given the mask of the
// first n lanes). AVX-512: block on whole vectors of sixteen, the last
// few through few (an opmask of them: masked stores cost no more than
// whole ones). step advances the pointers by a vector, back moves them
// back by the given bytes.
func (w *tileWidth) loop(name string, n reg.Register, block func(), step func(), back func(bytes reg.GPVirtual), few func(mask reg.Register)) {
	label := func(s string) string { return name + s }
	lanes := w.lanes
	if w.avx512 {
		Label(label("block"))
		CMPQ(n, U32(lanes))
		JL(LabelRef(label("few")))
		block()
		step()
		SUBQ(U32(lanes), n)
		JMP(LabelRef(label("block")))
		Label(label("few"))
		TESTQ(n, n)
		JZ(LabelRef(label("done")))
		table, mask := GP64(), K()
		LEAQ(w.masks, table)
		KMOVW(Mem{Base: table, Index: n, Scale: 2}, mask)
		few(mask)
		Label(label("done"))
		VZEROUPPER()
		RET()
		return
	}
	CMPQ(n, U32(lanes))
	JL(LabelRef(label("few")))
	Label(label("block"))
	block()
	SUBQ(U32(lanes), n)
	JZ(LabelRef(label("done")))
	CMPQ(n, U32(lanes))
	JGE(LabelRef(label("next")))
	// The last n < 8: step back so that the next block ends with them.
	bytes := GP64()
	MOVQ(U32(lanes), bytes)
	SUBQ(n, bytes)
	SHLQ(U8(2), bytes)
	back(bytes)
	MOVQ(U32(lanes), n)
	Label(label("next"))
	step()
	JMP(LabelRef(label("block")))

	Label(label("few"))
	TESTQ(n, n)
	JZ(LabelRef(label("done")))
	at, mask := GP64(), YMM()
	LEAQ(w.masks.Offset(32), at)
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
// time, one tile a lane (see loop; AVX2 only); with n below eight the
// loads are masked, and the stores too unless spill allows storing
// whole vectors. Element (a, b) of a tile is read from phase b%step at
// row a, b/step elements on.
func (w *tileWidth) emitTileTransform(t tileTransform) {
	TEXT(t.name, 0, // its frame is too large for NOSPLIT
		"func(n int, dst *float32, pointStride int, phases *float32, phaseStride int, rowStride int, spill bool)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is an %s loop of vec.TileTransform.Tiles; see emitTileTransform in package asmgen.", t.name, w.suffix))
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
	rowsApart, stage := w.pointLayout(p, q, ps)

	// block maps the vector of tiles at the phases to dst, loading
	// through loadMask and storing through storeMask unless they are nil.
	block := func(loadMask, storeMask reg.Register) {
		row := GP64()
		XORQ(row, row)
		load := func(a int) []reg.VecVirtual {
			if a > 0 {
				ADDQ(rs, row)
			}
			xs := make([]reg.VecVirtual, q)
			for b := range xs {
				xs[b] = w.maskedLoad(Mem{Base: phase[b%t.step], Index: row, Scale: 1, Disp: 4 * (b / t.step)}, loadMask)
			}
			return xs
		}
		w.separable(t.l, stage, load, pointStores(p, dst, ps, rowsApart, storeMask))
	}
	size := U32(w.bytes())
	w.loop(t.name, n,
		func() { block(nil, nil) },
		func() {
			ADDQ(size, dst)
			for _, ph := range phase {
				ADDQ(size, ph)
			}
		},
		func(bytes reg.GPVirtual) {
			SUBQ(bytes, dst)
			for _, ph := range phase {
				SUBQ(bytes, ph)
			}
		},
		func(mask reg.Register) {
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
// vec.PointTransform.Apply says, a vector of them at a time, one tile a
// lane (see loop); with fewer than a vector left, through masked loads
// and stores.
func (w *tileWidth) emitPointTransform(t tileTransform) {
	TEXT(t.name, 0, // its frame is too large for NOSPLIT
		"func(n int, dst *float32, dstStride int, src *float32, srcStride int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is an %s loop of vec.PointTransform.Apply; see emitPointTransform in package asmgen.", t.name, w.suffix))
	p, q := len(t.l), len(t.l[0])
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	ds := Load(Param("dstStride"), GP64())
	src := Load(Param("src"), GP64())
	ss := Load(Param("srcStride"), GP64())
	SHLQ(U8(2), ss) // in bytes
	rowsApart, stage := w.pointLayout(p, q, ds)

	block := func(mask reg.Register) {
		at := GP64()
		MOVQ(src, at)
		load := func(a int) []reg.VecVirtual {
			xs := make([]reg.VecVirtual, q)
			for b := range xs {
				if a > 0 || b > 0 {
					ADDQ(ss, at)
				}
				xs[b] = w.maskedLoad(Mem{Base: at}, mask)
			}
			return xs
		}
		w.separable(t.l, stage, load, pointStores(p, dst, ds, rowsApart, mask))
	}
	size := U32(w.bytes())
	w.loop(t.name, n,
		func() { block(nil) },
		func() {
			ADDQ(size, dst)
			ADDQ(size, src)
		},
		func(bytes reg.GPVirtual) {
			SUBQ(bytes, dst)
			SUBQ(bytes, src)
		},
		func(mask reg.Register) { block(mask) })
}
