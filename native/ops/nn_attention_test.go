package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// attentionCase is one configuration of Attention. Sizes follow
// nn_attention.go's legend; maskShape nil means no mask, past 0 no
// past_key/past_value, nonpad nil no nonpad_kv_seqlen.
type attentionCase struct {
	name                                string
	batch, qHeads, kvHeads, qLen, kvLen int
	past, headDim, vHeadDim             int
	threeD, causal, maskBool            bool
	maskShape                           []int
	scale, softcap                      float32
	nonpad                              []int64
	mode                                int64
	wantPresent, wantQK                 bool
}

var attentionCases = []attentionCase{
	{name: "mha 4-D", batch: 2, qHeads: 3, kvHeads: 3, qLen: 4, kvLen: 6, headDim: 8, vHeadDim: 8},
	{name: "gqa 4-D, v head size", batch: 2, qHeads: 6, kvHeads: 2, qLen: 3, kvLen: 5, headDim: 4, vHeadDim: 6},
	{name: "mqa 3-D causal", batch: 1, qHeads: 4, kvHeads: 1, qLen: 5, kvLen: 5, headDim: 4, vHeadDim: 3, threeD: true, causal: true},
	{name: "3-D float mask 2-D, scale", batch: 2, qHeads: 2, kvHeads: 2, qLen: 3, kvLen: 4, headDim: 5, vHeadDim: 5, threeD: true, maskShape: []int{3, 4}, scale: 0.3},
	{name: "bool mask 4-D, short columns", batch: 2, qHeads: 2, kvHeads: 1, qLen: 3, kvLen: 5, headDim: 4, vHeadDim: 4, maskShape: []int{2, 1, 3, 4}, maskBool: true},
	{name: "past, causal, float mask 3-D, present", batch: 2, qHeads: 4, kvHeads: 2, qLen: 2, kvLen: 2, past: 3, headDim: 4, vHeadDim: 5, causal: true, maskShape: []int{4, 2, 5}, wantPresent: true},
	{name: "3-D past, softcap, qk mode 0", batch: 1, qHeads: 2, kvHeads: 2, qLen: 3, kvLen: 3, past: 2, headDim: 4, vHeadDim: 4, threeD: true, softcap: 1.5, maskShape: []int{1, 5}, wantPresent: true, wantQK: true},
	{name: "softcap, qk mode 1", batch: 1, qHeads: 2, kvHeads: 1, qLen: 3, kvLen: 4, headDim: 4, vHeadDim: 4, softcap: 2, maskShape: []int{3, 4}, mode: 1, wantQK: true},
	{name: "qk mode 2", batch: 2, qHeads: 2, kvHeads: 2, qLen: 2, kvLen: 3, headDim: 3, vHeadDim: 3, maskShape: []int{2, 1, 1, 3}, mode: 2, wantQK: true},
	{name: "qk mode 3, causal", batch: 1, qHeads: 2, kvHeads: 2, qLen: 4, kvLen: 4, headDim: 3, vHeadDim: 3, causal: true, mode: 3, wantQK: true},
	{name: "nonpad, causal decode", batch: 2, qHeads: 4, kvHeads: 2, qLen: 1, kvLen: 6, headDim: 4, vHeadDim: 4, causal: true, nonpad: []int64{3, 6}},
	{name: "nonpad with mask", batch: 2, qHeads: 2, kvHeads: 2, qLen: 3, kvLen: 5, headDim: 4, vHeadDim: 4, maskShape: []int{2, 1, 3, 5}, nonpad: []int64{5, 2}},
	{name: "fully masked rows", batch: 1, qHeads: 1, kvHeads: 1, qLen: 3, kvLen: 4, headDim: 4, vHeadDim: 4, maskShape: []int{3, 4}, maskBool: true, mode: 3, wantQK: true},
}

