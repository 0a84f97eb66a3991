package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// rotaryCase is one configuration of RotaryEmbedding; cacheLen 0 means
// caches per (batch, position) without position_ids.
type rotaryCase struct {
	batch, heads, seq, headDim, rotaryDim, cacheLen int
	threeD, interleaved                             bool
}

var rotaryCases = []rotaryCase{
	{batch: 2, heads: 3, seq: 4, headDim: 8, cacheLen: 10},
	{batch: 2, heads: 3, seq: 4, headDim: 8, cacheLen: 10, interleaved: true},
	{batch: 1, heads: 2, seq: 3, headDim: 6, cacheLen: 5, threeD: true},
	{batch: 2, heads: 2, seq: 3, headDim: 8, rotaryDim: 4},
	{batch: 2, heads: 1, seq: 3, headDim: 10, rotaryDim: 6, cacheLen: 7, interleaved: true, threeD: true},
}

func (c rotaryCase) node() *graph.Node {
	n := testNode("RotaryEmbedding")
	if c.interleaved {
		n.Attrs = append(n.Attrs, graph.IntAttr("interleaved", 1))
	}
	if c.rotaryDim != 0 {
		n.Attrs = append(n.Attrs, graph.IntAttr("rotary_embedding_dim", int64(c.rotaryDim)))
	}
	if c.threeD {
		n.Attrs = append(n.Attrs, graph.IntAttr("num_heads", int64(c.heads)))
	}
	return n
}

// inputs returns the op's inputs in dtype (X given 3-D when c.threeD,
// caches of random angles' cosines and sines, position ids when
// c.cacheLen > 0), and X's 4-D values, the caches and the positions.
func (c rotaryCase) inputs(rng *rand.Rand, dtype graph.DType) (in []*tensor.Tensor, x4, cos, sin []float64, pos []int64) {
	rd := c.rotaryDim
	if rd == 0 {
		rd = c.headDim
	}
	x4 = randomNormal(rng, c.batch*c.heads*c.seq*c.headDim)
	rows := c.cacheLen
	cacheShape := []int{c.cacheLen, rd / 2}
	if c.cacheLen == 0 {
		rows = c.batch * c.seq
		cacheShape = []int{c.batch, c.seq, rd / 2}
	}
	for range rows * rd / 2 {
		angle := 2 * math.Pi * rng.Float64()
		cos, sin = append(cos, math.Cos(angle)), append(sin, math.Sin(angle))
	}
	xs, shape := x4, []int{c.batch, c.heads, c.seq, c.headDim}
	if c.threeD {
		xs, shape = to3D(x4, c.batch, c.heads, c.seq, c.headDim), []int{c.batch, c.seq, c.heads * c.headDim}
	}
	in = []*tensor.Tensor{testTensor(dtype, shape, xs), testTensor(dtype, cacheShape, cos), testTensor(dtype, cacheShape, sin)}
	if c.cacheLen > 0 {
		for range c.batch * c.seq {
			pos = append(pos, int64(rng.IntN(c.cacheLen)))
		}
		ids := int64s(pos...)
		ids.Shape = []int{c.batch, c.seq}
		in = append(in, ids)
	}
	return in, x4, cos, sin, pos
}

// reference rotates 4-D x4 by the definition, as complex products.
func (c rotaryCase) reference(x4, cos, sin []float64, pos []int64) []float64 {
	rd := c.rotaryDim
	if rd == 0 {
		rd = c.headDim
	}
	y := append([]float64(nil), x4...)
	for b := range c.batch {
		for h := range c.heads {
			for s := range c.seq {
				row := b*c.seq + s
				if pos != nil {
					row = int(pos[b*c.seq+s])
				}
				head := x4[((b*c.heads+h)*c.seq+s)*c.headDim:]
				out := y[((b*c.heads+h)*c.seq+s)*c.headDim:]
				for k := range rd / 2 {
					re, im := k, k+rd/2
					if c.interleaved {
						re, im = 2*k, 2*k+1
					}
					z := complex(head[re], head[im]) * complex(cos[row*rd/2+k], sin[row*rd/2+k])
					out[re], out[im] = real(z), imag(z)
				}
			}
		}
	}
	return y
}

func TestRotaryEmbeddingMatchesReference(t *testing.T) {
	for i, c := range rotaryCases {
		for _, dtype := range []graph.DType{graph.Float32, graph.Float64} {
			rng := rand.New(rand.NewPCG(uint64(i), 23))
			in, x4, _, _, pos := c.inputs(rng, dtype)
			out := runNode(t, c.node(), 23, in...)
			want := c.reference(testValues(t, testTensor(dtype, []int{len(x4)}, x4)), testValues(t, in[1]), testValues(t, in[2]), pos)
			if c.threeD {
				want = to3D(want, c.batch, c.heads, c.seq, c.headDim)
			}
			tol := tolF32
			if dtype == graph.Float64 {
				tol = tolF64
			}
			checkTensor(t, fmt.Sprintf("%+v %v", c, dtype), out[0], in[0].Shape, want, tol)
		}
	}
}

func TestRotaryEmbeddingBackwardMatchesFiniteDifferences(t *testing.T) {
	for i, c := range rotaryCases {
		rng := rand.New(rand.NewPCG(uint64(i), 64))
		in, _, _, _, _ := c.inputs(rng, graph.Float64)
		checkGradients64(t, fmt.Sprintf("%+v", c), buildOp(t, c.node(), 23), in, []int{0, 1, 2}, rng, tolFiniteDiff64)
	}
	rng := rand.New(rand.NewPCG(9, 32))
	in, _, _, _, _ := rotaryCases[1].inputs(rng, graph.Float32)
	checkGradients(t, "RotaryEmbedding float32", buildOp(t, rotaryCases[1].node(), 23), in, []int{0, 1, 2}, rng, tolFiniteDiff)
}

func TestRotaryEmbeddingRejectsBadInputs(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.Float32(shape...) }
	pos := func(ids ...int64) *tensor.Tensor { return int64s(ids...).Reshaped(1, len(ids)) }
	n := testNode("RotaryEmbedding")
	wantErr(t, "3-D without heads", runNodeErr(t, n, 23, f(1, 2, 8), f(4, 4), f(4, 4), pos(0, 1)), "num_heads")
	wantErr(t, "position out of cache", runNodeErr(t, n, 23, f(1, 1, 2, 8), f(4, 4), f(4, 4), pos(0, 4)), "outside")
	wantErr(t, "cache width", runNodeErr(t, n, 23, f(1, 1, 2, 8), f(4, 3), f(4, 3), pos(0, 1)), "[M, 4]")
	wantErr(t, "cache without positions", runNodeErr(t, n, 23, f(1, 1, 2, 8), f(4, 4), f(4, 4)), "[1, 2, 4]")
	wantErr(t, "odd rotary dim", runNodeErr(t, testNode("RotaryEmbedding", graph.IntAttr("rotary_embedding_dim", 3)), 23, f(1, 1, 2, 8), f(4, 1), f(4, 1), pos(0, 1)), "even")
	wantErr(t, "rank", runNodeErr(t, n, 23, f(2, 8), f(4, 4), f(4, 4)), "3-D or 4-D")
}
