// Command chantapsgen writes the amd64 loops of vec.ChannelTaps with avo.
// Run it through go generate in native/vec:
//
//	go run ./internal/chantapsgen -out chantaps_amd64.s -stubs chantaps_amd64.go -pkg vec
//
// channelTapsAVX512 and channelTapsAVX2, func(n, rows int, dst
// *float32, dstStride int, src *float32, srcStride int, off *int32, w
// *float32, taps int, bias *float32, channels int, act uint8, lo, hi
// float32), store for each channel c < channels (at most 8), row r <
// rows and position j < n
//
//	dst[c*dstStride+r*n+j] = act(bias[c] + Σ_t w[8t+c] * src[off[t]+r*srcStride+j])
//
// act a vec.StoreActivation: the identity, max(v, 0) + 0 (as vec.Relu),
// v clamped to [lo, hi] (as vec.Clip) or v * HardSigmoid(v) with lo and
// hi its alpha and beta (as vec.HardSwish), each computed in registers
// before the store with the operations and roundings of package
// asmgen's activation kernels, so that the bits are those of the vec
// function applied after the store. This is a block of eight output channels of a
// convolution with few input channels, each tap an input channel and
// kernel position at its offset in padded input planes. The positions
// lie in the lanes; each tap loads a few vectors of input once and
// multiplies them by the tap's eight weights, broadcast one at a time,
// into eight accumulators per vector: the input is read once per block
// of channels rather than once per channel (vec.WeightedTaps).
//
// AVX-512 keeps the eight channels of three vectors (48 positions) in 24
// registers; AVX2, with 16, takes the channels four at a time over three
// vectors (24 positions), and HardSwish there takes its alpha and beta
// from the frame, broadcast once, for want of registers. Then one vector at a time, then the last few
// positions through masked loads and stores, which touch nothing past
// the rows. Each block asks for the lines of dst the next block stores
// (PREFETCHT0) before it sums its taps, which hides most of the wait
// for outputs out of the caches, as a model's are.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
	"github.com/onnxkit/onnxkit/native/vec/internal/loopgen"
)

func main() {
	masks := loopgen.TailMasks("chanTapsMasks")
	laneMasks := loopgen.LaneMasks("chanTapsLaneMasks")
	consts := GLOBL("chanTapsConsts", RODATA|NOPTR) // 0 and 1
	DATA(0, U32(0))
	DATA(4, U32(math.Float32bits(1)))
	for _, s := range []shape{
		{Shape: loopgen.Shape{Name: "channelTapsAVX2", Lanes: 8, Vecs: 3, NewVec: YMM}, chans: 4},
		{Shape: loopgen.Shape{Name: "channelTapsAVX512", Lanes: 16, Vecs: 3, NewVec: ZMM, AVX512: true}, chans: 8},
	} {
		s.emit(masks, laneMasks, consts)
	}
	Generate()
}

// block is the eight channels of the loop.
const block = 8

// The values of vec.StoreActivation.
const (
	storeIdentity = iota
	storeRelu
	storeClip
	storeHardSwish
)

// shape is one instruction set's version of the loop: Vecs vectors of
// positions in the main block, chans channels summed per pass over the
// taps.
type shape struct {
	loopgen.Shape
	chans int
}

