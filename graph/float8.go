package graph

import (
	"fmt"
	"math"
)

// The small floats: the four 8-bit formats of ONNX IR 9 (Float8E4M3FN,
// Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ), Float4E2M1 (IR 11) and
// Float8E8M0 (IR 12). Tensors hold them as bit patterns, one a byte.
//
//	format     bias  largest finite  infinity  NaN                    -0
//	E4M3FN     7     448  (0x7E)     none      0x7F, 0xFF             0x80
//	E4M3FNUZ   8     240  (0x7F)     none      0x80                   none
//	E5M2       15    57344 (0x7B)    0x7C      0x7D-0x7F (and signed) 0x80
//	E5M2FNUZ   16    57344 (0x7F)    none      0x80                   none
//	E2M1       1     6    (0x7)      none      none                   0x8
//	E8M0       127   2^127 (0xFE)    none      0xFF                   none (no sign)
//
// Conversion from a wider float rounds to nearest, ties to even, as the
// ONNX Cast operator specifies. With saturate, infinities and values
// beyond the largest finite become the largest finite of their sign;
// without, they become infinity (E5M2) or NaN (the others), the
// non-saturating rules of Cast. NaN stays NaN (E2M1, which has none,
// gives 0x8, as the ONNX reference implementation does). FNUZ formats
// have no negative zero: -0 and negative values that round to zero give
// 0x00. Float8E8M0 has its own conversion, E8M0Bits.

// smallFloat describes one of the sign-exponent-mantissa formats.
type smallFloat struct {
	mantBits int
	bias     int
	signBit  uint8
	maxBits  uint8   // the largest finite value's pattern, sign clear
	max      float64 // its value
	hasInf   bool    // 0x7C is infinity (E5M2)
	hasNaN   bool
	fnuz     bool  // 0x80 is the only NaN; no negative zero
	nanBits  uint8 // the NaN produced, sign clear (unused when fnuz)
}

var (
	e4m3fn   = smallFloat{mantBits: 3, bias: 7, signBit: 0x80, maxBits: 0x7E, max: 448, hasNaN: true, nanBits: 0x7F}
	e4m3fnuz = smallFloat{mantBits: 3, bias: 8, signBit: 0x80, maxBits: 0x7F, max: 240, hasNaN: true, fnuz: true}
	e5m2     = smallFloat{mantBits: 2, bias: 15, signBit: 0x80, maxBits: 0x7B, max: 57344, hasInf: true, hasNaN: true, nanBits: 0x7E}
	e5m2fnuz = smallFloat{mantBits: 2, bias: 16, signBit: 0x80, maxBits: 0x7F, max: 57344, hasNaN: true, fnuz: true}
	e2m1     = smallFloat{mantBits: 1, bias: 1, signBit: 0x08, maxBits: 0x07, max: 6}
)

func smallFloatFormat(d DType) *smallFloat {
	switch d {
	case Float8E4M3FN:
		return &e4m3fn
	case Float8E4M3FNUZ:
		return &e4m3fnuz
	case Float8E5M2:
		return &e5m2
	case Float8E5M2FNUZ:
		return &e5m2fnuz
	case Float4E2M1:
		return &e2m1
	}
	return nil
}

// IsSmallFloat reports whether d is one of the floats held as a bit
// pattern in a byte: the 8-bit floats, Float8E8M0 and Float4E2M1.
func (d DType) IsSmallFloat() bool {
	return d == Float8E8M0 || smallFloatFormat(d) != nil
}

// SmallFloatValue returns the value of bit pattern b of the small float
// type d (see IsSmallFloat), which float32 holds exactly. It panics if d
// is not a small float.
func SmallFloatValue(d DType, b uint8) float32 {
	if d == Float8E8M0 {
		if b == 0xFF {
			return float32(math.NaN())
		}
		return float32(math.Ldexp(1, int(b)-127))
	}
	f := smallFloatFormat(d)
	if f == nil {
		panic(fmt.Sprintf("graph: SmallFloatValue of %v", d))
	}
	return float32(f.value(b))
}

func (f *smallFloat) value(b uint8) float64 {
	neg := b&f.signBit != 0
	mag := b &^ f.signBit
	switch {
	case f.fnuz && b == 0x80:
		return math.NaN()
	case f.hasInf && mag == 0x7C:
		if neg {
			return math.Inf(-1)
		}
		return math.Inf(1)
	case f.hasNaN && !f.fnuz && mag > f.maxBits:
		return math.NaN()
	}
	exp := int(mag >> f.mantBits)
	mant := int(mag & (1<<f.mantBits - 1))
	var v float64
	if exp == 0 {
		v = math.Ldexp(float64(mant), 1-f.bias-f.mantBits)
	} else {
		v = math.Ldexp(float64(mant|1<<f.mantBits), exp-f.bias-f.mantBits)
	}
	if neg {
		v = -v
	}
	return v
}

