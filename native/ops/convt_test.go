package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestConvTransposeHandWorked(t *testing.T) {
	x := float32s([]int{1, 1, 3}, 1, 2, 3)
	w := float32s([]int{1, 1, 3}, 1, 1, 1)
	// Stride 1: each x[i] adds to y[i..i+2]: y = [1, 1+2, 1+2+3, 2+3, 3].
	got := runNode(t, testNode("ConvTranspose"), 11, x, w)
	checkTensor(t, "stride 1", got[0], []int{1, 1, 5}, []float64{1, 3, 6, 5, 3}, tolF32)
	// Stride 2: x[i] adds to y[2i..2i+2], 7 outputs: [1, 1, 1+2, 2, 2+3, 3, 3].
	got = runNode(t, testNode("ConvTranspose", graph.IntsAttr("strides", 2)), 11, x, w)
	checkTensor(t, "stride 2", got[0], []int{1, 1, 7}, []float64{1, 1, 3, 2, 5, 3, 3}, tolF32)
	// pads [1, 2] crop one element at the start and two at the end.
	got = runNode(t, testNode("ConvTranspose", graph.IntsAttr("strides", 2), graph.IntsAttr("pads", 1, 2)), 11, x, w)
	checkTensor(t, "pads", got[0], []int{1, 1, 4}, []float64{1, 3, 2, 5}, tolF32)
	// output_shape [8] with stride 2: the full size is 7, so the total
	// padding is -1 and the begin pad -1/2 = 0: one zero is added at the end.
	got = runNode(t, testNode("ConvTranspose", graph.IntsAttr("strides", 2), graph.IntsAttr("output_shape", 8)), 11, x, w)
	checkTensor(t, "output_shape", got[0], []int{1, 1, 8}, []float64{1, 1, 3, 2, 5, 3, 3, 0}, tolF32)
}

// trConvTransposeRef gathers each 2-D output element from the inputs and
// kernel taps that reach it: o = i*s - pb + j*d on each axis.
func trConvTransposeRef(x, w, b []float64, xs, ws []int, group int, s, d, pb, out [2]int) []float64 {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	mg, kh, kw := ws[1], ws[2], ws[3]
	cg, m := c/group, mg*group
	y := make([]float64, n*m*out[0]*out[1])
	for ni := 0; ni < n; ni++ {
		for oc := 0; oc < m; oc++ {
			g := oc / mg
			for oy := 0; oy < out[0]; oy++ {
				for ox := 0; ox < out[1]; ox++ {
					sum := 0.0
					if b != nil {
						sum = b[oc]
					}
					for ci := g * cg; ci < (g+1)*cg; ci++ {
						for jy := 0; jy < kh; jy++ {
							for jx := 0; jx < kw; jx++ {
								ny, nx := oy+pb[0]-jy*d[0], ox+pb[1]-jx*d[1]
								if ny%s[0] != 0 || nx%s[1] != 0 || ny < 0 || nx < 0 || ny/s[0] >= h || nx/s[1] >= wd {
									continue
								}
								iy, ix := ny/s[0], nx/s[1]
								sum += x[((ni*c+ci)*h+iy)*wd+ix] * w[((ci*mg+oc-g*mg)*kh+jy)*kw+jx]
							}
						}
					}
					y[((ni*m+oc)*out[0]+oy)*out[1]+ox] = sum
				}
			}
		}
	}
	return y
}