func (s shape) emit(masks, laneMasks, consts Mem) {
	TEXT(s.Name, NOSPLIT, "func(n, rows int, dst *float32, dstStride int, src *float32, srcStride int, off *int32, w *float32, taps int, bias *float32, channels int, act uint8, lo, hi float32)")
	Pragma("noescape")
	Doc(s.Name + " is a loop of ChannelTaps; see package chantapsgen.")
	width := 4 * s.Lanes // bytes per vector
	// The rows left, where the next one starts in dst and src, lo and
	// hi broadcast, and the walk over whole vectors across the rows
	// (flat, below) live in the frame.
	frame := AllocLocal(48 + 2*width)
	rowsMem, dstRow, srcRow := frame.Offset(0), frame.Offset(8), frame.Offset(16)
	curMem, leftMem, perRowMem := frame.Offset(24), frame.Offset(32), frame.Offset(40)
	loMem, hiMem := frame.Offset(48), frame.Offset(48+width)
	for _, p := range []struct {
		name string
		mem  Mem
	}{{"rows", rowsMem}, {"dst", dstRow}, {"src", srcRow}} {
		r := Load(Param(p.name), GP64())
		MOVQ(r, p.mem)
	}
	for _, p := range []struct {
		name string
		mem  Mem
	}{{"lo", loMem}, {"hi", hiMem}} {
		v := s.NewVec()
		VBROADCASTSS(avoparam.Addr(p.name), v)
		VMOVUPS(v, p.mem)
	}
	// sum emits the block of vecs vectors at dst, for the channels c0
	// to c0+chans: the accumulators started from the bias, the taps
	// summed, the activation and the stores of the channels below
	// channels. Vector v of a tap at offset at loads from
	// bases[v]+4*at+disps[v]. With a mask (an opmask or a YMM of lanes)
	// the loads and stores are masked.
	sum := func(vecs, c0 int, label string, mask reg.Register, dst reg.Register, bases []reg.Register, disps []int) {
		acc := make([][]reg.VecVirtual, s.chans)
		{
			bias := Load(Param("bias"), GP64())
			for c := range acc {
				acc[c] = make([]reg.VecVirtual, vecs)
				for v := range acc[c] {
					acc[c][v] = s.NewVec()
				}
				VBROADCASTSS(Mem{Base: bias, Disp: 4 * (c0 + c)}, acc[c][0])
				for v := 1; v < vecs; v++ {
					VMOVUPS(acc[c][0], acc[c][v])
				}
			}
		}
		{
			// The next block's rows of dst, fetched while the taps
			// are summed: a model's outputs are out of the caches.
			stride, row := GP64(), GP64()
			Load(Param("dstStride"), stride)
			SHLQ(U8(2), stride)
			MOVQ(dst, row)
			if c0 > 0 {
				r := GP64()
				IMUL3Q(U32(c0), stride, r)
				ADDQ(r, row)
			}
			for c := 0; c < s.chans; c++ {
				for v := 0; v < vecs; v++ {
					PREFETCHT0(Mem{Base: row, Disp: width * (vecs + v)})
				}
				if c+1 < s.chans {
					ADDQ(stride, row)
				}
			}
		}
		o, wp, t := GP64(), GP64(), GP64()
		Load(Param("off"), o)
		Load(Param("w"), wp)
		Load(Param("taps"), t)
		Label(label + "tap")
		at := GP64()
		MOVLQSX(Mem{Base: o}, at)
		x := make([]reg.VecVirtual, vecs)
		for v := range x {
			x[v] = s.NewVec()
			loopgen.MaskedLoad(Mem{Base: bases[v], Index: at, Scale: 4, Disp: disps[v]}, mask, x[v])
		}
		for c := range acc {
			wv := s.NewVec()
			VBROADCASTSS(Mem{Base: wp, Disp: 4 * (c0 + c)}, wv)
			for v := range x {
				VFMADD231PS(x[v], wv, acc[c][v])
			}
		}
		ADDQ(U8(4), o)
		ADDQ(U8(4*block), wp)
		DECQ(t)
		JNZ(LabelRef(label + "tap"))

		s.activate(acc, label, loMem, hiMem, consts)
		Label(label + "store")
		channels, stride, row := GP64(), GP64(), GP64()
		Load(Param("channels"), channels)
		Load(Param("dstStride"), stride)
		SHLQ(U8(2), stride)
		MOVQ(dst, row)
		if c0 > 0 {
			r := GP64()
			IMUL3Q(U32(c0), stride, r)
			ADDQ(r, row)
		}
		for c := range acc {
			CMPQ(channels, U8(c0+c))
			JLE(LabelRef(label + "stored"))
			for v := range acc[c] {
				loopgen.MaskedStore(acc[c][v], mask, Mem{Base: row, Disp: width * v})
			}
			if c+1 < len(acc) {
				ADDQ(stride, row)
			}
		}
		Label(label + "stored")
	}

	// passes emits sum for every group of chans channels that holds
	// some of the channels.
	passes := func(vecs int, label string, mask reg.Register, dst reg.Register, bases []reg.Register, disps []int) {
		for c0 := 0; c0 < block; c0 += s.chans {
			l := fmt.Sprintf("%sc%d", label, c0)
			if c0 > 0 {
				channels := GP64()
				Load(Param("channels"), channels)
				CMPQ(channels, U8(c0))
				JLE(LabelRef(label + "passes"))
			}
			sum(vecs, c0, l, mask, dst, bases, disps)
		}
		Label(label + "passes")
	}

	s.flat(rowsMem, dstRow, srcRow, curMem, leftMem, perRowMem, passes)

	Label("row")
	CMPQ(rowsMem, U8(0))
	JE(LabelRef("done"))
	n, dst, src := GP64(), GP64(), GP64()
	Load(Param("n"), n)
	MOVQ(dstRow, dst)
	MOVQ(srcRow, src)
	s.Row(n, dst, src, []int{s.Vecs, 1}, masks, laneMasks, "rowdone", func(vecs int, label string, mask reg.Register) {
		bases, disps := make([]reg.Register, vecs), make([]int, vecs)
		for v := range bases {
			bases[v], disps[v] = src, width*v
		}
		passes(vecs, label, mask, dst, bases, disps)
	})
	Label("rowdone")
	{
		step := GP64()
		Load(Param("n"), step)
		SHLQ(U8(2), step)
		ADDQ(step, dstRow)
		Load(Param("srcStride"), step)
		SHLQ(U8(2), step)
		ADDQ(step, srcRow)
		DECQ(rowsMem)
		JMP(LabelRef("row"))
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// flat emits the walk over the rows as one run of whole vectors, taken
// when n is a multiple of the lanes and there are several rows: the
// rows lie one after the other in dst, and a block of s.Vecs vectors
// may span the end of a row and the start of the next, each vector
// loading from its own row of src. A network's first layer of 112
// output columns has 7 vectors a row, which the walk row by row takes
// as two blocks of three and one of a single vector, whose eight
// accumulators wait on a broadcast of weights each. Then it jumps to
// done; otherwise it falls through to the walk row by row. rowsMem
// counts the vectors left, dstRow and srcRow are where the next block
// stores and where its row starts in src, curMem where its first vector
// loads, leftMem how many vectors of that row are left and perRowMem
// the vectors per row.
func (s shape) flat(rowsMem, dstRow, srcRow, curMem, leftMem, perRowMem Mem, passes func(vecs int, label string, mask reg.Register, dst reg.Register, bases []reg.Register, disps []int)) {
	width := 4 * s.Lanes
	{
		n, rows := Load(Param("n"), GP64()), Load(Param("rows"), GP64())
		CMPQ(rows, U8(1))
		JLE(LabelRef("row"))
		TESTQ(U32(s.Lanes-1), n)
		JNZ(LabelRef("row"))
		shift := 3
		if s.Lanes == 16 {
			shift = 4
		}
		SHRQ(U8(shift), n)
		MOVQ(n, perRowMem)
		MOVQ(n, leftMem)
		IMULQ(n, rows)
		MOVQ(rows, rowsMem)
		src := GP64()
		MOVQ(srcRow, src)
		MOVQ(src, curMem)
	}
	advances := 0
	// next returns the source of the next vector and moves curMem past
	// it, to the start of the next row after the last of a row.
	next := func() reg.Register {
		at, step := GP64(), GP64()
		MOVQ(curMem, at)
		MOVQ(at, step)
		ADDQ(U8(width), step)
		MOVQ(step, curMem)
		DECQ(leftMem)
		l := fmt.Sprintf("flatsame%d", advances)
		advances++
		JNZ(LabelRef(l))
		Load(Param("srcStride"), step)
		SHLQ(U8(2), step)
		ADDQ(srcRow, step)
		MOVQ(step, srcRow)
		MOVQ(step, curMem)
		MOVQ(perRowMem, step)
		MOVQ(step, leftMem)
		Label(l)
		return at
	}
	for _, vecs := range []int{s.Vecs, 1} {
		label := fmt.Sprintf("flat%d", vecs)
		Label(label)
		CMPQ(rowsMem, U8(vecs))
		JL(LabelRef(label + "done"))
		bases, disps := make([]reg.Register, vecs), make([]int, vecs)
		for v := range bases {
			bases[v] = next()
		}
		dst := GP64()
		MOVQ(dstRow, dst)
		passes(vecs, label, nil, dst, bases, disps)
		ADDQ(U32(width*vecs), dstRow)
		SUBQ(U8(vecs), rowsMem)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	JMP(LabelRef("done"))
}

// broadcast returns a vector of float32 at m in every lane (avo fails
// to allocate the 27 vectors of AVX-512's HardSwish when one of them is
// zeroed by VPXORD).
func (s shape) broadcast(m Mem) reg.VecVirtual {
	v := s.NewVec()
	VBROADCASTSS(m, v)
	return v
}

// activate emits the activation named by the act parameter on the
// accumulators, in place, ending at label+"store": Relu as max(v, 0) + 0
// (the sum turns the -0 VMAXPS keeps into Go's +0), Clip as the maximum
// with lo then the minimum with hi, HardSwish as v * min(max(alpha v +
// beta, 0), 1), the product and the sum each rounded. VMAXPS and VMINPS
// take the accumulator first (in Go's order), so that a NaN passes, as
// in package asmgen's kernels.
func (s shape) activate(acc [][]reg.VecVirtual, label string, loMem, hiMem, consts Mem) {
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
	zero := s.broadcast(consts)
	for c := range acc {
		for _, a := range acc[c] {
			VMAXPS(a, zero, a)
			VADDPS(zero, a, a)
		}
	}
	JMP(LabelRef(label + "store"))

	Label(label + "clip")
	lo, hi := s.NewVec(), s.NewVec()
	VMOVUPS(loMem, lo)
	VMOVUPS(hiMem, hi)
	for c := range acc {
		for _, a := range acc[c] {
			VMAXPS(a, lo, a)
			VMINPS(a, hi, a)
		}
	}
	JMP(LabelRef(label + "store"))

	Label(label + "hardswish")
	zero, ones, h := s.broadcast(consts), s.broadcast(consts.Offset(4)), s.NewVec()
	for c := range acc {
		for _, a := range acc[c] {
			VMULPS(loMem, a, h)
			VADDPS(hiMem, h, h)
			VMAXPS(h, zero, h)
			VMINPS(h, ones, h)
			VMULPS(h, a, a)
		}
	}
}
