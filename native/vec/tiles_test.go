package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/simd"
)

// TestTileTransforms compares every tile transform, in assembly and in
// Go, with the transform computed in float64 from its float32 matrix, on
// random tiles, for every count of tiles up to 39 (whole vectors of
// eight, the last few done again as a whole vector, and fewer than eight
// masked or spilled), with rows and points further apart than the tiles,
// phases as short as the tiles allow, and points' rows with gaps whose
// values must survive (all but the spilled lanes).
func TestTileTransforms(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range []*TileTransform{WinogradInput3, WinogradInput5, WinogradInput4x3, WinogradGradient3, WinogradGradient5} {
		t.Run(tt.name, func(t *testing.T) {
			leveltest.Run(t, func(t *testing.T) {
				testTileTransform(t, rng, tt, false)
				testTileTransform(t, rng, tt, true)
			})
		})
	}
}

func testTileTransform(t *testing.T, rng *rand.Rand, tt *TileTransform, spill bool) {
	p, q, s := len(tt.l), len(tt.l[0]), tt.step
	var worst float64
	for tiles := range 40 {
		rowStride := tiles + (q-1)/s + rng.IntN(4)
		stored := tiles
		if spill {
			stored = max(tiles, 8)
		}
		pointStride := stored + rng.IntN(3)
		phaseStride := q*rowStride + rng.IntN(3)
		reach := 0
		for b := range q {
			reach = max(reach, (b%s)*phaseStride+b/s+(q-1)*rowStride+tiles)
		}
		phases := make([]float32, reach)
		for i := range phases {
			phases[i] = 2*rng.Float32() - 1
		}
		const untouched = 7
		dst := make([]float32, (p*p-1)*pointStride+stored+1)
		for i := range dst {
			dst[i] = untouched
		}
		tt.Tiles(dst[:len(dst)-1], pointStride, phases, phaseStride, rowStride, tiles, spill)
		written := make([]bool, len(dst)) // or spilled over
		for pt := range p * p {
			for j := tiles; j < stored; j++ {
				written[pt*pointStride+j] = true
			}
		}
		for j := range tiles {
			x := func(a, b int) float64 { return float64(phases[(b%s)*phaseStride+a*rowStride+j+b/s]) }
			for u := range p {
				for v := range p {
					var want, mag float64
					for a := range q {
						for b := range q {
							term := float64(tt.l[u][a]) * x(a, b) * float64(tt.l[v][b])
							want += term
							mag += math.Abs(term)
						}
					}
					i := (u*p+v)*pointStride + j
					written[i] = true
					err := math.Abs(float64(dst[i]) - want)
					if !(err <= 8*0x1p-24*mag) {
						t.Fatalf("%s, %d tiles, level %v spill=%v: tile %d point (%d, %d) = %g, want %g (sum of magnitudes %g)",
							tt.name, tiles, simd.Current(), spill, j, u, v, dst[i], want, mag)
					}
					if mag > 0 {
						worst = math.Max(worst, err/(0x1p-24*mag))
					}
				}
			}
		}
		for i, w := range written {
			if !w && dst[i] != untouched {
				t.Fatalf("%s, %d tiles, level %v spill=%v: wrote %g at %d, between the points", tt.name, tiles, simd.Current(), spill, dst[i], i)
			}
		}
	}
	t.Logf("%s, level %v spill=%v: largest error %.2f roundoffs of the sum of magnitudes", tt.name, simd.Current(), spill, worst)
}

// TestTileTransformBounds checks that Tiles refuses phases and
// destinations too short for the tiles, and points closer than the
// tiles.
func TestTileTransformBounds(t *testing.T) {
	tt := WinogradInput3 // 4x4 to 4x4: reads 3 rows and 1 element past the first, in 2 phases
	ok := func(dst []float32, ps int, phases []float32, apart, rs, tiles int, spill bool) (refused bool) {
		defer func() { refused = recover() != nil }()
		tt.Tiles(dst, ps, phases, apart, rs, tiles, spill)
		return false
	}
	phases := make([]float32, 40+3*10+5+1)
	dst := make([]float32, 15*5+5)
	spilled := make([]float32, 15*8+8)
	if ok(dst, 5, phases, 40, 10, 5, false) || ok(spilled, 8, phases, 40, 10, 5, true) {
		t.Fatal("refused tiles that fit")
	}
	for _, c := range []struct {
		name             string
		dst              []float32
		ps               int
		phases           []float32
		apart, rs, tiles int
		spill            bool
	}{
		{"phases short", dst, 5, phases[:len(phases)-1], 40, 10, 5, false},
		{"phases further apart than they hold", dst, 5, phases, 41, 10, 5, false},
		{"destination short", dst[:len(dst)-1], 5, phases, 40, 10, 5, false},
		{"points closer than the tiles", dst, 4, phases, 40, 10, 5, false},
		{"negative tiles", dst, 5, phases, 40, 10, -1, false},
		{"points closer than a spilled vector", dst, 5, phases, 40, 10, 5, true},
		{"destination short of a spilled vector", spilled[:len(spilled)-1], 8, phases, 40, 10, 5, true},
	} {
		if !ok(c.dst, c.ps, c.phases, c.apart, c.rs, c.tiles, c.spill) {
			t.Errorf("%s: not refused", c.name)
		}
	}
}

