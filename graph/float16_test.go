package graph

import (
	"math"
	"math/rand"
	"testing"
)

// The reference decodes a 16-bit pattern with float64 arithmetic from its
// fields: (-1)^s × 2^(e-bias) × (1 + m/2^mbits), or 2^(1-bias) × m/2^mbits
// for subnormals.
func refDecode(h uint16, expBits, mantBits uint, bias int) float64 {
	sign := 1.0
	if h>>15 == 1 {
		sign = -1
	}
	e := int(h>>mantBits) & (1<<expBits - 1)
	m := float64(h & (1<<mantBits - 1))
	frac := m / float64(uint(1)<<mantBits)
	switch {
	case e == 1<<expBits-1 && m == 0:
		return math.Copysign(math.Inf(1), sign)
	case e == 1<<expBits-1:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(frac, 1-bias)
	}
	return sign * math.Ldexp(1+frac, e-bias)
}

// refRound rounds x to the nearest value with mantBits fraction bits and
// minimum normal exponent 1-bias, ties to even, with float64 arithmetic;
// results at or above 2^(maxExp+1) become infinities.
func refRound(x float64, mantBits uint, bias, maxExp int) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	_, exp := math.Frexp(math.Abs(x)) // |x| = f × 2^exp, f in [0.5, 1)
	e := max(exp-1, 1-bias)
	q := math.Ldexp(1, e-int(mantBits))
	r := math.RoundToEven(x/q) * q
	if math.Abs(r) >= math.Ldexp(1, maxExp+1) {
		return math.Copysign(math.Inf(1), x)
	}
	return r
}

type format16 struct {
	name         string
	expBits      uint
	mantBits     uint
	bias, maxExp int
	toBits       func(float32) uint16
	fromBits     func(uint16) float32
}

var formats16 = []format16{
	{"float16", 5, 10, 15, 15, Float16Bits, Float16FromBits},
	{"bfloat16", 8, 7, 127, 127, BFloat16Bits, BFloat16FromBits},
}

func TestFloat16AllPatterns(t *testing.T) {
	for _, f := range formats16 {
		t.Run(f.name, func(t *testing.T) {
			bad := 0
			for i := range 1 << 16 {
				h := uint16(i)
				want := refDecode(h, f.expBits, f.mantBits, f.bias)
				got := f.fromBits(h)
				if math.IsNaN(want) {
					if !math.IsNaN(float64(got)) {
						t.Errorf("%#04x: decoded %v, want NaN", h, got)
					}
					if back := f.toBits(got); back&0x7fff <= 0x7fff>>f.mantBits<<f.mantBits || back>>15 != h>>15 {
						t.Errorf("%#04x: NaN re-encoded as %#04x, not a NaN of the same sign", h, back)
					}
					continue
				}
				if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
					if bad++; bad < 5 {
						t.Errorf("%#04x: decoded %v, want %v", h, got, want)
					}
				}
				if back := f.toBits(got); back != h {
					if bad++; bad < 5 {
						t.Errorf("%#04x: round trip gave %#04x", h, back)
					}
				}
			}
		})
	}
}

// TestFloat16Rounding checks encoding at every midpoint between adjacent
// values (where ties to even decides), just beside each midpoint, and on
// seeded random float32 values, against the float64 reference rounding.
func TestFloat16Rounding(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	for _, f := range formats16 {
		t.Run(f.name, func(t *testing.T) {
			var inputs []float32
			for i := range 1<<15 - 1 {
				a := refDecode(uint16(i), f.expBits, f.mantBits, f.bias)
				b := refDecode(uint16(i+1), f.expBits, f.mantBits, f.bias)
				if math.IsNaN(b) {
					break
				}
				if math.IsInf(b, 0) { // the point halfway to the next power of two
					b = math.Ldexp(1, f.maxExp+1)
				}
				mid := float32((a + b) / 2) // exact: one more bit than the format
				for _, x := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, float32(math.Inf(1)))} {
					inputs = append(inputs, x, -x)
				}
			}
			for range 200000 {
				inputs = append(inputs, math.Float32frombits(rng.Uint32()))
			}
			bad := 0
			for _, x := range inputs {
				if math.IsNaN(float64(x)) {
					continue
				}
				want := refRound(float64(x), f.mantBits, f.bias, f.maxExp)
				got := float64(f.fromBits(f.toBits(x)))
				if got != want || math.Signbit(got) != math.Signbit(want) {
					if bad++; bad <= 5 {
						t.Errorf("%v (%#08x): encoded to %v, want %v", x, math.Float32bits(x), got, want)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d inputs rounded wrongly", bad, len(inputs))
			}
		})
	}
}