func TestConvTransposeRandom(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for trial := 0; trial < 40; trial++ {
			group := 1 + rng.IntN(2)
			n, cg, mg := 1+rng.IntN(2), 1+rng.IntN(2), 1+rng.IntN(3)
			xs := []int{n, cg * group, 1 + rng.IntN(4), 1 + rng.IntN(4)}
			ws := []int{cg * group, mg, 1 + rng.IntN(3), 1 + rng.IntN(3)}
			var s, d, pb, pe, op, out [2]int
			for a := 0; a < 2; a++ {
				s[a], d[a] = 1+rng.IntN(3), 1+rng.IntN(2)
				op[a] = rng.IntN(s[a])
				pb[a], pe[a] = rng.IntN(2), rng.IntN(2)
				out[a] = s[a]*(xs[2+a]-1) + op[a] + (ws[2+a]-1)*d[a] + 1 - pb[a] - pe[a]
				if out[a] < 1 { // the pads would crop everything
					out[a] += pb[a] + pe[a]
					pb[a], pe[a] = 0, 0
				}
			}
			x := randomFor(rng, graph.Float64, tensor.NumElements(xs))
			w := randomFor(rng, graph.Float64, tensor.NumElements(ws))
			b := randomFor(rng, graph.Float64, mg*group)
			node := testNode("ConvTranspose", graph.IntAttr("group", int64(group)),
				graph.IntsAttr("strides", int64(s[0]), int64(s[1])), graph.IntsAttr("dilations", int64(d[0]), int64(d[1])),
				graph.IntsAttr("pads", int64(pb[0]), int64(pb[1]), int64(pe[0]), int64(pe[1])),
				graph.IntsAttr("output_padding", int64(op[0]), int64(op[1])))
			got := runNode(t, node, 11, testTensor(graph.Float64, xs, x), testTensor(graph.Float64, ws, w), testTensor(graph.Float64, []int{mg * group}, b))
			want := trConvTransposeRef(x, w, b, xs, ws, group, s, d, pb, out)
			checkTensor(t, "ConvTranspose", got[0], []int{n, mg * group, out[0], out[1]}, want, tolF64)

			// The same geometry through output_shape: pads are derived and
			// split with the odd unit at the end.
			full := [2]int{out[0] + pb[0] + pe[0], out[1] + pb[1] + pe[1]}
			node = testNode("ConvTranspose", graph.IntAttr("group", int64(group)),
				graph.IntsAttr("strides", int64(s[0]), int64(s[1])), graph.IntsAttr("dilations", int64(d[0]), int64(d[1])),
				graph.IntsAttr("output_padding", int64(op[0]), int64(op[1])), graph.IntsAttr("output_shape", int64(out[0]), int64(out[1])))
			got = runNode(t, node, 11, testTensor(graph.Float64, xs, x), testTensor(graph.Float64, ws, w))
			derived := [2]int{(full[0] - out[0]) / 2, (full[1] - out[1]) / 2}
			want = trConvTransposeRef(x, w, nil, xs, ws, group, s, d, derived, out)
			checkTensor(t, "ConvTranspose output_shape", got[0], []int{n, mg * group, out[0], out[1]}, want, tolF64)
		}
	})
}

func TestConvTransposeErrors(t *testing.T) {
	x := float32s([]int{1, 2, 3}, 1, 2, 3, 4, 5, 6)
	n := testNode("ConvTranspose")
	wantErr(t, "channels", runNodeErr(t, n, 11, x, float32s([]int{1, 1, 2}, 1, 1)), "input channels")
	wantErr(t, "rank", runNodeErr(t, n, 11, x, float32s([]int{2, 1}, 1, 1)), "does not match")
	wantErr(t, "pads", runNodeErr(t, testNode("ConvTranspose", graph.IntsAttr("pads", 1)), 11, x, float32s([]int{2, 1, 1}, 1, 1)), "pads")
	wantErr(t, "bias", runNodeErr(t, n, 11, x, float32s([]int{2, 1, 1}, 1, 1), float32s([]int{2}, 1, 1)), "bias")
	wantErr(t, "negative size", runNodeErr(t, testNode("ConvTranspose", graph.IntsAttr("pads", 3, 3)), 11, x, float32s([]int{2, 1, 1}, 1, 1)), "output size")
	_, err := Build(testNode("ConvTranspose", graph.IntAttr("group", 0)), 11)
	wantErr(t, "group", err, "group")
}
