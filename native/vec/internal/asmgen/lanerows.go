package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// laneRowShapes are the strides and kernel widths the row loops of
// emitLaneRows are written for: 3x3 and 5x5 kernels with unit strides.
// Their vectors must fit in AVX-512's 32 registers: eight sums, the
// input columns of eight positions ((8-1)*stride + kw) and the kw
// weights of a kernel row. A loop for 3x3 with strides of 2 (28
// vectors) measured no faster than the general one on MobileNet V2's
// 96@112 and V3's 16@112 (0.99) and slower on 28 output columns (1.08).
var laneRowShapes = []struct{ stride, kw int }{{1, 3}, {1, 5}}

// emitLaneRows writes laneRowS<stride>K<kw>AVX512 and its Clip and
// HardSwish variants laneRowS<stride>K<kw><act>AVX512, func(n int, dst
// *float32, planeStride, planes int, src *float32, rowStride int, w,
// bias *float32, kh int, relu bool) (a, b float32 in place of relu
// with an activation), the loops of vec.SumLaneRow: the sums of
// vec.LaneTaps.SumPlanes for n positions along one output row, with
// unit dilation, the window of position p at src + 8*stride*p and the
// kernel's rows rowStride floats apart, stored into the first planes
// of the eight channels' planes at dst as laneTapsPlanesAVX512 stores
// them (transposed, zero added, the activation, the last positions of
// n under an opmask, laneMasks).
//
// The general loop loads every tap of every position from memory, ten
// loads for eight multiply-adds, more than the two vector loads a cycle
// of the cores measured. Along a row the windows of neighbouring
// positions overlap: for each kernel row, the (8-1)*stride + kw input
// vectors eight positions read are loaded once, as are the kw weights,
// and the 8*kw multiply-adds take them from registers. The last block
// of a row, fewer than eight positions, reads (8-1)*stride + kw vectors
// as a whole one does: the caller's src must hold them.
func emitLaneRows(laneMasks Mem) {
	for _, shape := range laneRowShapes {
		emitLaneRow(shape.stride, shape.kw, nil, laneMasks)
		for _, a := range activations {
			if a.goName == "Clip" || a.goName == "HardSwish" {
				emitLaneRow(shape.stride, shape.kw, &a, laneMasks)
			}
		}
	}
}

// emitLaneRow writes one loop of emitLaneRows.
func emitLaneRow(stride, kw int, act storeActivation, laneMasks Mem) {
	name := fmt.Sprintf("laneRowS%dK%d", stride, kw)
	sig := "func(n int, dst *float32, planeStride, planes int, src *float32, rowStride int, w, bias *float32, kh int, relu bool)"
	if act != nil {
		name += act.goName
		sig = "func(n int, dst *float32, planeStride, planes int, src *float32, rowStride int, w, bias *float32, kh int, a, b float32)"
	}
	name += "AVX512"
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name + " is a loop of SumLaneRow; see emitLaneRows in package asmgen.")
	frame := AllocLocal(24)
	nMem, dstMem, srcMem := frame.Offset(0), frame.Offset(8), frame.Offset(16)
	for _, p := range []struct {
		name string
		mem  Mem
	}{{"n", nMem}, {"dst", dstMem}, {"src", srcMem}} {
		r := Load(Param(p.name), GP64())
		MOVQ(r, p.mem)
	}
	Label("blocks")
	CMPQ(nMem, U8(8))
	JL(LabelRef("blocksdone"))
	laneRowBlock("block", stride, kw, srcMem)
	storePlanes(laneRowAcc, "block", dstMem, act, nil, nil, true)
	ADDQ(U32(32), dstMem)
	ADDQ(U32(8*stride*32), srcMem)
	SUBQ(U8(8), nMem)
	JMP(LabelRef("blocks"))
	Label("blocksdone")
	CMPQ(nMem, U8(0))
	JE(LabelRef("done"))
	laneRowBlock("tail", stride, kw, srcMem)
	storePlanes(laneRowAcc, "tail", dstMem, act, &laneMasks, &nMem, true)
	Label("done")
	VZEROUPPER()
	RET()
}

// laneRowAcc holds the sums of the block laneRowBlock last emitted.
var laneRowAcc []reg.VecVirtual

// laneRowBlock emits the sums of eight positions whose windows start at
// the src held in the frame, 8*stride floats apart, into laneRowAcc:
// the bias, then kernel row by kernel row, the row's input vectors and
// weights loaded once.
func laneRowBlock(label string, stride, kw int, srcMem Mem) {
	acc := make([]reg.VecVirtual, 8)
	{
		bias := Load(Param("bias"), GP64())
		for i := range acc {
			acc[i] = YMM()
			VMOVUPS(Mem{Base: bias}, acc[i])
		}
	}
	r, wk, k := GP64(), GP64(), GP64()
	MOVQ(srcMem, r)
	Load(Param("w"), wk)
	Load(Param("kh"), k)
	rs := Load(Param("rowStride"), GP64())
	SHLQ(U8(2), rs)
	Label(label + "row")
	in := make([]reg.VecVirtual, 7*stride+kw)
	for j := range in {
		in[j] = YMM()
		VMOVUPS(Mem{Base: r, Disp: 32 * j}, in[j])
	}
	wv := make([]reg.VecVirtual, kw)
	for c := range wv {
		wv[c] = YMM()
		VMOVUPS(Mem{Base: wk, Disp: 32 * c}, wv[c])
	}
	// Tap by tap, as the general loop sums them: the same roundings.
	for c := range wv {
		for i := range acc {
			VFMADD231PS(in[i*stride+c], wv[c], acc[i])
		}
	}
	ADDQ(rs, r)
	ADDQ(U32(32*kw), wk)
	DECQ(k)
	JNZ(LabelRef(label + "row"))
	laneRowAcc = acc
}
