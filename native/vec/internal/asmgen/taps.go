package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// emitLaneMasks writes the table the AVX-512 loops take the mask of a
// last partial vector from: entry r (a uint16) has its r low bits set.
func emitLaneMasks() Mem {
	m := GLOBL("laneMasks16", RODATA|NOPTR)
	for r := 0; r <= 16; r++ {
		DATA(2*r, U16(uint16(1<<r-1)))
	}
	return m
}

// tapsShape is one instruction set's version of the weighted sum of
// taps.
type tapsShape struct {
	name   string
	lanes  int                   // float32 per vector
	vecs   int                   // vectors of the main block
	newVec func() reg.VecVirtual // YMM or ZMM
	avx512 bool                  // masks in opmask registers
}

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
	for _, s := range []tapsShape{
		{name: "weightedTapsAVX2", lanes: 8, vecs: 8, newVec: YMM},
		{name: "weightedTapsAVX512", lanes: 16, vecs: 8, newVec: ZMM, avx512: true},
	} {
		s.emit(masks, laneMasks)
	}
}

func (s tapsShape) emit(masks, laneMasks Mem) {
	TEXT(s.name, NOSPLIT, "func(n int, dst, src *float32, off *int32, w *float32, taps int, bias float32, relu, accumulate bool)")
	Pragma("noescape")
	Doc(s.name + " is a loop of WeightedTaps; see emitWeightedTaps in package asmgen.")
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	off := Load(Param("off"), GP64())
	w := Load(Param("w"), GP64())
	taps := Load(Param("taps"), GP64())
	bias, zero := s.newVec(), s.newVec()
	VBROADCASTSS(avoparam.Addr("bias"), bias)
	VXORPS(zero, zero, zero)
	relu, accumulate := GP8(), GP8()
	Load(Param("relu"), relu)
	Load(Param("accumulate"), accumulate)
	width := 4 * s.lanes // bytes per vector

	// sum emits the block of vecs vectors at dst: the accumulators
	// started, the taps summed, ReLU and the store. With a mask (an
	// opmask or a YMM of lanes) the loads and stores are masked.
	sum := func(vecs int, label string, kmask reg.OpmaskVirtual, ymask reg.VecVirtual) {
		acc := make([]reg.VecVirtual, vecs)
		for v := range acc {
			acc[v] = s.newVec()
		}
		load := func(m Mem, x reg.VecVirtual) {
			switch {
			case kmask != nil:
				VMOVUPS_Z(m, kmask, x)
			case ymask != nil:
				VMASKMOVPS(m, ymask, x)
			default:
				VMOVUPS(m, x)
			}
		}
		TESTB(accumulate, accumulate)
		JZ(LabelRef(label + "bias"))
		for v := range acc {
			load(Mem{Base: dst, Disp: width * v}, acc[v])
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
		at, wv := GP64(), s.newVec()
		MOVLQSX(Mem{Base: o}, at)
		VBROADCASTSS(Mem{Base: wp}, wv)
		for v := range acc {
			m := Mem{Base: src, Index: at, Scale: 4, Disp: width * v}
			switch {
			case kmask != nil:
				x := s.newVec()
				VMOVUPS_Z(m, kmask, x)
				VFMADD231PS(x, wv, acc[v])
			case ymask != nil:
				x := s.newVec()
				VMASKMOVPS(m, ymask, x)
				VFMADD231PS(x, wv, acc[v])
			default:
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
			m := Mem{Base: dst, Disp: width * v}
			switch {
			case kmask != nil:
				VMOVUPS(acc[v], kmask, m)
			case ymask != nil:
				VMASKMOVPS(acc[v], ymask, m)
			default:
				VMOVUPS(acc[v], m)
			}
		}
	}

	// The blocks, widest first: with fewer accumulators than the FMA
	// latency times its throughput, each tap waits on the last, so a
	// 4-vector block takes what is left of the main one before single
	// vectors do.
	blocks := []int{s.vecs, 1}
	if s.vecs > 4 && s.avx512 {
		blocks = []int{s.vecs, 4, 1}
	}
	for _, vecs := range blocks {
		label := fmt.Sprintf("by%d", s.lanes*vecs)
		Label(label)
		CMPQ(n, U32(s.lanes*vecs))
		JL(LabelRef(label + "done"))
		sum(vecs, label, nil, nil)
		ADDQ(U32(width*vecs), src)
		ADDQ(U32(width*vecs), dst)
		SUBQ(U32(s.lanes*vecs), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	if s.avx512 {
		k := K()
		table := GP64()
		LEAQ(laneMasks, table)
		KMOVW(Mem{Base: table, Index: n, Scale: 2}, k)
		sum(1, "tail", k, nil)
	} else {
		at, mask := GP64(), YMM()
		LEAQ(masks.Offset(32), at)
		SHLQ(U8(2), n)
		SUBQ(n, at)
		VMOVUPS(Mem{Base: at}, mask)
		sum(1, "tail", nil, mask)
	}
	Label("done")
	VZEROUPPER()
	RET()
}
