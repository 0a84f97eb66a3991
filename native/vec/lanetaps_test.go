package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestLaneTaps compares LaneTaps.Sum with the sums in float64, at every
// CPU level, for every count of positions up to 40 (every block of the assembly and every tail) from a random first
// one, one to 25 taps, positions and taps at random offsets (not
// multiples of the lanes), with and without accumulation, and checks
// that nothing past dst is written. The bound is a few float32 roundings
// of the sum of the magnitudes of the terms.
func TestLaneTaps(t *testing.T) {
	const l = TapLanes
	rng := rand.New(rand.NewPCG(7, 8))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			ntaps := 1 + rng.IntN(25)
			src := make([]float32, 400)
			for i := range src {
				src[i] = 4*rng.Float32() - 2
			}
			positions, taps := make([]int32, n), make([]int32, ntaps)
			for i := range positions {
				positions[i] = int32(rng.IntN(200))
			}
			for i := range taps {
				taps[i] = int32(rng.IntN(190))
			}
			weights, bias := make([]float32, l*ntaps), make([]float32, l)
			for i := range weights {
				weights[i] = 2*rng.Float32() - 1
			}
			for i := range bias {
				bias[i] = rng.Float32() - 0.5
			}
			for _, accumulate := range []bool{false, true} {
				first := rng.IntN(5)
				sums := NewLaneTaps(append(make([]int32, first), positions...), taps)
				dst := make([]float32, l*n+1)
				for i := range dst {
					dst[i] = rng.Float32() - 0.5
				}
				before := append([]float32(nil), dst...)
				sums.Sum(dst[:l*n], first, src, weights, bias, accumulate)
				for p, at := range positions {
					for j := range l {
						want, mag := float64(bias[j]), math.Abs(float64(bias[j]))
						if accumulate {
							want, mag = float64(before[p*l+j]), math.Abs(float64(before[p*l+j]))
						}
						for i, o := range taps {
							term := float64(weights[i*l+j]) * float64(src[int(at)+int(o)+j])
							want += term
							mag += math.Abs(term)
						}
						if err := math.Abs(float64(dst[p*l+j]) - want); !(err <= 4*0x1p-24*mag) {
							t.Fatalf("n=%d taps=%d accumulate=%v: dst[%d] = %v, want %v", n, ntaps, accumulate, p*l+j, dst[p*l+j], want)
						}
					}
				}
				if dst[l*n] != before[l*n] {
					t.Fatalf("n=%d: wrote past dst", n)
				}
			}
		}
	})
}

// TestLaneTapsBounds checks that taps reaching outside src, no taps,
// positions outside the table, and weights or biases that do not match
// are refused.
func TestLaneTapsBounds(t *testing.T) {
	for _, tc := range []struct {
		taps                 []int32
		first, weights, bias int
		fail                 bool
	}{
		{[]int32{11, 0}, 0, 16, 8, false}, {[]int32{0, 12}, 0, 16, 8, true}, {[]int32{-1, 0}, 0, 16, 8, true},
		{[]int32{}, 0, 0, 8, true}, {[]int32{0, 1}, 0, 8, 8, true}, {[]int32{0, 1}, 0, 16, 7, true},
		{[]int32{0, 1}, 1, 16, 8, true}, {[]int32{0, 1}, -1, 16, 8, true},
	} {
		func() {
			defer func() {
				if failed := recover() != nil; failed != tc.fail {
					t.Errorf("taps %v from positions 0 and 1 of 20 elements, from %d, %d weights, %d biases: refused %v, want %v",
						tc.taps, tc.first, tc.weights, tc.bias, failed, tc.fail)
				}
			}()
			NewLaneTaps([]int32{0, 1}, tc.taps).Sum(make([]float32, 16), tc.first, make([]float32, 20), make([]float32, tc.weights), make([]float32, tc.bias), false)
		}()
	}
}

