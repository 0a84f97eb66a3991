// Command rowtapsgen writes the amd64 loops of vec.DepthwiseRows with
// avo. Run it through go generate in native/vec:
//
//	go run ./internal/rowtapsgen -out rowtaps_amd64.s -stubs rowtaps_amd64.go -pkg vec
//
// depthwiseRowsS1AVX512 and depthwiseRowsS2AVX512, func(n, rows int,
// dst *float32, dstStride int, src *float32, srcStride, width int, off
// *int32, kh int, w *float32, kw, dilation, pad int, bias float32, act
// uint8, lo, hi float32), store for each row r < rows and position
// j < n
//
//	dst[r*dstStride+j] = act(bias + Σ_k Σ_t w[t*kw+k] * in(off[t]+r*srcStride, j*s+k*dilation-pad))
//
// with s the stride (1 or 2), k < kw, t < kh, and in(o, c) = src[o+c]
// for 0 <= c < width, 0 otherwise: rows of a depthwise convolution read
// from the input plane where it lies, each t a kernel row at its
// offset, the columns' zero padding that of the masked loads, which
// touch nothing outside [0, width) of a row. The sum runs over the
// kernel columns k, then the rows t, each term a fused multiply-add;
// with stride 2 (and a dilation of 1), kernel columns k and k+1 read
// the even and the odd lanes of the same 32 columns (from two loads,
// picked by VPERMT2PS and VPERMI2PS), so the sum runs over such pairs,
// each started at an even column (a whole cache line where the rows
// are), and the columns left alone, then the rows, then the pair's two
// columns. act is a vec.StoreActivation computed before the store with
// the operations and roundings of package chantapsgen's (the bits of
// the vec function applied after the store).
//
// The positions go in blocks, each down all the rows, several rows at
// a time (as many independent chains of multiply-adds): four vectors
// (64 positions) four rows at a time where no tap reaches the padding,
// each tap's weight broadcast once for the 16 vectors; elsewhere one
// vector eight rows at a time, unmasked where no tap reaches the
// padding, else (the edges) each kernel column's loads masked to the
// row's columns, the masks computed once for all the rows, and the
// store to the n positions. The kernel has at most maxKW columns.
package main

