package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
	"github.com/onnxkit/onnxkit/native/vec/internal/loopgen"
)

// emitWeightedTaps writes weightedTapsAVX2 and weightedTapsAVX512,
// func(n int, dst, src *float32, off *int32, w *float32, taps int, bias
// float32, relu, accumulate bool), which store in dst[j], for j < n,
// a + Σ_t w[t]*src[off[t]+j] with a = dst[j] under accumulate and bias
// otherwise, then max(v, 0) under relu: a row of a direct convolution,
// each tap a kernel position at its offset in a padded plane. The sum
// runs over the taps in order, each a fused multiply-add; the outputs
// are taken vecs vectors at a time (one weight broadcast feeds them
// all), with AVX-512 then four at a time, then one vector at a time,
// then the last few through masked loads and stores, which touch
// nothing past the rows.
func emitWeightedTaps(masks, laneMasks Mem) {
	for _, s := range []loopgen.Shape{
		{Name: "weightedTapsAVX2", Lanes: 8, Vecs: 8, NewVec: YMM},
		{Name: "weightedTapsAVX512", Lanes: 16, Vecs: 8, NewVec: ZMM, AVX512: true},
	} {
		emitWeightedTapsShape(s, masks, laneMasks, false)
	}
}

// emitWeightedTapsRows writes weightedTapsRowsAVX2 and
// weightedTapsRowsAVX512, func(rows, n int, dst *float32, dstStride
// int, src *float32, srcStride int, off *int32, w *float32, taps int,
// bias float32, relu, accumulate bool): the loop of emitWeightedTaps
// for each of rows rows r, from dst[r*dstStride] and src[r*srcStride],
// in one call: the rows of an average pooling, a few dozen positions
// each, which calls per row cost as much as.
func emitWeightedTapsRows(masks, laneMasks Mem) {
	for _, s := range []loopgen.Shape{
		{Name: "weightedTapsRowsAVX2", Lanes: 8, Vecs: 8, NewVec: YMM},
		{Name: "weightedTapsRowsAVX512", Lanes: 16, Vecs: 8, NewVec: ZMM, AVX512: true},
	} {
		emitWeightedTapsShape(s, masks, laneMasks, true)
	}
}

// emitWeightedTapsShape writes s's version of the weighted sum of taps,
// over rows under rows.
func emitWeightedTapsShape(s loopgen.Shape, masks, laneMasks Mem, rows bool) {
	if rows {
		TEXT(s.Name, NOSPLIT, "func(rows, n int, dst *float32, dstStride int, src *float32, srcStride int, off *int32, w *float32, taps int, bias float32, relu, accumulate bool)")
		Pragma("noescape")
		Doc(s.Name + " is a loop of WeightedTapsRows; see emitWeightedTapsRows in package asmgen.")
	} else {
		TEXT(s.Name, NOSPLIT, "func(n int, dst, src *float32, off *int32, w *float32, taps int, bias float32, relu, accumulate bool)")
		Pragma("noescape")
		Doc(s.Name + " is a loop of WeightedTaps; see emitWeightedTaps in package asmgen.")
	}
	var r reg.GPVirtual
	if rows {
		r = GP64()
		XORQ(r, r)
		Label("nextrow")
		CMPQ(r, avoparam.Addr("rows"))
		JGE(LabelRef("done"))
	}
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	if rows {
		for _, row := range []struct {
			base   reg.Register
			stride string
		}{{dst, "dstStride"}, {src, "srcStride"}} {
			stride := Load(Param(row.stride), GP64())
			IMULQ(r, stride)
			LEAQ(Mem{Base: row.base, Index: stride, Scale: 4}, row.base)
		}
	}
	off := Load(Param("off"), GP64())
	w := Load(Param("w"), GP64())
	taps := Load(Param("taps"), GP64())
	bias, zero := s.NewVec(), s.NewVec()
	VBROADCASTSS(avoparam.Addr("bias"), bias)
	VXORPS(zero, zero, zero)
	relu, accumulate := GP8(), GP8()
	Load(Param("relu"), relu)
	Load(Param("accumulate"), accumulate)
	width := 4 * s.Lanes // bytes per vector

	// sum emits the block of vecs vectors at dst: the accumulators
	// started, the taps summed, ReLU and the store. With a mask (an
	// opmask or a YMM of lanes) the loads and stores are masked.
	sum := func(vecs int, label string, mask reg.Register) {
		acc := make([]reg.VecVirtual, vecs)
		for v := range acc {
			acc[v] = s.NewVec()
		}
		TESTB(accumulate, accumulate)
		JZ(LabelRef(label + "bias"))
		for v := range acc {
			loopgen.MaskedLoad(Mem{Base: dst, Disp: width * v}, mask, acc[v])
		}
		JMP(LabelRef(label + "taps"))
		Label(label + "bias")
		for v := range acc {
			VMOVUPS(bias, acc[v])
		}
		Label(label + "taps")
		o, wp, t := GP64(), GP64(), GP64()
		MOVQ(off, o)
		MOVQ(w, wp)
		MOVQ(taps, t)
		Label(label + "tap")
		at, wv := GP64(), s.NewVec()
		MOVLQSX(Mem{Base: o}, at)
		VBROADCASTSS(Mem{Base: wp}, wv)
		for v := range acc {
			m := Mem{Base: src, Index: at, Scale: 4, Disp: width * v}
			if mask != nil {
				x := s.NewVec()
				loopgen.MaskedLoad(m, mask, x)
				VFMADD231PS(x, wv, acc[v])
			} else {
				VFMADD231PS(m, wv, acc[v])
			}
		}
		ADDQ(U8(4), o)
		ADDQ(U8(4), wp)
		DECQ(t)
		JNZ(LabelRef(label + "tap"))
		TESTB(relu, relu)
		JZ(LabelRef(label + "store"))
		for v := range acc {
			VMAXPS(acc[v], zero, acc[v])
		}
		Label(label + "store")
		for v := range acc {
			loopgen.MaskedStore(acc[v], mask, Mem{Base: dst, Disp: width * v})
		}
	}

	// The blocks, widest first: with fewer accumulators than the FMA
	// latency times its throughput, each tap waits on the last, so a
	// 4-vector block takes what is left of the main one before single
	// vectors do.
	blocks := []int{s.Vecs, 1}
	if s.Vecs > 4 && s.AVX512 {
		blocks = []int{s.Vecs, 4, 1}
	}
	if !rows {
		s.Row(n, dst, src, blocks, masks, laneMasks, "done", sum)
	} else {
		s.Row(n, dst, src, blocks, masks, laneMasks, "rowdone", sum)
		Label("rowdone")
		INCQ(r)
		JMP(LabelRef("nextrow"))
	}
	Label("done")
	VZEROUPPER()
	RET()
}