// TestPointTransforms compares the point transforms, in assembly and in
// Go, with the transform computed in float64 from their float32
// matrices, on random tiles, for every count of tiles up to 39 and a few
// more (whole vectors; with AVX2 the last few done again, fewer than
// eight masked; with AVX-512 the last few masked),
// with points further apart than the tiles, sources as short as the
// tiles allow, and gaps in dst whose values must survive.
func TestPointTransforms(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, pt := range []*PointTransform{WinogradOutput3, WinogradOutput5, WinogradOutput4x3} {
		p, q := len(pt.l), len(pt.l[0])
		leveltest.Run(t, func(t *testing.T) {
			var worst float64
			counts := []int{37, 64, 100}
			for n := range 40 {
				counts = append(counts, n)
			}
			for _, n := range counts {
				srcStride, dstStride := n+rng.IntN(3), n+rng.IntN(3)
				src := make([]float32, max(0, (q*q-1)*srcStride+n))
				for i := range src {
					src[i] = 2*rng.Float32() - 1
				}
				const untouched = 7
				dst := make([]float32, (p*p-1)*dstStride+n+1)
				for i := range dst {
					dst[i] = untouched
				}
				pt.Apply(dst[:len(dst)-1], dstStride, src, srcStride, n)
				written := make([]bool, len(dst))
				for j := range n {
					for u := range p {
						for v := range p {
							var want, mag float64
							for a := range q {
								for b := range q {
									term := float64(pt.l[u][a]) * float64(src[(a*q+b)*srcStride+j]) * float64(pt.l[v][b])
									want += term
									mag += math.Abs(term)
								}
							}
							i := (u*p+v)*dstStride + j
							written[i] = true
							err := math.Abs(float64(dst[i]) - want)
							if !(err <= 8*0x1p-24*mag) {
								t.Fatalf("%s, %d tiles, level %v: tile %d point (%d, %d) = %g, want %g (sum of magnitudes %g)",
									pt.name, n, simd.Current(), j, u, v, dst[i], want, mag)
							}
							worst = math.Max(worst, err/(0x1p-24*mag))
						}
					}
				}
				for i, w := range written {
					if !w && dst[i] != untouched {
						t.Fatalf("%s, %d tiles, level %v: wrote %g at %d, between the points", pt.name, n, simd.Current(), dst[i], i)
					}
				}
			}
			t.Logf("%s, level %v: largest error %.2f roundoffs of the sum of magnitudes", pt.name, simd.Current(), worst)
		})
	}
}

// TestPointTransformBounds checks that Apply refuses sources and
// destinations too short, and strides narrower than the tiles.
func TestPointTransformBounds(t *testing.T) {
	pt := WinogradOutput3 // 4x4 points to 2x2
	refused := func(dst []float32, ds int, src []float32, ss, n int) (r bool) {
		defer func() { r = recover() != nil }()
		pt.Apply(dst, ds, src, ss, n)
		return false
	}
	src, dst := make([]float32, 15*10+10), make([]float32, 3*10+10)
	if refused(dst, 10, src, 10, 10) {
		t.Fatal("refused tiles that fit")
	}
	for name, ok := range map[string]bool{
		"short source":       refused(dst, 10, src[:len(src)-1], 10, 10),
		"short destination":  refused(dst[:len(dst)-1], 10, src, 10, 10),
		"narrow source":      refused(dst, 10, src, 9, 10),
		"narrow destination": refused(dst, 9, src, 10, 10),
		"negative count":     refused(dst, 10, src, 10, -1),
	} {
		if !ok {
			t.Errorf("%s: not refused", name)
		}
	}
}

// BenchmarkTileTransforms times the transforms of ResNet-18's Winograd
// convolutions at batch 1, a plane of a channel each call: the input
// tiles of F(4x4, 3x3) at 56x56 (14 rows of 14 tiles) and of F(2x2, 3x3)
// at 28x28 and 14x14 (14 rows of 14, 7 rows of 7), and the output
// transforms of their 196 and 49 tiles, at every CPU level; in tiles
// per second.
func BenchmarkTileTransforms(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = 2*rng.Float32() - 1
		}
		return s
	}
	for _, c := range []struct {
		name     string
		t        *TileTransform
		rows, tw int // rows of tiles, tiles a row
	}{
		{"input4x3@56", WinogradInput4x3, 14, 14},
		{"input3@28", WinogradInput3, 14, 14},
		{"input3@14", WinogradInput3, 7, 7},
		{"input3@56", WinogradInput3, 28, 28},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, q, p := c.t.Step(), len(c.t.l[0]), c.t.Side()
			width := c.tw + (q-1)/s + 1
			height := s*c.rows + q - s
			phases := random(s * height * width)
			tiles := c.rows * c.tw
			pointStride := tiles + 16
			dst := make([]float32, p*p*pointStride)
			leveltest.Bench(b, func(b *testing.B) {
				for b.Loop() {
					for ty := range c.rows {
						c.t.Tiles(dst[ty*c.tw:], pointStride, phases[s*ty*width:], height*width, width, c.tw, true)
					}
				}
				b.ReportMetric(float64(tiles)*float64(b.N)/b.Elapsed().Seconds(), "tiles/s")
			})
		})
	}
	for _, c := range []struct {
		name  string
		t     *PointTransform
		tiles int
	}{
		{"output4x3@56", WinogradOutput4x3, 196},
		{"output3@28", WinogradOutput3, 196},
		{"output3@14", WinogradOutput3, 49},
	} {
		b.Run(c.name, func(b *testing.B) {
			q, p := len(c.t.l[0]), c.t.Side()
			src := random(q * q * (c.tiles + 16))
			dst := make([]float32, p*p*c.tiles)
			leveltest.Bench(b, func(b *testing.B) {
				for b.Loop() {
					c.t.Apply(dst, c.tiles, src, c.tiles+16, c.tiles)
				}
				b.ReportMetric(float64(c.tiles)*float64(b.N)/b.Elapsed().Seconds(), "tiles/s")
			})
		})
	}
}