// SmallFloatBits returns the bit pattern of v rounded to the small float
// type d, to nearest with ties to even, with the saturate rules of Cast
// (see the table above). For Float8E8M0 it is E8M0Bits with RoundUp, the
// default of Cast. It panics if d is not a small float.
func SmallFloatBits(d DType, v float64, saturate bool) uint8 {
	if d == Float8E8M0 {
		return E8M0Bits(float32(v), saturate, RoundUp)
	}
	f := smallFloatFormat(d)
	if f == nil {
		panic(fmt.Sprintf("graph: SmallFloatBits of %v", d))
	}
	return f.bits(v, saturate)
}

func (f *smallFloat) bits(v float64, saturate bool) uint8 {
	var sign uint8
	if math.Signbit(v) {
		sign = f.signBit
	}
	if math.IsNaN(v) {
		switch {
		case !f.hasNaN:
			return f.signBit
		case f.fnuz:
			return 0x80
		}
		return sign | f.nanBits
	}
	a := math.Abs(v)
	if !math.IsInf(a, 1) {
		// Round to the format's precision at a's exponent (no smaller
		// than the least normal one, so subnormals round in place).
		_, e := math.Frexp(a)
		exp := max(e-1, 1-f.bias)
		quantum := math.Ldexp(1, exp-f.mantBits)
		a = math.RoundToEven(a/quantum) * quantum
	}
	switch {
	case a == 0:
		if f.fnuz {
			return 0
		}
		return sign
	case a <= f.max:
	case saturate || !f.hasNaN:
		return sign | f.maxBits
	case f.hasInf:
		return sign | 0x7C
	case f.fnuz:
		return 0x80
	default:
		return sign | f.nanBits
	}
	_, e := math.Frexp(a)
	exp := e - 1
	if exp < 1-f.bias { // subnormal
		return sign | uint8(math.Ldexp(a, f.bias-1+f.mantBits))
	}
	mant := uint8(math.Ldexp(a, f.mantBits-exp)) &^ (1 << f.mantBits)
	return sign | uint8(exp+f.bias)<<f.mantBits | mant
}

// E8M0Rounding is how a float rounds to Float8E8M0, a power of two: the
// round_mode attribute of Cast (opset 24).
type E8M0Rounding int

// The rounding modes of round_mode.
const (
	// RoundUp ("up", the default) rounds any value that is not a power of
	// two up to the next one.
	RoundUp E8M0Rounding = iota
	// RoundDown ("down") drops the mantissa: the power of two at or below.
	RoundDown
	// RoundNearest ("nearest") rounds to the nearer power of two, a tie
	// (1.5 times a power of two) up.
	RoundNearest
)

// ParseE8M0Rounding decodes a round_mode attribute value.
func ParseE8M0Rounding(s string) (E8M0Rounding, error) {
	switch s {
	case "up":
		return RoundUp, nil
	case "down":
		return RoundDown, nil
	case "nearest":
		return RoundNearest, nil
	}
	return 0, fmt.Errorf("round_mode %q is not up, down or nearest", s)
}

// E8M0Bits converts v to Float8E8M0 as the ONNX reference does: from the
// exponent field of v's float32 bits, rounded by the mantissa field
// according to mode, its sign ignored (negative values are undefined in
// the specification). NaN and infinities give 0xFF (NaN). Rounding up
// past 2^127 gives 0xFF too, unless saturate keeps 0xFE. Zero and
// float32 subnormals have exponent field 0, 2^-127, unless they round up
// (so 2^-127 itself, a subnormal with a nonzero mantissa field, rounds up
// to 2^-126 under RoundUp, as in the reference).
func E8M0Bits(v float32, saturate bool, mode E8M0Rounding) uint8 {
	b := math.Float32bits(v)
	exp := b >> 23 & 0xFF
	if exp == 0xFF {
		return 0xFF
	}
	var up bool
	switch mode {
	case RoundUp:
		up = b&0x7FFFFF != 0
	case RoundNearest:
		half := b&0x400000 != 0
		rest := b&0x3FFFFF != 0
		up = half && (rest || exp > 0)
	}
	if up && !(saturate && exp == 0xFE) {
		exp++
	}
	return uint8(exp)
}
