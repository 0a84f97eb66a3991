// Command panelsgen writes the amd64 loops of vec.ScaleAddPanels with
// avo. Run it through go generate in native/vec:
//
//	go run ./internal/panelsgen -out panels_amd64.s -stubs panels_amd64.go -pkg vec
//
// scaleAddPanels<level> and scaleAddReluPanels<level>, func(k, runs,
// tail, panel int, dst *float32, stride int, src *float32, ld int,
// scale, shift *float32), store for each row q < k the runs*panel+tail
// values from src[q*ld:], each mapped to v*scale[q] + shift[q] (a
// multiplication then an addition, each rounded, as vec.ScaleAdd), in
// runs of panel (a multiple of the level's lanes: 8 for AVX2, 16 for
// AVX-512) at dst[r*stride+q*panel:], and, when tail is not 0, the last
// tail values at dst[runs*stride+q*panel:], the rest of that panel's
// row zero. The Relu versions store max(v, 0) + 0 (as vec.ScaleAddRelu:
// the sum turns the -0 that VMAXPS keeps into +0 and keeps a NaN). The
// last values are read through masks, which touch nothing past them:
// a matrix normalized row by row as it is packed into the column panels
// of a GEMM operand, in one call.
//
// scalePanels<level>, of the same signature, stores v*scale[q] alone
// (the product rounded, as vec.Scale; shift is not read): a matrix
// scaled row by row, the input channels of a 1x1 convolution read
// through a squeeze-and-excitation gate.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/vec/internal/loopgen"
)

// level is one instruction set's vectors.
type level struct {
	name  string // "AVX2" or "AVX512"
	lanes int
	vec   func() reg.VecVirtual
}

func main() {
	tailMasks := loopgen.TailMasks("panelTailMasks")
	laneMasks := loopgen.LaneMasks("panelLaneMasks")
	for _, l := range []level{{"AVX2", 8, YMM}, {"AVX512", 16, ZMM}} {
		for _, m := range []mapping{scaleAdd, scaleAddRelu, scaleOnly} {
			emitPanels(l, m, tailMasks, laneMasks)
		}
	}
	Generate()
}

// mapping is the map of each value a loop stores.
type mapping int

const (
	scaleAdd     mapping = iota // v*scale[q] + shift[q]
	scaleAddRelu                // max(v*scale[q] + shift[q], 0) + 0
	scaleOnly                   // v*scale[q]
)

// emitPanels writes scaleAddPanels<level>, scaleAddReluPanels<level> or
// scalePanels<level>, as m says.
func emitPanels(l level, m mapping, tailMasks, laneMasks Mem) {
	fn, goName := "scaleAddPanels"+l.name, "ScaleAddPanels"
	switch m {
	case scaleAddRelu:
		fn = "scaleAddReluPanels" + l.name
	case scaleOnly:
		fn, goName = "scalePanels"+l.name, "ScalePanels"
	}
	relu := m == scaleAddRelu
	TEXT(fn, NOSPLIT, "func(k, runs, tail, panel int, dst *float32, stride int, src *float32, ld int, scale, shift *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of %s; see package panelsgen.", fn, l.name, goName))
	k := Load(Param("k"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	scale := Load(Param("scale"), GP64())
	var shift reg.Register
	if m != scaleOnly {
		shift = Load(Param("shift"), GP64())
	}
	var zero reg.VecVirtual
	if relu {
		zero = l.vec()
		if l.lanes == 16 {
			VPXORD(zero, zero, zero) // AVX-512F, where VXORPS on ZMM needs DQ
		} else {
			VXORPS(zero, zero, zero)
		}
	}
	// mapped returns the map of x (in place).
	mapped := func(x, av, bv reg.VecVirtual) {
		VMULPS(x, av, x)
		if m == scaleOnly {
			return
		}
		VADDPS(bv, x, x)
		if relu {
			VMAXPS(x, zero, x)
			VADDPS(zero, x, x)
		}
	}
	Label("row")
	TESTQ(k, k)
	JZ(LabelRef("done"))
	av := l.vec()
	VBROADCASTSS(Mem{Base: scale}, av)
	var bv reg.VecVirtual
	if m != scaleOnly {
		bv = l.vec()
		VBROADCASTSS(Mem{Base: shift}, bv)
	}
	s, d, panelEnd, runs := GP64(), GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	Load(Param("runs"), runs)
	// The whole panels.
	Label("panel")
	TESTQ(runs, runs)
	JZ(LabelRef("tail"))
	Load(Param("panel"), panelEnd)
	SHLQ(U8(2), panelEnd)
	ADDQ(d, panelEnd)
	at := GP64()
	MOVQ(d, at)
	Label("vector")
	x := l.vec()
	VMOVUPS(Mem{Base: s}, x)
	mapped(x, av, bv)
	VMOVUPS(x, Mem{Base: at})
	ADDQ(U32(4*l.lanes), s)
	ADDQ(U32(4*l.lanes), at)
	CMPQ(at, panelEnd)
	JL(LabelRef("vector"))
	stride := GP64()
	Load(Param("stride"), stride)
	LEAQ(Mem{Base: d, Index: stride, Scale: 4}, d)
	DECQ(runs)
	JMP(LabelRef("panel"))
	// The last panel: its first tail values, then zeros, a vector at a
	// time, each through the mask of its values (none past the tail).
	Label("tail")
	left := GP64()
	Load(Param("tail"), left)
	TESTQ(left, left)
	JZ(LabelRef("next"))
	Load(Param("panel"), panelEnd)
	SHLQ(U8(2), panelEnd)
	ADDQ(d, panelEnd)
	Label("tailvector")
	count := GP64()
	MOVQ(U32(l.lanes), count)
	CMPQ(left, count)
	CMOVQLT(left, count)
	y := l.vec()
	if l.lanes == 16 {
		mask, table := K(), GP64()
		LEAQ(laneMasks, table)
		KMOVW(Mem{Base: table, Index: count, Scale: 2}, mask)
		VMOVUPS_Z(Mem{Base: s}, mask, y)
		mapped(y, av, bv)
		VMOVUPS_Z(y, mask, y)
	} else {
		table, mask := GP64(), YMM()
		LEAQ(tailMasks.Offset(32), table)
		SHLQ(U8(2), count)
		SUBQ(count, table)
		SHRQ(U8(2), count)
		VMOVUPS(Mem{Base: table}, mask)
		VMASKMOVPS(Mem{Base: s}, mask, y)
		mapped(y, av, bv)
		VANDPS(mask, y, y)
	}
	VMOVUPS(y, Mem{Base: d})
	LEAQ(Mem{Base: s, Index: count, Scale: 4}, s)
	SUBQ(count, left)
	ADDQ(U32(4*l.lanes), d)
	CMPQ(d, panelEnd)
	JL(LabelRef("tailvector"))
	// The next row.
	Label("next")
	ld := GP64()
	Load(Param("ld"), ld)
	LEAQ(Mem{Base: src, Index: ld, Scale: 4}, src)
	Load(Param("panel"), ld)
	LEAQ(Mem{Base: dst, Index: ld, Scale: 4}, dst)
	ADDQ(U8(4), scale)
	if m != scaleOnly {
		ADDQ(U8(4), shift)
	}
	DECQ(k)
	JMP(LabelRef("row"))
	Label("done")
	VZEROUPPER()
	RET()
}