// TestLaneTapsPlanes checks, at every CPU level, that SumPlanes stores
// bitwise what Sum then a transpose with zero added and the activation
// (Go's max for ReLU, Clip and HardSwish of this package) give, for
// every count of positions up to 40 from a random first one, with each
// store activation, into all the lanes' planes or a random fewer, and
// writes nothing between or after the planes.
func TestLaneTapsPlanes(t *testing.T) {
	const l = TapLanes
	rng := rand.New(rand.NewPCG(9, 10))
	leveltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			ntaps := 1 + rng.IntN(25)
			src := make([]float32, 400)
			for i := range src {
				src[i] = 4*rng.Float32() - 2
			}
			first := rng.IntN(5)
			positions, taps := make([]int32, first+n), make([]int32, ntaps)
			for i := range positions {
				positions[i] = int32(rng.IntN(200))
			}
			for i := range taps {
				taps[i] = int32(rng.IntN(190))
			}
			weights, bias := make([]float32, l*ntaps), make([]float32, l)
			for i := range weights {
				weights[i] = 2*rng.Float32() - 1
			}
			for i := range bias {
				bias[i] = rng.Float32() - 0.5
			}
			sums := NewLaneTaps(positions, taps)
			lanes := make([]float32, l*n)
			sums.Sum(lanes, first, src, weights, bias, false)
			stride := n + 3
			const lo, hi = -0.5, 1.5 // Clip's bounds, within the sums' range
			for _, act := range []StoreActivation{StoreIdentity, StoreRelu, StoreClip, StoreHardSwish} {
				planes := l
				if rng.IntN(2) == 0 {
					planes = 1 + rng.IntN(l-1)
				}
				dst := make([]float32, l*stride)
				for i := range dst {
					dst[i] = -7
				}
				sums.SumPlanes(dst[:(planes-1)*stride+n], stride, planes, first, n, src, weights, bias, act, lo, hi)
				for j := range l {
					for p := range stride {
						want := []float32{-7}
						if p < n && j < planes {
							want[0] = lanes[p*l+j] + 0
							switch act {
							case StoreRelu:
								want[0] = max(want[0], 0)
							case StoreClip:
								Clip(want, want, lo, hi)
							case StoreHardSwish:
								HardSwish(want, want)
							}
						}
						if got := dst[j*stride+p]; math.Float32bits(got) != math.Float32bits(want[0]) {
							t.Fatalf("n=%d activation %d, %d planes: plane %d position %d = %v, want %v", n, act, planes, j, p, got, want[0])
						}
					}
				}
			}
		}
	})
}