// node returns the case's Attention node, naming the outputs it wants.
func (c attentionCase) node() *graph.Node {
	n := testNode("Attention", graph.IntAttr("qk_matmul_output_mode", c.mode))
	if c.causal {
		n.Attrs = append(n.Attrs, graph.IntAttr("is_causal", 1))
	}
	if c.threeD {
		n.Attrs = append(n.Attrs, graph.IntAttr("q_num_heads", int64(c.qHeads)), graph.IntAttr("kv_num_heads", int64(c.kvHeads)))
	}
	if c.scale != 0 {
		n.Attrs = append(n.Attrs, graph.FloatAttr("scale", c.scale))
	}
	if c.softcap != 0 {
		n.Attrs = append(n.Attrs, graph.FloatAttr("softcap", c.softcap))
	}
	n.Outputs = []string{"Y", "", "", ""}
	if c.wantPresent {
		n.Outputs[1], n.Outputs[2] = "present_key", "present_value"
	}
	if c.wantQK {
		n.Outputs[3] = "qk"
	}
	return n
}

// attentionData is a case's random inputs, all 4-D ([B, H, S, d]) and
// in float64.
type attentionData struct {
	q, k, v, pk, pv, mask []float64
}

func (c attentionCase) data(rng *rand.Rand) attentionData {
	d := attentionData{
		q: randomNormal(rng, c.batch*c.qHeads*c.qLen*c.headDim),
		k: randomNormal(rng, c.batch*c.kvHeads*c.kvLen*c.headDim),
		v: randomNormal(rng, c.batch*c.kvHeads*c.kvLen*c.vHeadDim),
	}
	if c.past > 0 {
		d.pk = randomNormal(rng, c.batch*c.kvHeads*c.past*c.headDim)
		d.pv = randomNormal(rng, c.batch*c.kvHeads*c.past*c.vHeadDim)
	}
	if c.maskShape != nil {
		d.mask = randomNormal(rng, tensor.NumElements(c.maskShape))
		if c.maskBool {
			for i := range d.mask {
				d.mask[i] = float64(rng.IntN(3) % 2) // 1 (attend) a third of the time
			}
			if c.name == "fully masked rows" {
				copy(d.mask, []float64{0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0})
			}
		}
	}
	return d
}

// to3D rearranges [B, H, S, d] values as [B, S, H*d].
func to3D(x []float64, b, h, s, d int) []float64 {
	out := make([]float64, len(x))
	for i := range b {
		for j := range h {
			for k := range s {
				copy(out[((i*s+k)*h+j)*d:][:d], x[((i*h+j)*s+k)*d:][:d])
			}
		}
	}
	return out
}

// inputs returns the op's inputs in dtype (the mask bool or dtype).
func (c attentionCase) inputs(d attentionData, dtype graph.DType) []*tensor.Tensor {
	tq, tk, tv := d.q, d.k, d.v
	qs := []int{c.batch, c.qHeads, c.qLen, c.headDim}
	ks := []int{c.batch, c.kvHeads, c.kvLen, c.headDim}
	vs := []int{c.batch, c.kvHeads, c.kvLen, c.vHeadDim}
	if c.threeD {
		tq, tk, tv = to3D(tq, c.batch, c.qHeads, c.qLen, c.headDim), to3D(tk, c.batch, c.kvHeads, c.kvLen, c.headDim), to3D(tv, c.batch, c.kvHeads, c.kvLen, c.vHeadDim)
		qs, ks, vs = []int{c.batch, c.qLen, c.qHeads * c.headDim}, []int{c.batch, c.kvLen, c.kvHeads * c.headDim}, []int{c.batch, c.kvLen, c.kvHeads * c.vHeadDim}
	}
	in := []*tensor.Tensor{testTensor(dtype, qs, tq), testTensor(dtype, ks, tk), testTensor(dtype, vs, tv)}
	if c.maskShape != nil || c.past > 0 || c.nonpad != nil {
		var m *tensor.Tensor
		if c.maskShape != nil {
			mt := dtype
			if c.maskBool {
				mt = graph.Bool
			}
			m = testTensor(mt, c.maskShape, d.mask)
		}
		in = append(in, m)
	}
	if c.past > 0 || c.nonpad != nil {
		var pk, pv *tensor.Tensor
		if c.past > 0 {
			pk = testTensor(dtype, []int{c.batch, c.kvHeads, c.past, c.headDim}, d.pk)
			pv = testTensor(dtype, []int{c.batch, c.kvHeads, c.past, c.vHeadDim}, d.pv)
		}
		in = append(in, pk, pv)
	}
	if c.nonpad != nil {
		in = append(in, int64s(c.nonpad...))
	}
	return in
}

