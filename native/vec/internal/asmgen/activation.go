package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/internal/avoparam"
)

// The piecewise activations of package vec (vec/activation.go), Relu,
// Clip, LeakyRelu, HardSigmoid, HardSwish, SiLU and ErfGelu, in AVX2 and
// AVX-512.
// Each kernel takes n, a multiple of its lanes, and two parameters a and
// b, broadcast once, and stores f(src[i]) in dst[i] for i < n. They
// compute what the Go loops compute, operation for operation and with
// the same roundings (no fused multiply-adds), so that every level gives
// the same bits.
//
// VMAXPS and VMINPS return their first operand (in Go's order) when
// either is a NaN or both are zeros: with x first, a NaN passes through,
// as does x when it equals the bound.

// activation computes f(x) from x and the broadcast parameters.
type activation func(l lanes, x, a, b reg.VecVirtual) reg.VecVirtual

// activations are the kernels, by the name of their vec function.
var activations = []struct {
	name, goName string
	f            activation
}{
	{"relu", "Relu", func(l lanes, x, _, _ reg.VecVirtual) reg.VecVirtual {
		// max(x, 0) + 0: the sum turns the -0 that VMAXPS keeps into
		// +0, as Go's max(-0, 0) gives, and keeps a NaN.
		zero, y := l.zero(), l.vec()
		VMAXPS(x, zero, y)
		VADDPS(zero, y, y)
		return y
	}},
	{"clip", "Clip", func(l lanes, x, lo, hi reg.VecVirtual) reg.VecVirtual {
		y := l.vec()
		VMAXPS(x, lo, y)
		VMINPS(y, hi, y)
		return y
	}},
	{"leakyRelu", "LeakyRelu", func(l lanes, x, alpha, _ reg.VecVirtual) reg.VecVirtual {
		ax := l.vec()
		VMULPS(alpha, x, ax)
		zero := l.zero()
		if l.width == 16 {
			k := K()
			VCMPPS(U8(1), zero, x, k) // x < 0
			return l.blend(k, ax, x)
		}
		m := YMM()
		VCMPPS(U8(1), zero, x, m)
		return l.blend(m, ax, x)
	}},
	{"hardSigmoid", "HardSigmoid", func(l lanes, x, alpha, beta reg.VecVirtual) reg.VecVirtual {
		return l.hardSigmoid(x, alpha, beta)
	}},
	{"hardSwish", "HardSwish", func(l lanes, x, alpha, beta reg.VecVirtual) reg.VecVirtual {
		h := l.hardSigmoid(x, alpha, beta)
		VMULPS(x, h, h)
		return h
	}},
	{"silu", "SiLU", func(l lanes, x, _, _ reg.VecVirtual) reg.VecVirtual {
		s := l.sigmoid(x)
		VMULPS(x, s, s)
		return s
	}},
	{"erfGelu", "ErfGelu", func(l lanes, x, div, scale reg.VecVirtual) reg.VecVirtual {
		t := l.vec()
		VDIVPS(div, x, t)
		e := l.erf(t)
		VADDPS(l.f(1), e, e)
		VMULPS(x, e, e)
		VMULPS(scale, e, e)
		return e
	}},
}

// hardSigmoid returns max(0, min(1, alpha x + beta)), the product and
// the sum each rounded, a NaN kept.
func (l lanes) hardSigmoid(x, alpha, beta reg.VecVirtual) reg.VecVirtual {
	h := l.vec()
	VMULPS(alpha, x, h)
	VADDPS(beta, h, h)
	VMAXPS(h, l.zero(), h)
	VMINPS(h, l.f(1), h)
	return h
}

// zero returns a vector of zeros (VXORPS on 512 bits needs AVX512DQ).
func (l lanes) zero() reg.VecVirtual {
	z := l.vec()
	if l.width == 16 {
		VPXORD(z, z, z)
	} else {
		VXORPS(z, z, z)
	}
	return z
}

// emitActivations writes the kernels at both widths.
func emitActivations() {
	for _, l := range []lanes{lanesAVX2, lanesAVX512} {
		for _, a := range activations {
			l.emitActivation(a.name, a.goName, a.f)
		}
	}
}

// emitActivation writes NAME+level(n int, dst, src *float32, a, b
// float32), storing f(src[i]) in dst[i] for i < n, a multiple of the
// lanes.
func (l lanes) emitActivation(name, goName string, f activation) {
	fn := name + l.name
	TEXT(fn, NOSPLIT, "func(n int, dst, src *float32, a, b float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of vec's %s; see emitActivations in package asmgen.", fn, l.name, goName))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	a, b := l.vec(), l.vec()
	VBROADCASTSS(avoparam.Addr("a"), a)
	VBROADCASTSS(avoparam.Addr("b"), b)
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	x := l.vec()
	VMOVUPS(Mem{Base: src}, x)
	VMOVUPS(f(l, x, a, b), Mem{Base: dst})
	ADDQ(U32(4*l.width), src)
	ADDQ(U32(4*l.width), dst)
	SUBQ(U32(l.width), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}