// TestInterleavePlanes checks, at every CPU level, that InterleavePlanes
// stores element x of row r of plane l at r*dstRowStride+x*TapLanes+l,
// zero added (a -0 stored as 0), and zeros in the lanes beyond the
// planes, for widths 1 to 21 (whole vectors and every count of last
// columns), one to three rows and one to eight planes, reading nothing
// past the planes and writing nothing between or after the rows.
func TestInterleavePlanes(t *testing.T) {
	const l = TapLanes
	rng := rand.New(rand.NewPCG(11, 12))
	leveltest.Run(t, func(t *testing.T) {
		for width := 1; width <= 21; width++ {
			for rows := 1; rows <= 3; rows++ {
				planes := 1 + rng.IntN(l)
				planeStride := rows*width + rng.IntN(5)
				src := make([]float32, (planes-1)*planeStride+rows*width)
				for i := range src {
					src[i] = 2*rng.Float32() - 1
					if rng.IntN(8) == 0 {
						src[i] = float32(math.Copysign(0, -1))
					}
				}
				dstRowStride := width*l + 3
				dst := make([]float32, rows*dstRowStride+5)
				for i := range dst {
					dst[i] = -7
				}
				InterleavePlanes(dst[:(rows-1)*dstRowStride+width*l], dstRowStride, src, planeStride, planes, width, rows)
				want := make([]float32, len(dst))
				for i := range want {
					want[i] = -7
				}
				for r := range rows {
					for x := range width {
						for j := range l {
							want[r*dstRowStride+x*l+j] = 0
							if j < planes {
								want[r*dstRowStride+x*l+j] = src[j*planeStride+r*width+x] + 0
							}
						}
					}
				}
				for i := range dst {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("width %d, %d rows of %d planes: dst[%d] = %v, want %v", width, rows, planes, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

// TestSumLaneRow checks, at every CPU level, SumLaneRow against the sums
// in float64 (without an activation: a few float32 roundings of the sum
// of the magnitudes of the terms) and bitwise against SumPlanes of the
// same positions and taps, with every store activation, for 1 to 30
// positions (whole blocks of the row loops and every tail), strides 1 to
// 3, kernels of 1 to 5 rows and columns (those of LaneRowFits and
// others), all the lanes' planes or fewer, src no longer than the
// windows and LaneRowSlack, and that nothing between or after the
// planes is written.
func TestSumLaneRow(t *testing.T) {
	const l = TapLanes
	rng := rand.New(rand.NewPCG(13, 14))
	leveltest.Run(t, func(t *testing.T) {
		for n := 1; n <= 30; n++ {
			for _, stride := range []int{1, 2, 3} {
				for _, kw := range []int{1, 3, 5} {
					kh := 1 + rng.IntN(5)
					rowStride := ((n-1)*stride+kw)*l + rng.IntN(3)*l
					src := make([]float32, (kh-1)*rowStride+((n-1)*stride+kw)*l+LaneRowSlack)
					for i := range src {
						src[i] = 4*rng.Float32() - 2
					}
					weights, bias := make([]float32, kh*kw*l), make([]float32, l)
					for i := range weights {
						weights[i] = 2*rng.Float32() - 1
					}
					for i := range bias {
						bias[i] = rng.Float32() - 0.5
					}
					planes := l
					if rng.IntN(2) == 0 {
						planes = 1 + rng.IntN(l-1)
					}
					positions, taps := make([]int32, n), make([]int32, 0, kh*kw)
					for p := range positions {
						positions[p] = int32(p * stride * l)
					}
					for r := range kh {
						for c := range kw {
							taps = append(taps, int32(r*rowStride+c*l))
						}
					}
					planeStride := n + 2
					for _, act := range []StoreActivation{StoreIdentity, StoreRelu, StoreClip, StoreHardSwish} {
						const lo, hi = -0.5, 1.5
						got, want := make([]float32, l*planeStride), make([]float32, l*planeStride)
						for i := range got {
							got[i], want[i] = -7, -7
						}
						SumLaneRow(got[:(planes-1)*planeStride+n], planeStride, planes, n, src, stride, rowStride, kh, kw, weights, bias, act, lo, hi)
						NewLaneTaps(positions, taps).SumPlanes(want[:(planes-1)*planeStride+n], planeStride, planes, 0, n, src, weights, bias, act, lo, hi)
						what := fmt.Sprintf("%d positions, stride %d, %dx%d kernel, %d planes, activation %d", n, stride, kh, kw, planes, act)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s: dst[%d] = %v, SumPlanes %v", what, i, got[i], want[i])
							}
						}
						if act != StoreIdentity {
							continue
						}
						for j := range planes {
							for p := range n {
								sum, mag := float64(bias[j]), math.Abs(float64(bias[j]))
								for t, o := range taps {
									term := float64(weights[t*l+j]) * float64(src[int(positions[p]+o)+j])
									sum, mag = sum+term, mag+math.Abs(term)
								}
								if d := math.Abs(float64(got[j*planeStride+p]) - sum); d > 4*float64(len(taps)+1)*0x1p-24*mag {
									t.Fatalf("%s: plane %d position %d = %v, want %v (magnitude %v)", what, j, p, got[j*planeStride+p], sum, mag)
								}
							}
						}
					}
				}
			}
		}
	})
}
