package ops

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestCosineWindowsAgainstClosedForms(t *testing.T) {
	// Closed forms in other guises: Hann is sin²(πn/N); Hamming and
	// Blackman are written with their textbook coefficients.
	forms := map[string]func(n, N float64) float64{
		"HannWindow":     func(n, N float64) float64 { s := math.Sin(math.Pi * n / N); return s * s },
		"HammingWindow":  func(n, N float64) float64 { return (25 - 21*math.Cos(2*math.Pi*n/N)) / 46 },
		"BlackmanWindow": func(n, N float64) float64 { return 0.42 - 0.5*math.Cos(2*math.Pi*n/N) + 0.08*math.Cos(4*math.Pi*n/N) },
	}
	for name, form := range forms {
		for _, periodic := range []int64{0, 1} {
			for _, size := range []int{2, 7, 10} {
				N := float64(size)
				if periodic == 0 {
					N--
				}
				want := make([]float64, size)
				for i := range want {
					want[i] = form(float64(i), N)
				}
				n := testNode(name, graph.IntAttr("periodic", periodic), graph.IntAttr("output_datatype", int64(graph.Float64)))
				got := runNode(t, n, 17, testTensor(graph.Int32, []int{}, []float64{float64(size)}))[0]
				checkTensor(t, fmt.Sprintf("%s periodic %d size %d", name, periodic, size), got, []int{size}, want, tolerance{abs: 1e-12})
			}
		}
	}
	// Hann, periodic, size 4: sin²(0), sin²(π/4), sin²(π/2), sin²(3π/4)
	// = 0, 0.5, 1, 0.5; the default output type is float32.
	got := runNode(t, testNode("HannWindow"), 17, int64s(4))[0]
	checkTensor(t, "Hann 4", got, []int{4}, []float64{0, 0.5, 1, 0.5}, tolF32)
	if got.DType != graph.Float32 {
		t.Errorf("default output type %v, want float32", got.DType)
	}
	wantErr(t, "negative size", runNodeErr(t, testNode("HannWindow"), 17, int64s(-1)), "out of range")
	wantErr(t, "string type", runNodeErr(t, testNode("HannWindow", graph.IntAttr("output_datatype", int64(graph.String))), 17, int64s(3)), "output_datatype")
}

// xtNaiveDFT transforms with cmplx.Exp, independently of the kernel's
// cos/sin evaluation.
func xtNaiveDFT(x []complex128, bins int, inverse bool) []complex128 {
	n := len(x)
	out := make([]complex128, bins)
	sign := -1.0
	if inverse {
		sign = 1
	}
	for k := range out {
		for j, v := range x {
			out[k] += v * cmplx.Exp(complex(0, sign*2*math.Pi*float64(k)*float64(j)/float64(n)))
		}
		if inverse {
			out[k] /= complex(float64(n), 0)
		}
	}
	return out
}

func TestDFTRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, complexIn := range []bool{false, true} {
		parts := 1
		if complexIn {
			parts = 2
		}
		shape := []int{2, 5, 3, parts}
		x := testTensor(graph.Float64, shape, randomFor(rng, graph.Float64, 30*parts))
		xv := testValues(t, x)
		sig := make([]complex128, 30)
		for i := range sig {
			if complexIn {
				sig[i] = complex(xv[2*i], xv[2*i+1])
			} else {
				sig[i] = complex(xv[i], 0)
			}
		}
		sigShape := shape[:3]
		for _, axis := range []int64{1, 2, -2} {
			ax, _ := resolveAxis(axis, 4, "axis")
			for _, length := range []int{0, 3, 8} { // 0: no dft_length
				for _, inverse := range []int64{0, 1} {
					for _, onesided := range []int64{0, 1} {
						if onesided == 1 && (inverse == 1 || complexIn) {
							continue
						}
						n := sigShape[ax]
						if length > 0 {
							n = length
						}
						bins := n
						if onesided == 1 {
							bins = n/2 + 1
						}
						outShape := []int{2, 5, 3, 2}
						outShape[ax] = bins
						want := make([]float64, tensor.NumElements(outShape))
						lineShape := []int{2, 5, 3}
						lineShape[ax] = 1
						for l := range tensor.NumElements(lineShape) {
							c := coordsOf(l, lineShape)
							line := make([]complex128, n)
							for k := range min(n, sigShape[ax]) {
								c[ax] = k
								line[k] = sig[flatIndex(c, sigShape)]
							}
							for k, v := range xtNaiveDFT(line, bins, inverse == 1) {
								c[ax] = k
								p := flatIndex(append(c, 0), outShape)
								want[p], want[p+1] = real(v), imag(v)
							}
						}
						in := []*tensor.Tensor{x}
						if length > 0 {
							in = append(in, int64s(int64(length)))
						}
						node := testNode("DFT", graph.IntAttr("axis", axis), graph.IntAttr("inverse", inverse), graph.IntAttr("onesided", onesided))
						got := runNode(t, node, 17, in...)[0]
						what := fmt.Sprintf("DFT complex=%v axis %d length %d inverse %d onesided %d", complexIn, axis, length, inverse, onesided)
						checkTensor(t, what, got, outShape, want, tolerance{abs: 1e-12, rel: 1e-10})
					}
				}
			}
		}
	}
}

