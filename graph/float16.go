package graph

import "math"

// Float16Bits returns the IEEE 754 binary16 bit pattern nearest to f,
// rounding ties to even. Values too large for float16 become infinities,
// values too small become signed zeros or subnormals, and a NaN stays a
// quiet NaN that keeps the top bits of its payload.
func Float16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	// e is the biased binary16 exponent of f before rounding.
	e := exp - 127 + 15
	switch {
	case e >= 31:
		return sign | 0x7c00
	case e <= 0:
		// A subnormal result counts in units of 2^-24. With the implicit
		// bit, f = m × 2^(e-14) units, so it is m shifted right by 14-e.
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++ // may carry into the smallest normal, 0x0400, which is right
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry out of the mantissa bumps the exponent, up to infinity
	}
	return sign | uint16(h)
}

// Float16FromBits returns the float32 value of the binary16 bit pattern h.
// Every float16 value is exactly representable as a float32.
func Float16FromBits(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		v := float32(mant) * (1.0 / (1 << 24)) // subnormal: mant × 2^-24
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// BFloat16Bits returns the bfloat16 bit pattern nearest to f (the top 16
// bits of a float32 after rounding ties to even). A NaN stays a quiet NaN.
func BFloat16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BFloat16FromBits returns the float32 value of the bfloat16 bit pattern h.
func BFloat16FromBits(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
