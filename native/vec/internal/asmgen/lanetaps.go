package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
	"github.com/onnxkit/onnxkit/native/vec/internal/loopgen"
)

// emitLaneTaps writes laneTapsAVX2, func(n int, dst, src *float32, pos,
// taps *int32, w, bias *float32, ntaps int, accumulate bool), the loop
// of vec.LaneTaps: for each of the n positions p, the eight lanes
// dst[8p:8p+8] get a + Σ_t w[8t:8t+8] * src[pos[p]+taps[t]:][:8], a
// being dst's lanes under accumulate and bias's otherwise. The eight
// lanes are eight channels side by side, so every multiply-add is a
// whole vector whatever the plane's shape.
//
// Positions are taken eight at a time, then four, then one: eight
// accumulators, one per position, hide the latency of the fused
// multiply-adds, each weight vector loaded once feeds them all, and each
// position's input is read through its own base register at the tap's
// offset. The base registers leave too few for n, dst and pos, which
// live in the frame between blocks.
//
// laneTapsPlanesAVX2, func(n int, dst *float32, planeStride int, src
// *float32, pos, taps *int32, w, bias *float32, ntaps int, relu bool),
// is the loop of vec.LaneTaps.SumPlanes: the same sums of n positions, n
// a multiple of eight, started from bias, each block of eight positions
// transposed in registers as vec.TransposeBias transposes (zero added,
// so that a -0 becomes a 0 as there) and stored, after max(v, 0) under
// relu, to the eight planes dst[l*planeStride:] at the block's
// positions: straight to a convolution's output planes.
//
// laneTapsPlanesClipAVX2 and laneTapsPlanesHardSwishAVX2, func(n int,
// dst *float32, planeStride int, src *float32, pos, taps *int32, w,
// bias *float32, ntaps int, a, b float32), are laneTapsPlanesAVX2 with
// Clip (to [a, b]) or HardSwish (a and b its HardSigmoid's alpha and
// beta) in place of max(v, 0), computed as the activation kernels
// compute them (activations): MobileNets' ReLU6 and HardSwish stored
// with the sums, not in a pass of their own.
//
// laneTapsPlanesAVX512 and its Clip and HardSwish variants (laneMasks
// given), func(n int, dst *float32, planeStride, planes int, ...), take
// any n: the whole blocks of eight positions as the AVX2 loops, then the
// last n%8 positions as one more block whose other positions repeat the
// first (reading only what it reads), stored through an opmask of the
// last positions' lanes: what the AVX2 loops leave to Go (Sum, a
// transpose and the activation element by element), four of the 196
// positions of a 14x14 plane, one of a 7x7's 49, each costing about as
// much as a block of eight. They store only the first planes (1 to 8)
// of the eight channels: a last block of fewer channels straight into
// its planes, too.
func emitLaneTaps(laneMasks Mem) {
	for _, masks := range []*Mem{nil, &laneMasks} {
		emitLaneTapsPlanes(nil, masks)
		for _, a := range activations {
			if a.goName == "Clip" || a.goName == "HardSwish" {
				emitLaneTapsPlanes(&a, masks)
			}
		}
	}
	TEXT("laneTapsAVX2", NOSPLIT, "func(n int, dst, src *float32, pos, taps *int32, w, bias *float32, ntaps int, accumulate bool)")
	Pragma("noescape")
	Doc("laneTapsAVX2 is the loop of LaneTaps.Sum; see emitLaneTaps in package asmgen.")
	frame := AllocLocal(24)
	nMem, dstMem, posMem := frame.Offset(0), frame.Offset(8), frame.Offset(16)
	for _, p := range []struct {
		name string
		mem  Mem
	}{{"n", nMem}, {"dst", dstMem}, {"pos", posMem}} {
		r := Load(Param(p.name), GP64())
		MOVQ(r, p.mem)
	}
	for _, b := range []int{8, 4, 1} {
		label := fmt.Sprintf("by%d", b)
		Label(label)
		CMPQ(nMem, U8(b))
		JL(LabelRef(label + "done"))
		laneTapsBlock(b, label, dstMem, posMem, planesStore{}, nil)
		ADDQ(U32(32*b), dstMem)
		ADDQ(U32(4*b), posMem)
		SUBQ(U8(b), nMem)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	VZEROUPPER()
	RET()
}

// storeActivation is the activation a laneTapsPlanes loop applies as
// it stores: one of activations, nil for max(v, 0) under the relu flag.
type storeActivation = *struct {
	name, goName string
	f            activation
}

// emitLaneTapsPlanes writes laneTapsPlanesAVX2, or with act its
// variant laneTapsPlanes<act>AVX2, or with laneMasks (the table of
// loopgen.LaneMasks) their AVX512 versions, which end with the last
// positions of n under a mask (see emitLaneTaps).
func emitLaneTapsPlanes(act storeActivation, laneMasks *Mem) {
	level := "AVX2"
	if laneMasks != nil {
		level = "AVX512"
	}
	planes := ""
	if laneMasks != nil {
		planes = ", planes"
	}
	name, sig := "laneTapsPlanes"+level, "func(n int, dst *float32, planeStride"+planes+" int, src *float32, pos, taps *int32, w, bias *float32, ntaps int, relu bool)"
	if act != nil {
		name = "laneTapsPlanes" + act.goName + level
		sig = "func(n int, dst *float32, planeStride" + planes + " int, src *float32, pos, taps *int32, w, bias *float32, ntaps int, a, b float32)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name + " is the loop of LaneTaps.SumPlanes; see emitLaneTaps in package asmgen.")
	frame := AllocLocal(24)
	nMem, dstMem, posMem := frame.Offset(0), frame.Offset(8), frame.Offset(16)
	for _, p := range []struct {
		name string
		mem  Mem
	}{{"n", nMem}, {"dst", dstMem}, {"pos", posMem}} {
		r := Load(Param(p.name), GP64())
		MOVQ(r, p.mem)
	}
	Label("planes")
	CMPQ(nMem, U8(8))
	JL(LabelRef("planesdone"))
	laneTapsBlock(8, "planes", dstMem, posMem, planesStore{planes: true, act: act, some: laneMasks != nil}, nil)
	ADDQ(U32(32), dstMem)
	ADDQ(U32(32), posMem)
	SUBQ(U8(8), nMem)
	JMP(LabelRef("planes"))
	Label("planesdone")
	if laneMasks != nil {
		CMPQ(nMem, U8(0))
		JE(LabelRef("tailsdone"))
		laneTapsBlock(8, "tail", dstMem, posMem, planesStore{planes: true, act: act, laneMasks: laneMasks, some: true}, &nMem)
		Label("tailsdone")
	}
	VZEROUPPER()
	RET()
}

// planesStore says how a block stores its sums: into the lanes of dst
// (planes false), or transposed into the planes of dst, applying act as
// storePlanes does, the positions under the mask of the ones left when
// laneMasks is not nil.
type planesStore struct {
	planes    bool
	act       storeActivation
	laneMasks *Mem
	some      bool // only the first of the planes: the parameter planes
}

// laneTapsBlock emits the sums of b positions at the dst and pos held
// in the frame, stored as st says (b is 8 for planes). With left (the
// count of positions left, fewer than b, held in the frame), the
// positions from the count on take the first one's base.
func laneTapsBlock(b int, label string, dstMem, posMem Mem, st planesStore, left *Mem) {
	planes, act := st.planes, st.act
	// The base of each position: src + 4*pos[i].
	base := make([]reg.GPVirtual, b)
	{
		src := Load(Param("src"), GP64())
		pos := GP64()
		MOVQ(posMem, pos)
		for i := range base {
			base[i] = GP64()
		}
		var count reg.GPVirtual
		if left != nil {
			count = GP64()
			MOVQ(*left, count)
		}
		for i := range base {
			if left != nil && i > 0 {
				CMPQ(count, U8(i))
				JLE(LabelRef(label + "based"))
			}
			MOVLQSX(Mem{Base: pos, Disp: 4 * i}, base[i])
			LEAQ(Mem{Base: src, Index: base[i], Scale: 4}, base[i])
			if left != nil && i == 0 {
				for _, r := range base[1:] {
					MOVQ(base[0], r)
				}
			}
		}
		if left != nil {
			Label(label + "based")
		}
	}
	acc := make([]reg.VecVirtual, b)
	for i := range acc {
		acc[i] = YMM()
	}
	if !planes {
		accumulate := GP8()
		Load(Param("accumulate"), accumulate)
		TESTB(accumulate, accumulate)
		JZ(LabelRef(label + "bias"))
		dst := GP64()
		MOVQ(dstMem, dst)
		for i := range acc {
			VMOVUPS(Mem{Base: dst, Disp: 32 * i}, acc[i])
		}
		JMP(LabelRef(label + "taps"))
	}
	Label(label + "bias")
	{
		bias := Load(Param("bias"), GP64())
		for i := range acc {
			VMOVUPS(Mem{Base: bias}, acc[i])
		}
	}
	Label(label + "taps")
	// u runs from -4*ntaps up to 0: the tap's offset lies at tEnd+u and
	// its weights at wEnd+8u.
	u, tEnd, wEnd := GP64(), GP64(), GP64()
	Load(Param("ntaps"), u)
	Load(Param("taps"), tEnd)
	Load(Param("w"), wEnd)
	LEAQ(Mem{Base: tEnd, Index: u, Scale: 4}, tEnd)
	SHLQ(U8(5), u)
	ADDQ(u, wEnd)
	SARQ(U8(3), u)
	NEGQ(u)
	Label(label + "tap")
	o, wv := GP64(), YMM()
	MOVLQSX(Mem{Base: tEnd, Index: u, Scale: 1}, o)
	VMOVUPS(Mem{Base: wEnd, Index: u, Scale: 8}, wv)
	for i := range acc {
		VFMADD231PS(Mem{Base: base[i], Index: o, Scale: 4}, wv, acc[i])
	}
	ADDQ(U8(4), u)
	JNZ(LabelRef(label + "tap"))
	if planes {
		storePlanes(acc, label, dstMem, act, st.laneMasks, left, st.some)
		return
	}
	dst := GP64()
	MOVQ(dstMem, dst)
	for i := range acc {
		VMOVUPS(acc[i], Mem{Base: dst, Disp: 32 * i})
	}
}

// storePlanes transposes the eight accumulators of a block (one
// position each, a channel a lane) as emitTransposeBias does and stores
// channel l's eight positions at dst + l*planeStride, each after
// max(v, 0) under the relu flag, or act with the parameters a and b;
// with laneMasks, only the first *left of them, under an opmask; with
// some, only the first planes (the parameter) of the eight channels.
func storePlanes(acc []reg.VecVirtual, label string, dstMem Mem, act storeActivation, laneMasks, left *Mem, some bool) {
	t := make([]reg.VecVirtual, 8)
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = YMM(), YMM()
		VUNPCKLPS(acc[i+1], acc[i], t[i])
		VUNPCKHPS(acc[i+1], acc[i], t[i+1])
	}
	u := make([]reg.VecVirtual, 8)
	for h := 0; h < 8; h += 4 {
		for k := 0; k < 2; k++ {
			u[h+2*k], u[h+2*k+1] = YMM(), YMM()
			VSHUFPS(U8(0x44), t[h+2+k], t[h+k], u[h+2*k])
			VSHUFPS(U8(0xee), t[h+2+k], t[h+k], u[h+2*k+1])
		}
	}
	zero := YMM()
	VXORPS(zero, zero, zero)
	var relu reg.GPVirtual
	var a, b reg.VecVirtual
	if act == nil {
		relu = GP8()
		Load(Param("relu"), relu)
	} else {
		a, b = YMM(), YMM()
		VBROADCASTSS(avoparam.Addr("a"), a)
		VBROADCASTSS(avoparam.Addr("b"), b)
	}
	var mask reg.Register
	if laneMasks != nil {
		count, table := GP64(), GP64()
		MOVQ(*left, count)
		LEAQ(*laneMasks, table)
		k := K()
		KMOVW(Mem{Base: table, Index: count, Scale: 2}, k)
		mask = k
	}
	stride := Load(Param("planeStride"), GP64())
	SHLQ(U8(2), stride)
	at := GP64()
	MOVQ(dstMem, at)
	var planes reg.GPVirtual
	if some {
		planes = GP64()
		Load(Param("planes"), planes)
	}
	for j := 0; j < 8; j++ {
		if some && j > 0 {
			CMPQ(planes, U8(j))
			JLE(LabelRef(label + "planesstored"))
		}
		col := YMM()
		imm := U8(0x20)
		if j >= 4 {
			imm = U8(0x31)
		}
		VPERM2F128(imm, u[4+j%4], u[j%4], col)
		VADDPS(zero, col, col)
		if act != nil {
			col = act.f(lanesAVX2, col, a, b)
		} else {
			stored := fmt.Sprintf("%sstore%d", label, j)
			TESTB(relu, relu)
			JZ(LabelRef(stored))
			VMAXPS(col, zero, col)
			Label(stored)
		}
		loopgen.MaskedStore(col, mask, Mem{Base: at})
		if j < 7 {
			ADDQ(stride, at)
		}
	}
	if some {
		Label(label + "planesstored")
	}
}
