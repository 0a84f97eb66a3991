// Command asmgen writes the amd64 vector loops of package vec with avo.
// Run it through go generate in native/vec:
//
//	go run ./internal/asmgen -out vec_amd64.s -stubs vec_amd64.go -pkg vec
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
	"github.com/onnxkit/onnxkit/native/vec/internal/loopgen"
)

func main() {
	masks := loopgen.TailMasks("tailMasks")
	lanesAVX2.emitMaxRows(masks)
	lanesAVX2.emitMaxStride2()
	emitScaleAdd(masks, false)
	emitScaleAdd(masks, true)
	emitFirstEqualStride2(emitEvenTable("evenRamp", 8))
	emitTransposeBias()
	emitInterleave()
	emitInterleave4()
	emitDeinterleave()
	emitDeinterleave4()
	emitTranscendentals()
	emitActivations()
	laneMasks := loopgen.LaneMasks("laneMasks16")
	emitTileTransforms(masks, laneMasks)
	emitWeightedTaps(masks, laneMasks)
	emitWeightedTapsRows(masks, laneMasks)
	lanesAVX512.emitMaxRows(laneMasks)
	lanesAVX512.emitMaxPoolRowsS2(laneMasks, lanesAVX512.emitMaxStride2())
	lanesAVX2.emitMaxPoolRowsS2(masks, Mem{})
	emitSumFloat64()
	emitNormLoops()
	emitLaneTaps(laneMasks)
	emitInterleavePlanes(laneMasks)
	emitLaneRows(laneMasks)
	Generate()
}

// evenElements loads the even ones of the 16 elements at src plus at
// elements: a shuffle picks them within each 128-bit lane, and a
// permutation of 64-bit pairs puts the lanes in order.
func evenElements(src, at reg.Register) reg.VecVirtual {
	lo, hi, t, x := YMM(), YMM(), YMM(), YMM()
	VMOVUPS(Mem{Base: src, Index: at, Scale: 4}, lo)
	VMOVUPS(Mem{Base: src, Index: at, Scale: 4, Disp: 32}, hi)
	VSHUFPS(U8(0x88), hi, lo, t)
	VPERMPD(U8(0xd8), t, x)
	return x
}

// emitScaleAdd writes scaleAddAVX2, which stores src[i]*a + b in dst[i]
// for i < n, a multiplication then an addition, each rounded, as Go
// computes them: 32 values at a time, then 8, then the last few through
// masked loads and stores; under relu, scaleAddReluAVX2, which stores
// max(src[i]*a + b, 0) (a normalization fused with its Relu).
func emitScaleAdd(masks Mem, relu bool) {
	fn, goName := "scaleAddAVX2", "ScaleAdd"
	if relu {
		fn, goName = "scaleAddReluAVX2", "ScaleAddRelu"
	}
	TEXT(fn, NOSPLIT, "func(n int, dst, src *float32, a, b float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the AVX2 loop of %s; see emitScaleAdd in package asmgen.", fn, goName))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	av, bv := YMM(), YMM()
	VBROADCASTSS(avoparam.Addr("a"), av)
	VBROADCASTSS(avoparam.Addr("b"), bv)
	// finish applies the Relu under relu: max(x, 0) + 0, the sum turning
	// the -0 that VMAXPS keeps into +0 (Go's max(-0, 0)) and keeping a
	// NaN, as vec.Relu computes it.
	var zero reg.VecVirtual
	if relu {
		zero = YMM()
		VXORPS(zero, zero, zero)
	}
	finish := func(x reg.VecVirtual) {
		if relu {
			VMAXPS(x, zero, x)
			VADDPS(zero, x, x)
		}
	}
	for _, vecs := range []int{4, 1} {
		label := fmt.Sprintf("by%d", 8*vecs)
		Label(label)
		CMPQ(n, U32(8*vecs))
		JL(LabelRef(label + "done"))
		for v := 0; v < vecs; v++ {
			x := YMM()
			VMULPS(Mem{Base: src, Disp: 32 * v}, av, x)
			VADDPS(bv, x, x)
			finish(x)
			VMOVUPS(x, Mem{Base: dst, Disp: 32 * v})
		}
		ADDQ(U32(32*vecs), src)
		ADDQ(U32(32*vecs), dst)
		SUBQ(U32(8*vecs), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	at, mask, x := GP64(), YMM(), YMM()
	LEAQ(masks.Offset(32), at)
	SHLQ(U8(2), n)
	SUBQ(n, at)
	VMOVUPS(Mem{Base: at}, mask)
	VMASKMOVPS(Mem{Base: src}, mask, x)
	VMULPS(x, av, x)
	VADDPS(bv, x, x)
	finish(x)
	VMASKMOVPS(x, mask, Mem{Base: dst})
	Label("done")
	VZEROUPPER()
	RET()
}

// emitFirstEqualStride2 writes firstEqualStride2AVX2, which stores in
// idx[0:n] (n a multiple of 8), for each j, off[t]+2j for the first t
// (in the order of off) at which src[off[t]+2j] equals m[j] or is a NaN,
// or off[0]+2j when none does. Taps are visited last to first, each
// match blending its indices in; equality is that of VCMPPS (zeros of
// both signs equal).
func emitFirstEqualStride2(evenRamp Mem) {
	TEXT("firstEqualStride2AVX2", NOSPLIT, "func(n int, idx *int32, m, src *float32, off *int32, taps int)")
	Pragma("noescape")
	Doc("firstEqualStride2AVX2 is the AVX2 loop of FirstEqualStride2; see emitFirstEqualStride2 in package asmgen.")
	n := Load(Param("n"), GP64())
	idx := Load(Param("idx"), GP64())
	m := Load(Param("m"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	taps := Load(Param("taps"), GP64())
	// ramp holds the lanes' offsets 2j from the first output; it grows
	// by 16 a block.
	ramp, step := YMM(), YMM()
	VMOVDQU(evenRamp, ramp)
	{
		t, x := GP32(), XMM()
		MOVL(U32(16), t)
		VMOVD(t, x)
		VPBROADCASTD(x, step)
	}
	// broadcastAt returns off[t]+2j in each lane j, t in a register.
	broadcastAt := func(at reg.GPVirtual) reg.VecVirtual {
		x, v := XMM(), YMM()
		VMOVQ(at, x)
		VPBROADCASTD(x, v)
		VPADDD(ramp, v, v)
		return v
	}
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	want := YMM()
	VMOVUPS(Mem{Base: m}, want)
	first := GP64()
	MOVLQSX(Mem{Base: off}, first)
	found := broadcastAt(first)
	r := GP64()
	MOVQ(taps, r)
	Label("tap")
	DECQ(r)
	JL(LabelRef("store"))
	at := GP64()
	MOVLQSX(Mem{Base: off, Index: r, Scale: 4}, at)
	v := evenElements(src, at)
	eq, nan := YMM(), YMM()
	VCMPPS(U8(0), want, v, eq) // equal, ordered
	VCMPPS(U8(3), v, v, nan)   // v is a NaN
	VORPS(nan, eq, eq)
	VBLENDVPS(eq, broadcastAt(at), found, found)
	JMP(LabelRef("tap"))
	Label("store")
	VMOVDQU(found, Mem{Base: idx})
	VPADDD(step, ramp, ramp)
	ADDQ(U32(64), src)
	ADDQ(U32(32), m)
	ADDQ(U32(32), idx)
	SUBQ(U32(8), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}
