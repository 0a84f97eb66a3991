package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestDeformConvMatchesConv checks DeformConv against a direct float64
// convolution: with zero offsets and no mask it is that convolution, and
// with integer offsets it is the convolution of X shifted by them. Two
// groups and two offset groups, strides, pads and dilations included.
func TestDeformConvMatchesConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, c, h, w, oc, kh, kw := 2, 4, 6, 7, 4, 3, 2
	group, offsetGroup := 2, 2
	stride, pad, dil := []int{1, 2}, []int{1, 0, 1, 1}, []int{2, 1}
	xv := randomFor(rng, graph.Float64, n*c*h*w)
	wv := randomFor(rng, graph.Float64, oc*(c/group)*kh*kw)
	bv := randomFor(rng, graph.Float64, oc)
	oh := (h+pad[0]+pad[2]-dil[0]*(kh-1)-1)/stride[0] + 1
	ow := (w+pad[1]+pad[3]-dil[1]*(kw-1)-1)/stride[1] + 1
	node := testNode("DeformConv", graph.IntsAttr("strides", 1, 2), graph.IntsAttr("pads", 1, 0, 1, 1),
		graph.IntsAttr("dilations", 2, 1), graph.IntAttr("group", int64(group)), graph.IntAttr("offset_group", int64(offsetGroup)))
	// shift[g] is the integer (dy, dx) every tap of offset group g moves by.
	for _, shift := range [][2][2]int{{{0, 0}, {0, 0}}, {{1, -1}, {-2, 0}}} {
		off := make([]float64, n*offsetGroup*2*kh*kw*oh*ow)
		for i := range off {
			plane := i / (oh * ow)
			g := plane / (2 * kh * kw) % offsetGroup
			off[i] = float64(shift[g][plane%2])
		}
		want := make([]float64, n*oc*oh*ow)
		for b := range n {
			for f := range oc {
				gr := f / (oc / group)
				for y := range oh {
					for x := range ow {
						sum := bv[f]
						for cc := range c / group {
							ci := gr*(c/group) + cc
							g := ci / (c / offsetGroup)
							for i := range kh {
								for j := range kw {
									r := y*stride[0] - pad[0] + i*dil[0] + shift[g][0]
									s := x*stride[1] - pad[1] + j*dil[1] + shift[g][1]
									if r >= 0 && r < h && s >= 0 && s < w {
										sum += wv[((f*(c/group)+cc)*kh+i)*kw+j] * xv[((b*c+ci)*h+r)*w+s]
									}
								}
							}
						}
						want[((b*oc+f)*oh+y)*ow+x] = sum
					}
				}
			}
		}
		got := runNode(t, node, 19, testTensor(graph.Float64, []int{n, c, h, w}, xv), testTensor(graph.Float64, []int{oc, c / group, kh, kw}, wv),
			testTensor(graph.Float64, []int{n, offsetGroup * 2 * kh * kw, oh, ow}, off), testTensor(graph.Float64, []int{oc}, bv))[0]
		checkTensor(t, "DeformConv", got, []int{n, oc, oh, ow}, want, tolF64)
	}
	wantErr(t, "bad offset", runNodeErr(t, testNode("DeformConv"), 19, float32s([]int{1, 1, 2, 2}, 1, 2, 3, 4),
		float32s([]int{1, 1, 1, 1}, 1), float32s([]int{1, 1, 2, 2}, 0, 0, 0, 0)), "offset")
}
