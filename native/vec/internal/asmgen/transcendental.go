package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/onnxkit/onnxkit/native/vec/internal/coeffs"
)

// The transcendental slice kernels of package vec, Exp, Sigmoid, Tanh,
// Erf and Gelu, in AVX2 (8 lanes) and AVX-512 (16 lanes): the same reductions
// and polynomials as the Go loops of vec/transcendental.go (constants
// from package coeffs) with fused multiply-adds, each branch of the Go
// code computed for every lane and the lanes' results chosen by
// comparison masks. Each function takes n, a multiple of its lanes, and
// stores f(src[i]) in dst[i] for i < n.

// lanes abstracts what differs between AVX2 and AVX-512 in these
// kernels: the vector registers, the bitwise instructions (AVX-512F has
// only the integer forms) and the masks of comparisons (vectors with
// VBLENDVPS, opmask registers with VBLENDMPS).
type lanes struct {
	name  string // the level in function names: "AVX2" or "AVX512"
	width int    // float32 lanes
	vec   func() reg.VecVirtual
}

var (
	lanesAVX2   = lanes{name: "AVX2", width: 8, vec: YMM}
	lanesAVX512 = lanes{name: "AVX512", width: 16, vec: ZMM}
)

// constants holds the RODATA symbols of the broadcast constants, by
// their bits.
var constants = map[uint32]Mem{}

// constant returns the memory of a 4-byte constant with the given bits,
// written the first time it is asked for.
func constant(bits uint32) Mem {
	if m, ok := constants[bits]; ok {
		return m
	}
	m := GLOBL(fmt.Sprintf("transcendental%08x", bits), RODATA|NOPTR)
	DATA(0, U32(bits))
	constants[bits] = m
	return m
}

// f returns a vector with c in every lane.
func (l lanes) f(c float64) reg.VecVirtual {
	v := l.vec()
	VBROADCASTSS(constant(math.Float32bits(float32(c))), v)
	return v
}

// i returns a vector with the int32 bits in every lane.
func (l lanes) i(bits uint32) reg.VecVirtual {
	v := l.vec()
	VPBROADCASTD(constant(bits), v)
	return v
}

// and stores a & b in dst.
func (l lanes) and(a, b, dst reg.VecVirtual) {
	if l.width == 16 {
		VPANDD(a, b, dst)
	} else {
		VANDPS(a, b, dst)
	}
}

// or stores a | b in dst.
func (l lanes) or(a, b, dst reg.VecVirtual) {
	if l.width == 16 {
		VPORD(a, b, dst)
	} else {
		VORPS(a, b, dst)
	}
}

// less returns the mask of the lanes where a < c (false for NaNs).
func (l lanes) less(a reg.VecVirtual, c float64) reg.Register {
	if l.width == 16 {
		k := K()
		VCMPPS(U8(1), l.f(c), a, k)
		return k
	}
	m := YMM()
	VCMPPS(U8(1), l.f(c), a, m)
	return m
}

// negative returns the mask of the lanes whose sign bit is set (AVX2)
// or that are below zero (AVX-512; -0 is the one difference, and the
// kernels give it the same result either way).
func (l lanes) negative(a reg.VecVirtual) reg.Register {
	if l.width == 16 {
		return l.less(a, 0)
	}
	return a
}

// blend returns a vector holding yes in the lanes of mask and no in the
// others.
func (l lanes) blend(mask reg.Register, yes, no reg.VecVirtual) reg.VecVirtual {
	dst := l.vec()
	if l.width == 16 {
		VBLENDMPS(yes, no, mask, dst)
	} else {
		VBLENDVPS(mask, yes, no, dst)
	}
	return dst
}

// fma stores p*x + c in p, the constant c broadcast from memory inside
// the instruction with AVX-512 (fewer instructions in flight per
// block), from a register with AVX2.
func (l lanes) fma(c float64, x, p reg.VecVirtual) {
	if l.width == 16 {
		VFMADD213PS_BCST(constant(math.Float32bits(float32(c))), x, p)
		return
	}
	VFMADD213PS(l.f(c), x, p)
}

// horner returns c[0] x^(k-1) + ... + c[k-1], by fused multiply-adds.
func (l lanes) horner(x reg.VecVirtual, c ...float64) reg.VecVirtual {
	p := l.f(c[0])
	for _, ci := range c[1:] {
		l.fma(ci, x, p)
	}
	return p
}

