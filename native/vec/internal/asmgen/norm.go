package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// The loops of layer normalization: the squared deviations of a row from
// its mean, accumulated in float64, and the affine map of the normalized
// row.

// emitNormLoops writes the loops at both widths.
func emitNormLoops() {
	for _, l := range []lanes{lanesAVX2, lanesAVX512} {
		l.emitSquaredDeviations()
		l.emitNormalizeAffine()
	}
}

// emitSquaredDeviations writes squaredDeviations+level(n int, src
// *float32, mean float64, sums *float64), which adds (src[i] - mean)² in
// float64 for i < n (a multiple of twice the lanes) into four vectors of
// partial sums, half a vector of float32 widened at a time, and stores
// their sum, lane by lane, in sums[0:lanes/2].
func (l lanes) emitSquaredDeviations() {
	fn := "squaredDeviations" + l.name
	TEXT(fn, NOSPLIT, "func(n int, src *float32, mean float64, sums *float64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of SquaredDeviations; see emitSquaredDeviations in package asmgen.", fn, l.name))
	n := Load(Param("n"), GP64())
	src := Load(Param("src"), GP64())
	sums := Load(Param("sums"), GP64())
	mean := l.vec()
	VBROADCASTSD(avoparam.Addr("mean"), mean)
	l.emitWidenedSums(n, src, sums, func(d, acc reg.VecVirtual) {
		VSUBPD(mean, d, d)
		VFMADD231PD(d, d, acc)
	})
}

// emitWidenedSums writes the loop shared by the float64 reductions of a
// float32 row: n (a multiple of twice the lanes) floats from src, half a
// vector at a time widened to doubles and handed to accumulate with one
// of four accumulators, so that four chains are in flight; at the end
// the accumulators' sum is stored lane by lane at sums, and the function
// returns.
func (l lanes) emitWidenedSums(n, src, sums reg.Register, accumulate func(d, acc reg.VecVirtual)) {
	var acc [4]reg.VecVirtual
	for i := range acc {
		acc[i] = l.vec()
		VXORPD(acc[i], acc[i], acc[i])
	}
	half := 2 * l.width // bytes of half a vector of float32
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for i, a := range acc {
		d := l.vec()
		VCVTPS2PD(Mem{Base: src, Disp: i * half}, d)
		accumulate(d, a)
	}
	ADDQ(U32(8*l.width), src)
	SUBQ(U32(2*l.width), n)
	JMP(LabelRef("block"))
	Label("done")
	VADDPD(acc[1], acc[0], acc[0])
	VADDPD(acc[3], acc[2], acc[2])
	VADDPD(acc[2], acc[0], acc[0])
	VMOVUPD(acc[0], Mem{Base: sums})
	VZEROUPPER()
	RET()
}

// emitNormalizeAffine writes normalizeAffine+level(n int, dst, src,
// scale, bias *float32, mean, invStd float32), which stores ((src[i] -
// mean)·invStd)·scale[i] + bias[i] in dst[i] for i < n (a multiple of
// the lanes), the last product and sum fused.
func (l lanes) emitNormalizeAffine() {
	fn := "normalizeAffine" + l.name
	TEXT(fn, NOSPLIT, "func(n int, dst, src, scale, bias *float32, mean, invStd float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of NormalizeAffine; see emitNormalizeAffine in package asmgen.", fn, l.name))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	scale := Load(Param("scale"), GP64())
	bias := Load(Param("bias"), GP64())
	mean, inv := l.vec(), l.vec()
	VBROADCASTSS(avoparam.Addr("mean"), mean)
	VBROADCASTSS(avoparam.Addr("invStd"), inv)
	bytes := 4 * l.width
	for _, vecs := range []int{2, 1} {
		label := fmt.Sprintf("by%d", vecs)
		Label(label)
		CMPQ(n, U32(vecs*l.width))
		JL(LabelRef(label + "done"))
		for v := 0; v < vecs; v++ {
			x, s := l.vec(), l.vec()
			VMOVUPS(Mem{Base: src, Disp: v * bytes}, x)
			VSUBPS(mean, x, x)
			VMULPS(inv, x, x)
			VMOVUPS(Mem{Base: scale, Disp: v * bytes}, s)
			VFMADD213PS(Mem{Base: bias, Disp: v * bytes}, s, x)
			VMOVUPS(x, Mem{Base: dst, Disp: v * bytes})
		}
		for _, p := range []reg.Register{src, dst, scale, bias} {
			ADDQ(U32(vecs*bytes), p)
		}
		SUBQ(U32(vecs*l.width), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	VZEROUPPER()
	RET()
}
