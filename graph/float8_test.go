package graph

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestSmallFloatTable checks every code's value, and the rounding of
// ties, near-ties, overflows, specials and random values, against
// testdata/smallfloat.txt, which gen_smallfloat.py computes from the
// format definitions by exhaustive search (see its doc).
func TestSmallFloatTable(t *testing.T) {
	f, err := os.Open("testdata/smallfloat.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byName := map[string]DType{}
	for d := Float8E4M3FN; d <= Int2; d++ {
		byName[d.String()] = d
	}
	hex := func(s string) uint64 {
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("bad fixture number %q", s)
		}
		return v
	}
	counts := map[string]int{}
	bad := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		counts[fl[0]]++
		switch fl[0] {
		case "decode":
			d, code, want := byName[fl[1]], uint8(hex(fl[2])), math.Float32frombits(uint32(hex(fl[3])))
			got := SmallFloatValue(d, code)
			if math.Float32bits(got) != math.Float32bits(want) && !(isNaN32(got) && isNaN32(want)) {
				bad++
				t.Errorf("%v code %#02x = %v, want %v", d, code, got, want)
			}
		case "encode":
			d, sat, x, want := byName[fl[1]], fl[2] == "1", math.Float32frombits(uint32(hex(fl[3]))), uint8(hex(fl[4]))
			if got := SmallFloatBits(d, float64(x), sat); got != want {
				bad++
				t.Errorf("%v saturate=%v: %v (%#08x) -> %#02x, want %#02x", d, sat, x, math.Float32bits(x), got, want)
			}
		case "e8m0":
			mode, err := ParseE8M0Rounding(fl[1])
			if err != nil {
				t.Fatal(err)
			}
			sat, x, want := fl[2] == "1", math.Float32frombits(uint32(hex(fl[3]))), uint8(hex(fl[4]))
			if got := E8M0Bits(x, sat, mode); got != want {
				bad++
				t.Errorf("e8m0 %s saturate=%v: %v -> %#02x, want %#02x", fl[1], sat, x, got, want)
			}
		default:
			t.Fatalf("unknown fixture line %q", sc.Text())
		}
		if bad > 20 {
			t.Fatal("too many mismatches")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if counts["decode"] != 4*256+16 || counts["encode"] < 10000 || counts["e8m0"] < 1000 {
		t.Fatalf("fixture too small: %v", counts)
	}
}

func isNaN32(v float32) bool { return v != v }

// TestSmallFloatRoundTrip decodes every code and encodes it back: each
// non-NaN code is its own nearest value (FNUZ and E2M1 have no -0 or one
// NaN, so those map as the table says).
func TestSmallFloatRoundTrip(t *testing.T) {
	for _, d := range []DType{Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float4E2M1, Float8E8M0} {
		n := 256
		if d == Float4E2M1 {
			n = 16
		}
		for c := range n {
			v := SmallFloatValue(d, uint8(c))
			for _, sat := range []bool{true, false} {
				got := SmallFloatBits(d, float64(v), sat)
				back := SmallFloatValue(d, got)
				if isNaN32(v) {
					if !isNaN32(back) && d != Float4E2M1 {
						t.Errorf("%v NaN code %#02x -> %#02x (%v)", d, c, got, back)
					}
					continue
				}
				want := v
				switch {
				case math.IsInf(float64(v), 0) && sat:
					want = float32(math.Copysign(float64(SmallFloatValue(d, smallFloatFormat(d).maxBits)), float64(v)))
				case d == Float8E8M0 && c == 0:
					// 2^-127 is a float32 subnormal, whose nonzero
					// mantissa field rounds up (see E8M0Bits).
					want = SmallFloatValue(d, 1)
					if E8M0Bits(v, sat, RoundDown) != 0 || E8M0Bits(v, sat, RoundNearest) != 0 {
						t.Errorf("e8m0 2^-127 does not round down or to nearest to itself")
					}
				}
				if math.Float32bits(back) != math.Float32bits(want) {
					t.Errorf("%v code %#02x (%v) -> %#02x (%v) saturate=%v", d, c, v, got, back, sat)
				}
			}
		}
	}
}

// TestSmallFloatRandom checks, on random float32 values, the properties
// that define rounding to nearest: the result is at least as near as its
// neighbouring codes, and saturated results never exceed the largest
// finite value.
func TestSmallFloatRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range []DType{Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float4E2M1} {
		f := smallFloatFormat(d)
		for range 20000 {
			x := float32((2*r.Float64() - 1) * math.Ldexp(1, r.IntN(40)-20))
			code := SmallFloatBits(d, float64(x), true)
			got := float64(SmallFloatValue(d, code))
			if math.Abs(got) > f.max || math.Signbit(got) != math.Signbit(float64(x)) && got != 0 {
				t.Fatalf("%v: %v -> %v", d, x, got)
			}
			// No code of the same sign is strictly nearer.
			err := math.Abs(got - float64(x))
			for c := range int(f.maxBits) + 1 {
				v := f.value(uint8(c))
				if x < 0 {
					v = -v
				}
				if math.Abs(v-float64(x)) < err {
					t.Fatalf("%v: %v -> %v, but %v (%#02x) is nearer", d, x, got, v, c)
				}
			}
		}
	}
}

// TestDTypeBits checks the names and widths of the types of IR 9 to 13.
func TestDTypeBits(t *testing.T) {
	for _, c := range []struct {
		d          DType
		name       string
		bits, wire int
		float      bool
	}{
		{Float8E4M3FN, "float8e4m3fn", 8, 1, true},
		{Float8E5M2FNUZ, "float8e5m2fnuz", 8, 1, true},
		{Uint4, "uint4", 4, 0, false},
		{Int4, "int4", 4, 0, false},
		{Float4E2M1, "float4e2m1", 4, 0, true},
		{Float8E8M0, "float8e8m0", 8, 1, true},
		{Uint2, "uint2", 2, 0, false},
		{Int2, "int2", 2, 0, false},
		{Float32, "float32", 32, 4, true},
	} {
		if c.d.String() != c.name || c.d.Bits() != c.bits || c.d.WireSize() != c.wire || c.d.IsFloat() != c.float || !c.d.Valid() {
			t.Errorf("%d: %q, %d bits, wire size %d, float %v, valid %v", int(c.d), c.d, c.d.Bits(), c.d.WireSize(), c.d.IsFloat(), c.d.Valid())
		}
	}
	if DType(27).Valid() {
		t.Error("data type 27 is valid")
	}
}