// abs returns |x| and the sign bits of x.
func (l lanes) abs(x reg.VecVirtual) (a, sign reg.VecVirtual) {
	a, sign = l.vec(), l.vec()
	l.and(l.i(0x7fffffff), x, a)
	l.and(l.i(0x80000000), x, sign)
	return a, sign
}

// exp returns e^x: x clamped to [-104, 89] (a NaN kept: VMAXPS and
// VMINPS return their first operand here when either is a NaN), where
// the results are 0 and +Inf, n = round(x log2 e), r = x - n ln2 in two
// steps, e^r by the polynomial, and 2^n as two factors 2^(n>>1) and
// 2^(n - n>>1), each a normal float32, for the subnormal results. With
// AVX-512, n is rounded in place (VRNDSCALEPS) and e^r scaled by 2^n in
// one step (VSCALEFPS), with one rounding as the two factors give: the
// same results in 11 fewer instructions of about 30 (softmax's
// exponentials took 1.4x less time on Zen 4).
func (l lanes) exp(x reg.VecVirtual) reg.VecVirtual {
	t := l.vec()
	VMAXPS(x, l.f(-104), t)
	VMINPS(t, l.f(89), t)
	n, nf := l.vec(), l.vec()
	VMULPS(l.f(coeffs.Log2E), t, nf)
	if l.width == 16 {
		VRNDSCALEPS(U8(0), nf, nf) // to nearest even, as VCVTPS2DQ
	} else {
		VCVTPS2DQ(nf, n)
		VCVTDQ2PS(n, nf)
	}
	VFNMADD231PS(l.f(coeffs.Ln2Hi), nf, t) // t -= n ln2Hi
	VFNMADD231PS(l.f(coeffs.Ln2Lo), nf, t) // t -= n ln2Lo: r
	p := l.horner(t, coeffs.ExpPoly0, coeffs.ExpPoly1, coeffs.ExpPoly2, coeffs.ExpPoly3, coeffs.ExpPoly4, coeffs.ExpPoly5)
	r2 := l.vec()
	VMULPS(t, t, r2)
	VFMADD213PS(t, r2, p) // p r² + r
	VADDPS(l.f(1), p, p)
	if l.width == 16 {
		VSCALEFPS(nf, p, p) // p 2^n
		return p
	}
	half := l.vec()
	VPSRAD(U8(1), n, half)
	VPSUBD(half, n, n)
	bias := l.i(127)
	VPADDD(bias, half, half)
	VPADDD(bias, n, n)
	VPSLLD(U8(23), half, half)
	VPSLLD(U8(23), n, n)
	VMULPS(half, p, p)
	VMULPS(n, p, p)
	return p
}

// sigmoid returns 1/(1 + e^-x) as num/(1 + e^-|x|), num 1 for x ≥ 0 and
// e^-|x| below.
func (l lanes) sigmoid(x reg.VecVirtual) reg.VecVirtual {
	na := l.vec()
	l.or(l.i(0x80000000), x, na)
	e := l.exp(na)
	one, d := l.f(1), l.vec()
	VADDPS(one, e, d)
	num := l.blend(l.negative(x), e, one)
	VDIVPS(d, num, num)
	return num
}

// tanh returns tanh x: the odd polynomial below 0.625, else 1 - 2/(e^2|x|
// + 1) with x's sign (1 from where e^2|x| overflows).
func (l lanes) tanh(x reg.VecVirtual) reg.VecVirtual {
	a, sign := l.abs(x)
	z := l.vec()
	VMULPS(x, x, z)
	small := l.horner(z, coeffs.TanhPoly0, coeffs.TanhPoly1, coeffs.TanhPoly2, coeffs.TanhPoly3, coeffs.TanhPoly4)
	VMULPS(z, small, small)
	VFMADD213PS(x, x, small) // small x + x
	isSmall := l.less(a, coeffs.TanhSmall)
	a2 := l.vec()
	VADDPS(a, a, a2)
	e := l.exp(a2)
	VADDPS(l.f(1), e, e)
	VDIVPS(e, l.f(2), e)
	big := l.vec()
	VSUBPS(e, l.f(1), big)
	l.or(sign, big, big)
	return l.blend(isSmall, small, big)
}