// reference computes Y (4-D), present_key, present_value and the qk
// output in float64 by the definition, element by element.
func (c attentionCase) reference(d attentionData) (y, presentK, presentV, qk []float64) {
	total := c.past + c.kvLen
	concat := func(past, cur []float64, dh int) []float64 {
		out := make([]float64, 0, c.batch*c.kvHeads*total*dh)
		for b := range c.batch {
			for h := range c.kvHeads {
				if past != nil {
					out = append(out, past[(b*c.kvHeads+h)*c.past*dh:][:c.past*dh]...)
				}
				out = append(out, cur[(b*c.kvHeads+h)*c.kvLen*dh:][:c.kvLen*dh]...)
			}
		}
		return out
	}
	presentK, presentV = concat(d.pk, d.k, c.headDim), concat(d.pv, d.v, c.vHeadDim)
	scale := float64(c.scale)
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(c.headDim))
	}
	negInf := math.Inf(-1)
	y = make([]float64, c.batch*c.qHeads*c.qLen*c.vHeadDim)
	qk = make([]float64, c.batch*c.qHeads*c.qLen*total)
	for b := range c.batch {
		for h := range c.qHeads {
			kh := h / (c.qHeads / c.kvHeads)
			for i := range c.qLen {
				z := make([]float64, total)
				live := false
				for j := range total {
					s := 0.0
					for e := range c.headDim {
						s += d.q[((b*c.qHeads+h)*c.qLen+i)*c.headDim+e] * presentK[((b*c.kvHeads+kh)*total+j)*c.headDim+e]
					}
					s *= scale
					cp := s
					if c.softcap > 0 {
						cp = float64(c.softcap) * math.Tanh(s/float64(c.softcap))
					}
					bias := 0.0
					if c.maskShape != nil {
						ms := c.maskShape
						coord := []int{b, h, i, j}[4-len(ms):]
						if j >= ms[len(ms)-1] {
							bias = negInf
						} else {
							for a := range coord {
								if ms[a] == 1 {
									coord[a] = 0
								}
							}
							mv := d.mask[flatIndex(coord, ms)]
							switch {
							case !c.maskBool:
								bias = mv
							case mv == 0:
								bias = negInf
							}
						}
					}
					offset := c.past
					if c.nonpad != nil && c.past == 0 {
						offset = int(c.nonpad[b]) - c.qLen
					}
					if c.causal && j > i+offset || c.nonpad != nil && j >= int(c.nonpad[b]) {
						bias = negInf
					}
					live = live || bias != negInf
					z[j] = cp + bias
					out := []float64{s, cp, z[j]}
					if c.mode < 3 {
						qk[((b*c.qHeads+h)*c.qLen+i)*total+j] = out[c.mode]
					}
				}
				m := negInf
				for _, v := range z {
					m = math.Max(m, v)
				}
				sum := 0.0
				for j, v := range z {
					z[j] = math.Exp(v - m)
					sum += z[j]
				}
				for j := range z {
					z[j] /= sum
					if !live {
						z[j] = 0
					}
					if c.mode == 3 {
						qk[((b*c.qHeads+h)*c.qLen+i)*total+j] = z[j]
					}
				}
				for e := range c.vHeadDim {
					s := 0.0
					for j, p := range z {
						s += p * presentV[((b*c.kvHeads+kh)*total+j)*c.vHeadDim+e]
					}
					y[((b*c.qHeads+h)*c.qLen+i)*c.vHeadDim+e] = s
				}
			}
		}
	}
	return y, presentK, presentV, qk
}

// tolAttention32 bounds float32 attention against the float64 reference:
// sums of tens of products of unit normals, rounded in float32.
var tolAttention32 = tolerance{name: "float32 attention", abs: 2e-5, rel: 1e-4}

