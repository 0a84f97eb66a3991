package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestInterleave compares Interleave, in assembly and in Go, with its
// definition element by element (the same float32 operations: equal
// bits) on random data with NaNs and infinities, for every length up to
// 60, storing with bias and ReLU or not, and accumulating; nothing past
// dst may change.
func TestInterleave(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	random := func(n int) []float32 { return randomSpecials(rng, n, 25) }
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 60; n++ {
			for _, mode := range []struct{ relu, accumulate bool }{{false, false}, {true, false}, {false, true}} {
				even, odd := random((n+1)/2), random(n/2)
				bias := 2*rng.Float32() - 1
				before := random(n + 1)
				dst := append([]float32(nil), before...)
				Interleave(dst[:n], even, odd, bias, mode.relu, mode.accumulate)
				for i := 0; i < n; i++ {
					v := even[i/2]
					if i%2 == 1 {
						v = odd[i/2]
					}
					want := v + bias
					switch {
					case mode.accumulate:
						want = before[i] + v
					case mode.relu:
						want = max(want, 0)
					}
					if got := dst[i]; got != want && !(got != got && want != want) {
						t.Fatalf("n=%d avx2=%v %+v: dst[%d] = %g, want %g", n, hasAVX2(), mode, i, got, want)
					}
				}
				if math.Float32bits(dst[n]) != math.Float32bits(before[n]) {
					t.Fatalf("n=%d avx2=%v %+v: wrote past dst", n, hasAVX2(), mode)
				}
			}
		}
	})
}

// TestInterleave4 compares Interleave4, in assembly and in Go, with its
// definition element by element (equal bits) on random data with NaNs
// and infinities, for every length up to 100 (whole vectors, the last
// vector stored again, tails of every length, sources of the least
// length or longer), storing with bias and ReLU or not, and
// accumulating; nothing past dst may change.
func TestInterleave4(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	random := func(n int) []float32 { return randomSpecials(rng, n, 25) }
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 100; n++ {
			for _, mode := range []struct{ relu, accumulate bool }{{false, false}, {true, false}, {false, true}} {
				// The shortest sources, and sources of (n+3)/4 each.
				long := rng.IntN(2) == 0
				var srcs [4][]float32
				for k := range srcs {
					srcs[k] = random((n + 3 - k) / 4)
					if long {
						srcs[k] = random((n + 3) / 4)
					}
				}
				bias := 2*rng.Float32() - 1
				before := random(n + 1)
				dst := append([]float32(nil), before...)
				Interleave4(dst[:n], srcs[0], srcs[1], srcs[2], srcs[3], bias, mode.relu, mode.accumulate)
				for i := 0; i < n; i++ {
					v := srcs[i%4][i/4]
					want := v + bias
					switch {
					case mode.accumulate:
						want = before[i] + v
					case mode.relu:
						want = max(want, 0)
					}
					if got := dst[i]; got != want && !(got != got && want != want) {
						t.Fatalf("n=%d avx2=%v %+v long %v: dst[%d] = %g, want %g", n, hasAVX2(), mode, long, i, got, want)
					}
				}
				if math.Float32bits(dst[n]) != math.Float32bits(before[n]) {
					t.Fatalf("n=%d avx2=%v %+v long %v: wrote past dst", n, hasAVX2(), mode, long)
				}
			}
		}
	})
}

// TestInterleaveBounds checks that Interleave refuses sources too short
// for dst.
func TestInterleaveBounds(t *testing.T) {
	refused := func(dst, even, odd []float32) (r bool) {
		defer func() { r = recover() != nil }()
		Interleave(dst, even, odd, 0, false, false)
		return false
	}
	dst, src := make([]float32, 21), make([]float32, 11)
	if refused(dst, src, src[:10]) {
		t.Fatal("refused sources that fit")
	}
	if !refused(dst, src[:10], src) || !refused(dst[:20], src, src[:9]) {
		t.Error("short sources not refused")
	}
	refused4 := func(dst []float32, lens [4]int) (r bool) {
		defer func() { r = recover() != nil }()
		Interleave4(dst, src[:lens[0]], src[:lens[1]], src[:lens[2]], src[:lens[3]], 0, false, false)
		return false
	}
	// 21 values: 6 from a, 5 from each of b, c and d.
	if refused4(dst, [4]int{6, 5, 5, 5}) {
		t.Fatal("Interleave4 refused sources that fit")
	}
	for k := range 4 {
		lens := [4]int{6, 5, 5, 5}
		lens[k]--
		if !refused4(dst, lens) {
			t.Errorf("Interleave4 with source %d one short not refused", k)
		}
	}
}

// TestDeinterleave checks Deinterleave, in assembly and in Go, against
// its definition (a copy: equal bits) for every length up to 60, and
// that nothing past the ends of even and odd changes.
func TestDeinterleave(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 60; n++ {
			src := randomSpecials(rng, n, 25)
			even, odd := make([]float32, (n+1)/2+1), make([]float32, n/2+1)
			even[len(even)-1], odd[len(odd)-1] = 7, 8
			Deinterleave(even[:(n+1)/2], odd[:n/2], src)
			for i, v := range src {
				got := even[i/2]
				if i%2 == 1 {
					got = odd[i/2]
				}
				if math.Float32bits(got) != math.Float32bits(v) {
					t.Fatalf("n=%d avx2=%v: element %d = %g, want %g", n, hasAVX2(), i, got, v)
				}
			}
			if even[len(even)-1] != 7 || odd[len(odd)-1] != 8 {
				t.Fatalf("n=%d: wrote past even or odd", n)
			}
		}
		defer func() {
			if recover() == nil {
				t.Error("Deinterleave of 5 values into 2 and 2: not refused")
			}
		}()
		Deinterleave(make([]float32, 2), make([]float32, 2), make([]float32, 5))
	})
}

// TestDeinterleave4 checks Deinterleave4, in assembly and in Go, against
// its definition (a copy: equal bits) for every length up to 100, and
// that nothing past the ends of a, b, c and d changes.
func TestDeinterleave4(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 100; n++ {
			src := randomSpecials(rng, n, 25)
			var dsts [4][]float32
			for k := range dsts {
				dsts[k] = make([]float32, (n+3-k)/4+1)
				dsts[k][len(dsts[k])-1] = float32(7 + k)
			}
			short := func(k int) []float32 { return dsts[k][:len(dsts[k])-1] }
			Deinterleave4(short(0), short(1), short(2), short(3), src)
			for i, v := range src {
				if got := dsts[i%4][i/4]; math.Float32bits(got) != math.Float32bits(v) {
					t.Fatalf("n=%d avx2=%v: element %d = %g, want %g", n, hasAVX2(), i, got, v)
				}
			}
			for k, d := range dsts {
				if d[len(d)-1] != float32(7+k) {
					t.Fatalf("n=%d: wrote past destination %d", n, k)
				}
			}
		}
		defer func() {
			if recover() == nil {
				t.Error("Deinterleave4 of 9 values into 2, 2, 2 and 2: not refused")
			}
		}()
		Deinterleave4(make([]float32, 2), make([]float32, 2), make([]float32, 2), make([]float32, 2), make([]float32, 9))
	})
}