// erfTableMems holds the RODATA tables of erf's pieces once written:
// the centers, the multiples of |x|, then the coefficients of t^0 ...
// t^ErfDegree.
var erfTableMems []Mem

// erfTables returns the tables of package coeffs' erf pieces, each 16
// float32 (the pieces repeated: AVX-512's permute reads 16 entries,
// AVX2's the first 8), written the first time they are asked for.
func erfTables() (centers, linear Mem, powers []Mem) {
	if erfTableMems == nil {
		rows := [][coeffs.ErfPieces]float32{coeffs.ErfCenters, coeffs.ErfLinear}
		rows = append(rows, coeffs.ErfCoeffs[:]...)
		for r, row := range rows {
			m := GLOBL(fmt.Sprintf("erfTable%d", r), RODATA|NOPTR)
			for k := range 16 {
				DATA(4*k, U32(math.Float32bits(row[k%coeffs.ErfPieces])))
			}
			erfTableMems = append(erfTableMems, m)
		}
	}
	return erfTableMems[0], erfTableMems[1], erfTableMems[2:]
}

// erf returns erf x as erf32 does: |x| clamped to ErfMax (a NaN kept:
// VMINPS returns its first operand here when either is a NaN), its
// piece's center and coefficients gathered from the tables by one
// permute each, the polynomial in t = |x| - center by fused
// multiply-adds, plus the piece's multiple of |x|, and x's sign put back. A NaN's piece index (0x80000000
// from the conversion) reads piece 0, and t is a NaN.
func (l lanes) erf(x reg.VecVirtual) reg.VecVirtual {
	centers, linear, powers := erfTables()
	a, sign := l.abs(x)
	VMINPS(a, l.f(coeffs.ErfMax), a)
	idx := l.vec()
	VMULPS(l.f(1/coeffs.ErfPieceWidth), a, idx)
	VCVTTPS2DQ(idx, idx)
	t := l.vec()
	VPERMPS(centers, idx, t)
	VSUBPS(t, a, t)
	p := l.vec()
	VPERMPS(powers[coeffs.ErfDegree], idx, p)
	for j := coeffs.ErfDegree - 1; j >= 0; j-- {
		c := l.vec()
		VPERMPS(powers[j], idx, c)
		VFMADD213PS(c, t, p) // p t + c
	}
	VPERMPS(linear, idx, t)
	VFMADD231PS(a, t, p) // p + linear |x|
	l.or(sign, p, p)
	return p
}

// gelu returns x Φ(x) = 0.5 x (1 + erf(x/√2)), as vec's Gelu.
func (l lanes) gelu(x reg.VecVirtual) reg.VecVirtual {
	t := l.vec()
	VMULPS(l.f(math.Sqrt2/2), x, t)
	e := l.erf(t)
	VADDPS(l.f(1), e, e)
	VMULPS(x, e, e)
	VMULPS(l.f(0.5), e, e)
	return e
}

// emitTranscendentals writes the kernels at both widths.
func emitTranscendentals() {
	for _, l := range []lanes{lanesAVX2, lanesAVX512} {
		l.emitSliceKernel("exp", l.exp)
		l.emitSliceKernel("sigmoid", l.sigmoid)
		l.emitSliceKernel("tanh", l.tanh)
		l.emitSliceKernel("erf", l.erf)
		l.emitSliceKernel("gelu", l.gelu)
		l.emitExpShiftSum()
	}
	emitSoftmaxAVX512()
	emitLaneMax()
}

// emitSliceKernel writes NAME+level(n int, dst, src *float32), storing
// f(src[i]) in dst[i] for i < n, a multiple of the lanes.
func (l lanes) emitSliceKernel(name string, f func(reg.VecVirtual) reg.VecVirtual) {
	fn := name + l.name
	TEXT(fn, NOSPLIT, "func(n int, dst, src *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s loop of vec's %s; see emitTranscendentals in package asmgen.", fn, l.name, string(name[0]-'a'+'A')+name[1:]))
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	x := l.vec()
	VMOVUPS(Mem{Base: src}, x)
	VMOVUPS(f(x), Mem{Base: dst})
	ADDQ(U32(4*l.width), src)
	ADDQ(U32(4*l.width), dst)
	SUBQ(U32(l.width), n)
	JMP(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}