import (
	"fmt"
	"math"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// The values of vec.StoreActivation.
const (
	storeRelu = iota + 1
	storeClip
	storeHardSwish
)

// lanes is the float32 of a ZMM, vecs the vectors of the main block,
// rowGroup the rows summed at once, maxKW the most kernel columns (DepthwiseRows takes wider kernels in
// Go).
const (
	lanes    = 16
	vecs     = 4
	maxKW    = 8
	rowGroup = 4
)

func main() {
	consts := GLOBL("rowTapsConsts", RODATA|NOPTR) // 0, 1, the even ramp 0, 2, ..., 30, the odd 1, 3, ..., 31
	DATA(0, U32(0))
	DATA(4, U32(math.Float32bits(1)))
	for i := range 2 * lanes {
		DATA(8+4*i, U32(uint32(2*i%(2*lanes)+i/lanes)))
	}
	for _, stride := range []int{1, 2} {
		emit(stride, consts)
	}
	Generate()
}

func emit(stride int, consts Mem) {
	name := "depthwiseRowsS1AVX512"
	if stride == 2 {
		name = "depthwiseRowsS2AVX512"
	}
	TEXT(name, NOSPLIT, "func(n, rows int, dst *float32, dstStride int, src *float32, srcStride, width int, off *int32, kh int, w *float32, kw, dilation, pad int, bias float32, act uint8, lo, hi float32)")
	Pragma("noescape")
	Doc(name + " is a loop of DepthwiseRows; see package rowtapsgen.")
	// The frame holds the rows left, where the current row of the
	// block starts in dst and src, the block's first position, its
	// store mask and the load masks of its kernel columns.
	frame := AllocLocal(40 + 4*maxKW)
	rowsLeft, dstRow, srcRow, jMem, storeMask := frame.Offset(0), frame.Offset(8), frame.Offset(16), frame.Offset(24), frame.Offset(32)
	masks := frame.Offset(40)
	span := lanes * stride // columns a vector of taps reads
	MOVQ(U32(0), jMem)

	// sum emits the block of nv vectors of nr rows from dstRow and, at
	// column c0 = j*stride - pad, srcRow: the accumulators started from
	// the bias, the taps summed, the activation and the stores; masked,
	// the loads of kernel column k take masks[k], the stores storeMask.
	// The nr*nv accumulators are as many independent chains of
	// multiply-adds, which one vector of one row would wait on.
	sum := func(nv, nr int, label string, masked bool) {
		acc := make([][]reg.VecVirtual, nr)
		for r := range acc {
			acc[r] = make([]reg.VecVirtual, nv)
			for v := range acc[r] {
				acc[r][v] = ZMM()
				VBROADCASTSS(avoparam.Addr("bias"), acc[r][v])
			}
		}
		var idx reg.VecVirtual
		if stride == 2 {
			idx = ZMM()
			VMOVUPS(consts.Offset(8), idx)
		}
		c := GP64()
		MOVQ(jMem, c)
		if stride == 2 {
			SHLQ(U8(1), c)
		}
		SUBQ(avoparam.Addr("pad"), c)
		k := GP64()
		XORQ(k, k)
		Label(label + "col")
		var lo, hi reg.Register
		if masked {
			lo, hi = K(), K()
			m := masks
			m.Index, m.Scale = k, 4
			KMOVW(m, lo)
			if stride == 2 {
				KMOVW(m.Offset(2), hi)
			}
		}
		// at[r] is where column c of row r lies in src; wp walks the
		// weights of kernel column k down the kernel rows.
		at := make([]reg.GPVirtual, nr)
		at[0] = GP64()
		MOVQ(srcRow, at[0])
		LEAQ(Mem{Base: at[0], Index: c, Scale: 4}, at[0])
		if nr > 1 {
			ss := Load(Param("srcStride"), GP64())
			for r := 1; r < nr; r++ {
				at[r] = GP64()
				LEAQ(Mem{Base: at[r-1], Index: ss, Scale: 4}, at[r])
			}
		}
		wp, t, o, offp := GP64(), GP64(), GP64(), GP64()
		Load(Param("w"), wp)
		LEAQ(Mem{Base: wp, Index: k, Scale: 4}, wp)
		Load(Param("off"), offp)
		Load(Param("kh"), t)
		if stride == 2 {
			// Kernel columns k and k+1 (a dilation of 1) read the even
			// and the odd lanes of the same 32 columns: one pair of
			// loads for both.
			k1 := GP64()
			LEAQ(Mem{Base: k, Disp: 1}, k1)
			CMPQ(k1, avoparam.Addr("kw"))
			JGE(LabelRef(label + "tap"))
			// A pair starts at an even column: whole cache lines
			// where the rows are.
			BTQ(U8(0), c)
			JCS(LabelRef(label + "tap"))
			odd := ZMM()
			VMOVUPS(consts.Offset(8+4*lanes), odd)
			Label(label + "pair")
			w0, w1 := ZMM(), ZMM()
			VBROADCASTSS(Mem{Base: wp}, w0)
			VBROADCASTSS(Mem{Base: wp, Disp: 4}, w1)
			MOVLQSX(Mem{Base: offp}, o)
			for r := range acc {
				for v := range acc[r] {
					m := Mem{Base: at[r], Index: o, Scale: 4, Disp: 4 * span * v}
					x, y, z := ZMM(), ZMM(), ZMM()
					if masked {
						VMOVUPS_Z(m, lo, x)
						VMOVUPS_Z(m.Offset(4*lanes), hi, y)
					} else {
						VMOVUPS(m, x)
						VMOVUPS(m.Offset(4*lanes), y)
					}
					VMOVUPS(odd, z)
					VPERMI2PS(y, x, z) // the odd lanes
					VPERMT2PS(y, idx, x)
					VFMADD231PS(x, w0, acc[r][v])
					VFMADD231PS(z, w1, acc[r][v])
				}
			}
			ADDQ(U8(4), offp)
			stepW := GP64()
			Load(Param("kw"), stepW)
			LEAQ(Mem{Base: wp, Index: stepW, Scale: 4}, wp)
			DECQ(t)
			JNZ(LabelRef(label + "pair"))
			ADDQ(U8(2), c)
			ADDQ(U8(2), k)
			JMP(LabelRef(label + "next"))
		}
		Label(label + "tap")
		wv := ZMM()
		VBROADCASTSS(Mem{Base: wp}, wv)
		MOVLQSX(Mem{Base: offp}, o)
		for r := range acc {
			for v := range acc[r] {
				m := Mem{Base: at[r], Index: o, Scale: 4, Disp: 4 * span * v}
				switch {
				case stride == 1 && !masked:
					VFMADD231PS(m, wv, acc[r][v])
				case stride == 1:
					x := ZMM()
					VMOVUPS_Z(m, lo, x)
					VFMADD231PS(x, wv, acc[r][v])
				case !masked:
					x := ZMM()
					VMOVUPS(m, x)
					VPERMT2PS(m.Offset(4*lanes), idx, x)
					VFMADD231PS(x, wv, acc[r][v])
				default:
					x, y := ZMM(), ZMM()
					VMOVUPS_Z(m, lo, x)
					VMOVUPS_Z(m.Offset(4*lanes), hi, y)
					VPERMT2PS(y, idx, x)
					VFMADD231PS(x, wv, acc[r][v])
				}
			}
		}
		ADDQ(U8(4), offp)
		stepW := GP64()
		Load(Param("kw"), stepW)
		LEAQ(Mem{Base: wp, Index: stepW, Scale: 4}, wp)
		DECQ(t)
		JNZ(LabelRef(label + "tap"))
		ADDQ(avoparam.Addr("dilation"), c)
		INCQ(k)
		Label(label + "next")
		CMPQ(k, avoparam.Addr("kw"))
		JL(LabelRef(label + "col"))

		var all []reg.VecVirtual
		for r := range acc {
			all = append(all, acc[r]...)
		}
		activate(all, label, consts)
		Label(label + "store")
		d, ds := GP64(), Load(Param("dstStride"), GP64())
		MOVQ(dstRow, d)
		var km reg.Register
		if masked {
			km = K()
			KMOVW(storeMask, km)
		}
		for r := range acc {
			if r > 0 {
				LEAQ(Mem{Base: d, Index: ds, Scale: 4}, d)
			}
			for v := range acc[r] {
				if masked {
					VMOVUPS(acc[r][v], km, Mem{Base: d, Disp: 4 * lanes * v})
				} else {
					VMOVUPS(acc[r][v], Mem{Base: d, Disp: 4 * lanes * v})
				}
			}
		}
	}

	// down emits the walk down the rows of the block of nv vectors at
	// jMem, rowGroup rows at a time then one, then the step to the
	// next block.
	down := func(nv int, label string, masked bool) {
		r := Load(Param("rows"), GP64())
		MOVQ(r, rowsLeft)
		d, j := Load(Param("dst"), GP64()), GP64()
		MOVQ(jMem, j)
		LEAQ(Mem{Base: d, Index: j, Scale: 4}, d)
		MOVQ(d, dstRow)
		sp := Load(Param("src"), GP64())
		MOVQ(sp, srcRow)
		groups := []int{rowGroup, 1}
		if nv == 1 {
			groups = []int{2 * rowGroup, rowGroup, 1}
		}
		for _, nr := range groups {
			l := fmt.Sprintf("%sr%d", label, nr)
			Label(l)
			CMPQ(rowsLeft, U8(nr))
			JL(LabelRef(l + "done"))
			sum(nv, nr, l, masked)
			for _, p := range []struct {
				stride string
				mem    Mem
			}{{"dstStride", dstRow}, {"srcStride", srcRow}} {
				s := Load(Param(p.stride), GP64())
				SHLQ(U8(2+bits.TrailingZeros(uint(nr))), s) // nr*4 bytes a row
				ADDQ(s, p.mem)
			}
			SUBQ(U8(nr), rowsLeft)
			JMP(LabelRef(l))
			Label(l + "done")
		}
		ADDQ(U8(lanes*nv), jMem)
		JMP(LabelRef("block"))
	}

	// Each block of positions, down all the rows: four vectors where
	// they fit in n and none of their taps reaches the padding (the
	// first column read, j*stride - pad, not negative, the last,
	// c0 + nv*span - 1 + (kw-1)*dilation, below width), else one
	// vector the same, else one vector masked.
	Label("block")
	for _, nv := range []int{vecs, 1} {
		label := fmt.Sprintf("by%d", nv)
		j, a, b := GP64(), GP64(), GP64()
		MOVQ(jMem, j)
		LEAQ(Mem{Base: j, Disp: lanes * nv}, a)
		CMPQ(a, avoparam.Addr("n"))
		JG(LabelRef(label + "no"))
		MOVQ(j, a)
		if stride == 2 {
			SHLQ(U8(1), a)
		}
		SUBQ(avoparam.Addr("pad"), a)
		JL(LabelRef(label + "no"))
		Load(Param("kw"), b)
		DECQ(b)
		IMULQ(avoparam.Addr("dilation"), b)
		LEAQ(Mem{Base: a, Index: b, Scale: 1, Disp: span*nv - 1}, a)
		CMPQ(a, avoparam.Addr("width"))
		JGE(LabelRef(label + "no"))
		down(nv, label, false)
		Label(label + "no")
	}
	{
		j := GP64()
		MOVQ(jMem, j)
		CMPQ(j, avoparam.Addr("n"))
		JGE(LabelRef("done"))
		// The load masks: for kernel column k, the lanes of columns
		// c = j*stride - pad + k*dilation in [0, width), from -c up to
		// width - c, each clamped to [0, span].
		c, k := GP64(), GP64()
		MOVQ(j, c)
		if stride == 2 {
			SHLQ(U8(1), c)
		}
		SUBQ(avoparam.Addr("pad"), c)
		XORQ(k, k)
		Label("maskcol")
		a, b, ones, zero, top := GP64(), GP64(), GP64(), GP64(), GP64()
		XORQ(zero, zero)
		MOVQ(U32(span), top)
		MOVQ(c, a)
		NEGQ(a)
		CMPQ(a, zero)
		CMOVQLT(zero, a)
		CMPQ(a, top)
		CMOVQGT(top, a)
		Load(Param("width"), b)
		SUBQ(c, b)
		CMPQ(b, zero)
		CMOVQLT(zero, b)
		CMPQ(b, top)
		CMOVQGT(top, b)
		MOVQ(I64(-1), ones)
		BZHIQ(b, ones, b) // lanes below width - c
		BZHIQ(a, ones, a) // lanes below -c
		ANDNQ(b, a, a)    // lanes from -c below width - c
		m := masks
		m.Index, m.Scale = k, 4
		MOVL(a.As32(), m)
		ADDQ(avoparam.Addr("dilation"), c)
		INCQ(k)
		CMPQ(k, avoparam.Addr("kw"))
		JL(LabelRef("maskcol"))
		// The store mask: the first min(n-j, lanes) positions.
		left := GP64()
		Load(Param("n"), left)
		SUBQ(j, left)
		MOVQ(U32(lanes), top)
		CMPQ(left, top)
		CMOVQGT(top, left)
		MOVQ(I64(-1), ones)
		BZHIQ(left, ones, left)
		MOVW(left.As16(), storeMask)
	}
	down(1, "masked", true)

	Label("done")
	VZEROUPPER()
	RET()
}

// activate emits the activation named by the act parameter on the
// accumulators, in place, ending at label+"store", as package
// chantapsgen's does: Relu as max(v, 0) + 0, Clip as the maximum with
// lo then the minimum with hi, HardSwish as v * min(max(alpha v + beta,
// 0), 1) with lo and hi alpha and beta, the product and the sum each
// rounded; VMAXPS and VMINPS take the accumulator first (in Go's
// order), so that a NaN passes.
func activate(acc []reg.VecVirtual, label string, consts Mem) {
	act := GP8()
	Load(Param("act"), act)
	for _, b := range []struct {
		act   int
		label string
	}{{storeRelu, "relu"}, {storeClip, "clip"}, {storeHardSwish, "hardswish"}} {
		CMPB(act, U8(b.act))
		JE(LabelRef(label + b.label))
	}
	JMP(LabelRef(label + "store"))

	Label(label + "relu")
	zero := ZMM()
	VBROADCASTSS(consts, zero)
	for _, a := range acc {
		VMAXPS(a, zero, a)
		VADDPS(zero, a, a)
	}
	JMP(LabelRef(label + "store"))

	Label(label + "clip")
	lo, hi := ZMM(), ZMM()
	VBROADCASTSS(avoparam.Addr("lo"), lo)
	VBROADCASTSS(avoparam.Addr("hi"), hi)
	for _, a := range acc {
		VMAXPS(a, lo, a)
		VMINPS(a, hi, a)
	}
	JMP(LabelRef(label + "store"))

	Label(label + "hardswish")
	alpha, beta, zero2, ones, h := ZMM(), ZMM(), ZMM(), ZMM(), ZMM()
	VBROADCASTSS(avoparam.Addr("lo"), alpha)
	VBROADCASTSS(avoparam.Addr("hi"), beta)
	VBROADCASTSS(consts, zero2)
	VBROADCASTSS(consts.Offset(4), ones)
	for _, a := range acc {
		VMULPS(alpha, a, h)
		VADDPS(beta, h, h)
		VMAXPS(h, zero2, h)
		VMINPS(h, ones, h)
		VMULPS(h, a, a)
	}
}