func TestDFTRoundTripAndErrors(t *testing.T) {
	// The transform of [1, 0, 0, 0] is all ones; its inverse is the
	// impulse again.
	x := float32s([]int{1, 4, 1}, 1, 0, 0, 0)
	f := runNode(t, testNode("DFT"), 17, x)[0]
	checkTensor(t, "impulse", f, []int{1, 4, 2}, []float64{1, 0, 1, 0, 1, 0, 1, 0}, tolF32)
	back := runNode(t, testNode("DFT", graph.IntAttr("inverse", 1)), 17, f)[0]
	checkTensor(t, "inverse", back, []int{1, 4, 2}, []float64{1, 0, 0, 0, 0, 0, 0, 0}, tolF32)
	wantErr(t, "last axis", runNodeErr(t, testNode("DFT", graph.IntAttr("axis", 2)), 17, x), "complex parts")
	wantErr(t, "bad last dim", runNodeErr(t, testNode("DFT"), 17, float32s([]int{1, 1, 3}, 1, 2, 3)), "last dimension")
	wantErr(t, "dft_length 0", runNodeErr(t, testNode("DFT"), 17, x, int64s(0)), "dft_length")
}

// TestDFTInverseOnesided checks numpy's irfft: the onesided spectrum of
// a random real signal, transformed back with dft_length, is the signal,
// for odd and even lengths, at opset 17 (axis attribute) and 20 (axis
// input).
func TestDFTInverseOnesided(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 6, 7} {
		vals := randomFor(rng, graph.Float64, 2*n*3)
		x := testTensor(graph.Float64, []int{2, n, 3, 1}, vals)
		spectrum := runNode(t, testNode("DFT", graph.IntAttr("axis", 1), graph.IntAttr("onesided", 1)), 17, x)[0]
		inv17 := testNode("DFT", graph.IntAttr("axis", 1), graph.IntAttr("inverse", 1), graph.IntAttr("onesided", 1))
		back := runNode(t, inv17, 17, spectrum, int64s(int64(n)))[0]
		checkTensor(t, fmt.Sprintf("irfft n=%d opset 17", n), back, []int{2, n, 3, 1}, vals, tolF64)
		inv20 := testNode("DFT", graph.IntAttr("inverse", 1), graph.IntAttr("onesided", 1))
		back = runNode(t, inv20, 20, spectrum, int64s(int64(n)), int64s(-3))[0]
		checkTensor(t, fmt.Sprintf("irfft n=%d opset 20", n), back, []int{2, n, 3, 1}, vals, tolF64)
	}
}

func TestSTFTRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	length, frameLen, step := 20, 6, 4
	x := testTensor(graph.Float64, []int{2, length, 1}, randomFor(rng, graph.Float64, 2*length))
	xv := testValues(t, x)
	window := testTensor(graph.Float64, []int{frameLen}, randomFor(rng, graph.Float64, frameLen))
	wv := testValues(t, window)
	frames := 1 + (length-frameLen)/step // 4
	for _, onesided := range []int64{0, 1} {
		bins := frameLen
		if onesided == 1 {
			bins = frameLen/2 + 1
		}
		want := make([]float64, 0, 2*frames*bins*2)
		for b := range 2 {
			for f := range frames {
				frame := make([]complex128, frameLen)
				for k := range frame {
					frame[k] = complex(xv[b*length+f*step+k]*wv[k], 0)
				}
				for _, v := range xtNaiveDFT(frame, bins, false) {
					want = append(want, real(v), imag(v))
				}
			}
		}
		got := runNode(t, testNode("STFT", graph.IntAttr("onesided", onesided)), 17, x, int64s(int64(step)), window)[0]
		checkTensor(t, fmt.Sprintf("STFT onesided %d", onesided), got, []int{2, frames, bins, 2}, want, tolerance{abs: 1e-12, rel: 1e-10})
	}
	// Without a window, frames are unweighted: a constant signal of 2s
	// with frame_length 4 has bin 0 = 8 and nothing else.
	ones := testTensor(graph.Float32, []int{1, 8, 1}, []float64{2, 2, 2, 2, 2, 2, 2, 2})
	got := runNode(t, testNode("STFT"), 17, ones, int64s(4), nil, int64s(4))[0]
	checkTensor(t, "constant", got, []int{1, 2, 3, 2}, []float64{8, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0}, tolerance{abs: 1e-5})
	wantErr(t, "step", runNodeErr(t, testNode("STFT"), 17, ones, int64s(0)), "frame_step")
	wantErr(t, "window length", runNodeErr(t, testNode("STFT"), 17, ones, int64s(1), float32s([]int{3}, 1, 1, 1), int64s(4)), "window has 3")
	wantErr(t, "too long", runNodeErr(t, testNode("STFT"), 17, ones, int64s(1), nil, int64s(9)), "frame_length")
}

// TestMelWeightMatrixTriangles rebuilds the filter bank from the band
// edges as max(0, min(rising, falling)) triangles and checks the shape
// and the peaks.
func TestMelWeightMatrixTriangles(t *testing.T) {
	melBins, dftLength, rate := 6, 64, 16000
	lower, upper := 100.0, 7000.0
	in := []*tensor.Tensor{
		int64s(int64(melBins)), int64s(int64(dftLength)), int64s(int64(rate)),
		testTensor(graph.Float64, []int{}, []float64{lower}), testTensor(graph.Float64, []int{}, []float64{upper}),
	}
	got := runNode(t, testNode("MelWeightMatrix", graph.IntAttr("output_datatype", int64(graph.Float64))), 17, in...)[0]
	mel := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
	hz := func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	edges := make([]float64, melBins+2)
	for i := range edges {
		m := mel(lower) + float64(i)*(mel(upper)-mel(lower))/float64(melBins+2)
		edges[i] = math.Floor(float64(dftLength+1) * hz(m) / float64(rate))
	}
	specBins := dftLength/2 + 1
	want := make([]float64, specBins*melBins)
	for m := range melBins {
		l, c, r := edges[m], edges[m+1], edges[m+2]
		for j := range specBins {
			fj := float64(j)
			rise, fall := 0.0, 0.0
			if fj >= l && fj <= c {
				rise = 1
				if c > l {
					rise = (fj - l) / (c - l)
				}
			}
			if fj >= c && fj < r {
				fall = (r - fj) / (r - c)
			}
			want[j*melBins+m] = math.Max(rise, fall)
		}
	}
	checkTensor(t, "MelWeightMatrix", got, []int{specBins, melBins}, want, tolF64)
	for m := range melBins {
		peak := 0.0
		for j := range specBins {
			peak = math.Max(peak, want[j*melBins+m])
		}
		if peak != 1 {
			t.Errorf("band %d peaks at %v, want 1", m, peak)
		}
	}
	in[4] = testTensor(graph.Float64, []int{}, []float64{1e9})
	wantErr(t, "upper edge past Nyquist", runNodeErr(t, testNode("MelWeightMatrix"), 17, in...), "outside")
}

// TestFFTAgainstNaive covers powers of two (radix-2) and every other
// length up to 40 (Bluestein), both directions.
func TestFFTAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for _, n := range append([]int{64, 100, 127, 256}, xtRange(1, 41)...) {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		for _, inverse := range []bool{false, true} {
			got := fft(x, inverse)
			want := xtNaiveDFT(x, n, inverse)
			g, w := make([]float64, 0, 2*n), make([]float64, 0, 2*n)
			for k := range got {
				if inverse {
					got[k] /= complex(float64(n), 0) // xtNaiveDFT normalises the inverse
				}
				g = append(g, real(got[k]), imag(got[k]))
				w = append(w, real(want[k]), imag(want[k]))
			}
			checkClose(t, fmt.Sprintf("fft n=%d inverse=%v", n, inverse), g, w, tolerance{abs: 1e-11, rel: 1e-9})
		}
	}
}

// xtRange lists lo, ..., hi-1.
func xtRange(lo, hi int) []int {
	var r []int
	for i := lo; i < hi; i++ {
		r = append(r, i)
	}
	return r
}
