// Command arithgen writes the amd64 loops of package vec's float32
// binary arithmetic (Binary, BinaryScalar, ScalarBinary) with avo. Run
// it through go generate in native/vec:
//
//	go run ./internal/arithgen -out arith_amd64.s -stubs arith_amd64.go -pkg vec
//
// For each operation (add, sub, mul, div), each form (two vectors: VV; a
// vector and a scalar: VS; a scalar and a vector: SV) and each width
// (AVX2: 8 lanes, AVX-512: 16) it writes one function that computes n
// elements, n a multiple of the lanes: four vectors per iteration while
// it can, then one. The instructions are IEEE single-precision
// operations, so each element equals Go's float32 result.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// level is one vector width.
type level struct {
	name  string // in function names: "AVX2" or "AVX512"
	width int    // float32 lanes
	vec   func() reg.VecVirtual
}

// operation is one arithmetic instruction: apply(a, b, dst) sets
// dst = b op a, avo's operand order (a may be memory).
type operation struct {
	name, symbol string
	apply        func(a, b, dst Op)
}

func main() {
	levels := []level{{"AVX2", 8, YMM}, {"AVX512", 16, ZMM}}
	operations := []operation{
		{"add", "+", func(a, b, dst Op) { VADDPS(a, b, dst) }},
		{"sub", "-", func(a, b, dst Op) { VSUBPS(a, b, dst) }},
		{"mul", "*", func(a, b, dst Op) { VMULPS(a, b, dst) }},
		{"div", "/", func(a, b, dst Op) { VDIVPS(a, b, dst) }},
	}
	for _, l := range levels {
		for _, op := range operations {
			for _, form := range []string{"VV", "VS", "SV"} {
				if form == "SV" && (op.name == "add" || op.name == "mul") {
					continue // commutative: VS serves
				}
				emit(l, op, form)
			}
		}
	}
	Generate()
}

// emit writes op+form+level: VV(n, dst, x, y) stores x[i] op y[i], VS(n,
// dst, x, y) x[i] op y and SV(n, dst, x, y) x op y[i], for i < n.
func emit(l level, op operation, form string) {
	fn := op.name + form + l.name
	sig := map[string]string{
		"VV": "func(n int, dst, x, y *float32)",
		"VS": "func(n int, dst, x *float32, y float32)",
		"SV": "func(n int, dst *float32, x float32, y *float32)",
	}[form]
	TEXT(fn, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s stores %s in dst[i] for i < n, a multiple of %d; see package arithgen.", fn,
		map[string]string{"VV": "x[i] " + op.symbol + " y[i]", "VS": "x[i] " + op.symbol + " y", "SV": "x " + op.symbol + " y[i]"}[form], l.width))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	// xp and yp walk the vector operands; a scalar is broadcast once.
	var xp, yp reg.Register
	var scalar reg.VecVirtual
	switch form {
	case "VV":
		xp, yp = Load(Param("x"), GP64()), Load(Param("y"), GP64())
	case "VS":
		xp = Load(Param("x"), GP64())
		scalar = l.vec()
		VBROADCASTSS(avoparam.Addr("y"), scalar)
	case "SV":
		yp = Load(Param("y"), GP64())
		scalar = l.vec()
		VBROADCASTSS(avoparam.Addr("x"), scalar)
	}
	bytes := 4 * l.width
	for _, vecs := range []int{4, 1} {
		label := fmt.Sprintf("by%d", vecs)
		Label(label)
		CMPQ(n, U32(l.width*vecs))
		JL(LabelRef(label + "done"))
		for v := 0; v < vecs; v++ {
			r := l.vec()
			switch form {
			case "VV":
				VMOVUPS(Mem{Base: xp, Disp: bytes * v}, r)
				op.apply(Mem{Base: yp, Disp: bytes * v}, r, r)
			case "VS":
				VMOVUPS(Mem{Base: xp, Disp: bytes * v}, r)
				op.apply(scalar, r, r)
			case "SV":
				VMOVUPS(Mem{Base: yp, Disp: bytes * v}, r)
				op.apply(r, scalar, r)
			}
			VMOVUPS(r, Mem{Base: dst, Disp: bytes * v})
		}
		for _, p := range []reg.Register{xp, yp, dst} {
			if p != nil {
				ADDQ(U32(bytes*vecs), p)
			}
		}
		SUBQ(U32(l.width*vecs), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
	VZEROUPPER()
	RET()
}