func TestAttentionMatchesReference(t *testing.T) {
	for _, dtype := range []graph.DType{graph.Float32, graph.Float64} {
		tol, copied := tolAttention32, tolF32 // copies round to float32
		if dtype == graph.Float64 {
			tol, copied = tolF64, tolExact
		}
		for i, c := range attentionCases {
			rng := rand.New(rand.NewPCG(uint64(i), 23))
			d := c.data(rng)
			what := fmt.Sprintf("%s (%v)", c.name, dtype)
			out := runNode(t, c.node(), 24, c.inputs(d, dtype)...)
			y, pk, pv, qk := c.reference(d)
			yShape := []int{c.batch, c.qHeads, c.qLen, c.vHeadDim}
			if c.threeD {
				y = to3D(y, c.batch, c.qHeads, c.qLen, c.vHeadDim)
				yShape = []int{c.batch, c.qLen, c.qHeads * c.vHeadDim}
			}
			checkTensor(t, what+" Y", out[0], yShape, y, tol)
			total := c.past + c.kvLen
			if c.wantPresent {
				checkTensor(t, what+" present_key", out[1], []int{c.batch, c.kvHeads, total, c.headDim}, pk, copied)
				checkTensor(t, what+" present_value", out[2], []int{c.batch, c.kvHeads, total, c.vHeadDim}, pv, copied)
			} else if out[1] != nil || out[2] != nil {
				t.Errorf("%s: present outputs computed though not named", what)
			}
			if c.wantQK {
				checkTensor(t, what+" qk_matmul_output", out[3], []int{c.batch, c.qHeads, c.qLen, total}, qk, tol)
			}
		}
	}
}

func TestAttentionHalfFloat(t *testing.T) {
	c := attentionCases[1]
	d := c.data(rand.New(rand.NewPCG(5, 16)))
	y, _, _, _ := c.reference(d)
	out := runNode(t, c.node(), 23, c.inputs(d, graph.Float16)...)
	// Inputs rounded to float16 (relative 5e-4) and the output too.
	checkTensor(t, "float16 Y", out[0], []int{c.batch, c.qHeads, c.qLen, c.vHeadDim}, y, tolerance{name: "float16 attention", abs: 5e-3, rel: 5e-3})
}

func TestAttentionBackwardMatchesFiniteDifferences(t *testing.T) {
	for i, c := range attentionCases {
		rng := rand.New(rand.NewPCG(uint64(i), 64))
		d := c.data(rng)
		in := c.inputs(d, graph.Float64)
		wrt := []int{0, 1, 2}
		if c.maskShape != nil && !c.maskBool {
			wrt = append(wrt, 3)
		}
		if c.past > 0 {
			wrt = append(wrt, 4, 5)
		}
		checkGradients64(t, c.name, buildOp(t, c.node(), 24), in, wrt, rng, tolFiniteDiff64)
	}
}

func TestAttentionBackwardFloat32(t *testing.T) {
	c := attentionCases[6] // every output named: checkGradients weighs them all
	rng := rand.New(rand.NewPCG(7, 32))
	in := c.inputs(c.data(rng), graph.Float32)
	checkGradients(t, c.name, buildOp(t, c.node(), 23), in, []int{0, 1, 2, 3, 4, 5}, rng, tolFiniteDiff)
}

