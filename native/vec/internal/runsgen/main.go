// Command runsgen writes the amd64 loops of vec.ScaleAddRuns with avo.
// Run it through go generate in native/vec:
//
//	go run ./internal/runsgen -out runs_amd64.s -stubs runs_amd64.go -pkg vec
//
// scaleAddRuns<level> and scaleAddReluRuns<level>, func(runs, width
// int, dst *float32, stride int, src *float32, a, b float32), store
// src[r*width+j]*a + b (a multiplication then an addition, each
// rounded, as vec.ScaleAdd) at dst[r*stride+j] for r < runs and j <
// width, a multiple of the level's lanes (8 for AVX2, 16 for AVX-512);
// the Relu versions store max(v, 0) + 0 (as vec.ScaleAddRelu: the sum
// turns the -0 that VMAXPS keeps into +0 and keeps a NaN). The source
// is read as one contiguous run, a vector at a time; each run of width
// values goes to its own place in dst: a row of a matrix dealt out to
// the column panels of a packed GEMM operand.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// level is one instruction set's vectors.
type level struct {
	name  string // "AVX2" or "AVX512"
	lanes int
	vec   func() reg.VecVirtual
}

func main() {
	for _, l := range []level{{"AVX2", 8, YMM}, {"AVX512", 16, ZMM}} {
		emitRuns(l, false)
		emitRuns(l, true)
	}
	Generate()
}

// emitRuns writes scaleAddRuns<level>, or under relu
// scaleAddReluRuns<level>.
func emitRuns(l level, relu bool) {
	fn, goName := "scaleAddRuns"+l.name, "ScaleAddRuns"
	if relu {
		fn = "scaleAddReluRuns" + l.name
	}
	TEXT(fn, NOSPLIT, "func(runs, width int, dst *float32, stride int, src *float32, a, b float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of %s; see package runsgen.", fn, l.name, goName))
	runs := Load(Param("runs"), GP64())
	width := Load(Param("width"), GP64())
	dst := Load(Param("dst"), GP64())
	stride := Load(Param("stride"), GP64())
	src := Load(Param("src"), GP64())
	SHLQ(U8(2), stride) // in bytes
	av, bv := l.vec(), l.vec()
	VBROADCASTSS(avoparam.Addr("a"), av)
	VBROADCASTSS(avoparam.Addr("b"), bv)
	var zero reg.VecVirtual
	if relu {
		zero = l.vec()
		if l.lanes == 16 {
			VPXORD(zero, zero, zero) // AVX-512F, where VXORPS on ZMM needs DQ
		} else {
			VXORPS(zero, zero, zero)
		}
	}
	Label("run")
	TESTQ(runs, runs)
	JZ(LabelRef("done"))
	j, d := GP64(), GP64()
	MOVQ(width, j)
	MOVQ(dst, d)
	Label("vector")
	x := l.vec()
	VMULPS(Mem{Base: src}, av, x)
	VADDPS(bv, x, x)
	if relu {
		VMAXPS(x, zero, x)
		VADDPS(zero, x, x)
	}
	VMOVUPS(x, Mem{Base: d})
	ADDQ(U32(4*l.lanes), src)
	ADDQ(U32(4*l.lanes), d)
	SUBQ(U32(l.lanes), j)
	JNZ(LabelRef("vector"))
	ADDQ(stride, dst)
	DECQ(runs)
	JMP(LabelRef("run"))
	Label("done")
	VZEROUPPER()
	RET()
}