func TestAttentionRejectsBadInputs(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.Float32(shape...) }
	node := testNode("Attention")
	three := testNode("Attention", graph.IntAttr("q_num_heads", 3), graph.IntAttr("kv_num_heads", 2))
	for _, tc := range []struct {
		name string
		n    *graph.Node
		in   []*tensor.Tensor
		want string
	}{
		{"rank mix", node, []*tensor.Tensor{f(1, 2, 3, 4), f(1, 2, 4), f(1, 2, 3, 4)}, "must all be 3-D or all 4-D"},
		{"heads", node, []*tensor.Tensor{f(1, 3, 2, 4), f(1, 2, 2, 4), f(1, 2, 2, 4)}, "not a multiple"},
		{"3-D without heads", node, []*tensor.Tensor{f(1, 2, 8), f(1, 2, 8), f(1, 2, 8)}, "q_num_heads"},
		{"3-D hidden", three, []*tensor.Tensor{f(1, 2, 8), f(1, 2, 8), f(1, 2, 8)}, "not multiples"},
		{"head size", node, []*tensor.Tensor{f(1, 2, 2, 4), f(1, 2, 2, 5), f(1, 2, 2, 4)}, "head size"},
		{"mask shape", node, []*tensor.Tensor{f(1, 2, 2, 4), f(1, 2, 3, 4), f(1, 2, 3, 4), f(3, 3)}, "does not broadcast"},
		{"mask columns", node, []*tensor.Tensor{f(1, 2, 2, 4), f(1, 2, 3, 4), f(1, 2, 3, 4), f(2, 4)}, "more than the 3 keys"},
		{"past alone", node, []*tensor.Tensor{f(1, 2, 2, 4), f(1, 2, 3, 4), f(1, 2, 3, 4), nil, f(1, 2, 1, 4), nil}, "together"},
		{"nonpad length", node, []*tensor.Tensor{f(2, 2, 2, 4), f(2, 2, 3, 4), f(2, 2, 3, 4), nil, nil, nil, int64s(1)}, "one length per batch"},
		{"int Q", node, []*tensor.Tensor{tensor.New(graph.Int64, 1, 1, 1, 1), f(1, 1, 1, 1), f(1, 1, 1, 1)}, "float type"},
	} {
		wantErr(t, tc.name, runNodeErr(t, tc.n, 24, tc.in...), tc.want)
	}
	if _, err := Build(testNode("Attention", graph.IntAttr("qk_matmul_output_mode", 4)), 23); err == nil {
		t.Error("qk_matmul_output_mode 4: no error")
	}
	if err := runNodeErr(t, node, 23, f(2, 2, 2, 4), f(2, 2, 3, 4), f(2, 2, 3, 4), nil, nil, nil, int64s(1, 2)); err == nil {
		t.Error("nonpad_kv_seqlen at opset 23: no error")
	}
}

// BenchmarkAttention times a BERT-base layer's attention at sequence 128
// (12 heads of 64) and a ViT-B/16's (197 patches).
func BenchmarkAttention(b *testing.B) {
	for _, seq := range []int{128, 197} {
		b.Run(fmt.Sprintf("B1_H12_S%d_D64", seq), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := func() *tensor.Tensor {
				return testTensor(graph.Float32, []int{1, 12, seq, 64}, randomNormal(rng, 12*seq*64))
			}
			flops := 4 * 12 * seq * seq * 64
			benchNode(b, testNode("Attention"), 23, int64(4*4*12*seq*64), x(), x(), x())
			b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func TestAttentionEmptySizes(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.Float32(shape...) }
	for _, tc := range []struct {
		name    string
		q, k, v *tensor.Tensor
		y       []int
	}{
		{"no queries", f(1, 2, 0, 4), f(1, 2, 3, 4), f(1, 2, 3, 5), []int{1, 2, 0, 5}},
		{"no keys", f(1, 2, 2, 4), f(1, 2, 0, 4), f(1, 2, 0, 5), []int{1, 2, 2, 5}},
		{"no batch", f(0, 2, 2, 4), f(0, 2, 3, 4), f(0, 2, 3, 5), []int{0, 2, 2, 5}},
	} {
		n := testNode("Attention", graph.IntAttr("is_causal", 1))
		out := runNode(t, n, 23, tc.q, tc.k, tc.v)
		// Without keys every row is fully masked: Y is 0.
		checkTensor(t, tc.name, out[0], tc.y, make([]float64, productOf(tc.y)), tolExact)
	}
}

// TestAttentionOverwritesPooledBuffers runs each case twice on one pool,
// handing the first run's outputs back filled with NaN in between: the
// second run must overwrite every element it reuses.
func TestAttentionOverwritesPooledBuffers(t *testing.T) {
	for i, c := range attentionCases {
		op := buildOp(t, c.node(), 24)
		in := c.inputs(c.data(rand.New(rand.NewPCG(uint64(i), 7))), graph.Float32)
		ctx := &Context{Pool: NewPool()}
		first, err := op.Forward(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want := make([][]float64, len(first))
		for j, y := range first {
			if y != nil {
				want[j] = testValues(t, y)
				for k := range y.F32() {
					y.F32()[k] = float32(math.NaN())
				}
				ctx.Pool.Put(y)
			}
		}
		second, err := op.Forward(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for j, y := range second {
			if y != nil {
				checkTensor(t, fmt.Sprintf("%s output %d", c.name, j), y, y.Shape, want[j], tolExact)
			}
		}
	}
}
