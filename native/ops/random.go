package ops

// Random generators: RandomUniform, RandomNormal, RandomUniformLike,
// RandomNormalLike (opset 1), Multinomial (opset 7) and Bernoulli
// (opset 15).
//
//	RandomUniform      shape (attribute) -> values in [low, high), default [0, 1)
//	RandomNormal       shape (attribute) -> mean + scale*N(0, 1), default mean 0, scale 1
//	Random*Like        input -> values of the input's shape (and type, unless dtype is set)
//	Bernoulli          input p -> 1 with probability p, else 0, typed dtype or as the input
//	Multinomial        input [B, C] unnormalised log-probabilities -> [B, sample_size]
//	                   class indices drawn from softmax(input), int32 (dtype) or int64
//
// With the seed attribute, every run draws the same values from a source
// seeded with it; without it, draws come from the executor's
// per-node source (Context.Rand).

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// randomOps is the operator table of random.go (see registry.go).
var randomOps = []Entry{
	{OpType: "RandomUniform", Since: []int64{1}, Build: newRandomFill(false, false)},
	{OpType: "RandomNormal", Since: []int64{1}, Build: newRandomFill(true, false)},
	{OpType: "RandomUniformLike", Since: []int64{1}, Build: newRandomFill(false, true)},
	{OpType: "RandomNormalLike", Since: []int64{1}, Build: newRandomFill(true, true)},
	{OpType: "Bernoulli", Since: []int64{15}, Build: newBernoulli},
	{OpType: "Multinomial", Since: []int64{7}, Build: newMultinomial},
}

// maxOutputElements bounds the outputs that the ops of this file family
// (random, vision, text, recurrent, transposed convolution) size from
// attributes or input values, so that a malformed model gets an error
// instead of exhausting memory.
const maxOutputElements = 1 << 28

// checkOutputSize fails when shape holds more than maxOutputElements
// elements (or has a negative dimension).
func checkOutputSize(shape ...int) error {
	total := 1.0
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("output shape %v has a negative dimension", shape)
		}
		total *= float64(d)
	}
	if total > maxOutputElements {
		return fmt.Errorf("output shape %v holds more than %d elements", shape, maxOutputElements)
	}
	return nil
}

// randomSeed is the optional seed attribute.
type randomSeed struct {
	set  bool
	seed float32
}

func decodeSeed(n *graph.Node) (randomSeed, error) {
	s, err := n.Declared().Float("seed")
	return randomSeed{set: n.HasAttr("seed"), seed: s}, err
}

// errNoRandomSource says that neither a seed nor a context source exists.
var errNoRandomSource = errors.New("no seed attribute and no random source in the context")

// source returns the generator for one run.
func (s randomSeed) source(ctx *Context) (*rand.Rand, error) {
	if s.set {
		bits := uint64(math.Float32bits(s.seed))
		return rand.New(rand.NewPCG(bits, bits^0x9e3779b97f4a7c15)), nil
	}
	if ctx == nil || ctx.Rand == nil {
		return nil, errNoRandomSource
	}
	return ctx.Rand, nil
}

// randomDType decodes attribute dtype, which allowed must accept. When
// it is absent and the operator declares no default (the Like forms,
// Bernoulli), it returns Undefined: the input's type.
func randomDType(n *graph.Node, allowed func(graph.DType) bool) (graph.DType, error) {
	r := n.Declared()
	if !r.Has("dtype") && !r.HasDefault("dtype") {
		return graph.Undefined, nil
	}
	v, err := r.Int("dtype")
	if err != nil {
		return 0, err
	}
	dt := graph.DType(v)
	if !allowed(dt) {
		return 0, attrError(n, "dtype", "%d is not a supported output type", v)
	}
	return dt, nil
}

// randomFill is RandomUniform, RandomNormal and their Like forms.
type randomFill struct {
	normal, like bool
	dtype        graph.DType // Undefined: the input's type (Like only)
	shape        []int
	a, b         float64 // low, high or mean, scale
	seed         randomSeed
}

func newRandomFill(normal, like bool) Constructor {
	return func(n *graph.Node, _ int64) (Op, error) {
		o := &randomFill{normal: normal, like: like}
		var err error
		if o.dtype, err = randomDType(n, isFloatDType); err != nil {
			return nil, err
		}
		if !like {
			dims, err := n.Declared().Ints("shape")
			if err != nil {
				return nil, err
			}
			if !n.HasAttr("shape") {
				return nil, attrError(n, "shape", "is required")
			}
			for _, d := range dims {
				if d < 0 || d > math.MaxInt32 {
					return nil, attrError(n, "shape", "dimension %d is out of range", d)
				}
				o.shape = append(o.shape, int(d))
			}
			if err := checkOutputSize(o.shape...); err != nil {
				return nil, attrError(n, "shape", "%v", err)
			}
		}
		names := [2]string{"low", "high"}
		if normal {
			names = [2]string{"mean", "scale"}
		}
		a, err := n.Declared().Float(names[0])
		if err != nil {
			return nil, err
		}
		b, err := n.Declared().Float(names[1])
		if err != nil {
			return nil, err
		}
		o.a, o.b = float64(a), float64(b)
		if o.seed, err = decodeSeed(n); err != nil {
			return nil, err
		}
		return o, nil
	}
}

func (o *randomFill) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	shape, dt := o.shape, o.dtype
	if o.like {
		if err := checkArity(in, 1, -1); err != nil {
			return nil, err
		}
		shape = in[0].Shape
		if dt == graph.Undefined {
			dt = in[0].DType
		}
		if !isFloatDType(dt) {
			return nil, fmt.Errorf("output type %v is not a float type; set dtype", dt)
		}
	}
	if err := ctx.checkOutput(graph.Float64, shape); err != nil { // drawn in float64
		return nil, err
	}
	rng, err := o.seed.source(ctx)
	if err != nil {
		return nil, err
	}
	vals := make([]float64, tensor.NumElements(shape))
	for i := range vals {
		if o.normal {
			vals[i] = o.a + o.b*rng.NormFloat64()
		} else {
			vals[i] = o.a + (o.b-o.a)*rng.Float64()
		}
	}
	return []*tensor.Tensor{float64sToDType(vals, dt, shape)}, nil
}

// bernoulli is Bernoulli.
type bernoulli struct {
	dtype graph.DType // Undefined: the input's type
	seed  randomSeed
}

func newBernoulli(n *graph.Node, _ int64) (Op, error) {
	dt, err := randomDType(n, func(dt graph.DType) bool { return isRealDType(dt) || dt == graph.Bool })
	if err != nil {
		return nil, err
	}
	seed, err := decodeSeed(n)
	if err != nil {
		return nil, err
	}
	return &bernoulli{dtype: dt, seed: seed}, nil
}

func (o *bernoulli) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	p, err := floatValues(in[0], "input")
	if err != nil {
		return nil, err
	}
	rng, err := o.seed.source(ctx)
	if err != nil {
		return nil, err
	}
	dt := o.dtype
	if dt == graph.Undefined {
		dt = in[0].DType
	}
	draws := make([]float64, len(p))
	for i, v := range p {
		if rng.Float64() < v {
			draws[i] = 1
		}
	}
	if dt == graph.Bool {
		b := make([]bool, len(draws))
		for i, v := range draws {
			b[i] = v == 1
		}
		return []*tensor.Tensor{{DType: graph.Bool, Shape: append([]int(nil), in[0].Shape...), Data: b}}, nil
	}
	return []*tensor.Tensor{float64sAs(draws, dt, in[0].Shape)}, nil
}

// multinomial is Multinomial.
type multinomial struct {
	dtype   graph.DType
	samples int
	seed    randomSeed
}

func newMultinomial(n *graph.Node, _ int64) (Op, error) {
	dt, err := randomDType(n, func(dt graph.DType) bool { return dt == graph.Int32 || dt == graph.Int64 })
	if err != nil {
		return nil, err
	}
	s, err := n.Declared().Int("sample_size")
	if err != nil {
		return nil, err
	}
	if s < 1 || s > math.MaxInt32 {
		return nil, attrError(n, "sample_size", "is %d, want a positive count", s)
	}
	seed, err := decodeSeed(n)
	if err != nil {
		return nil, err
	}
	return &multinomial{dtype: dt, samples: int(s), seed: seed}, nil
}

func (o *multinomial) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() != 2 || x.Shape[1] == 0 {
		return nil, fmt.Errorf("input %v: want [batch, classes] with at least one class", x.Shape)
	}
	logits, err := floatValues(x, "input")
	if err != nil {
		return nil, err
	}
	rng, err := o.seed.source(ctx)
	if err != nil {
		return nil, err
	}
	batch, classes := x.Shape[0], x.Shape[1]
	if err := checkOutputSize(batch, o.samples); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Float64, []int{batch, o.samples}); err != nil {
		return nil, err
	}
	out := make([]float64, batch*o.samples)
	cum := make([]float64, classes)
	for b := 0; b < batch; b++ {
		row := logits[b*classes : (b+1)*classes]
		hi := math.Inf(-1)
		for _, v := range row {
			hi = math.Max(hi, v)
		}
		total := 0.0
		for c, v := range row {
			total += math.Exp(v - hi)
			cum[c] = total
		}
		for s := 0; s < o.samples; s++ {
			u := rng.Float64() * total
			c := 0
			for c < classes-1 && cum[c] <= u {
				c++
			}
			out[b*o.samples+s] = float64(c)
		}
	}
	return []*tensor.Tensor{float64sAs(out, o.dtype, []int{batch, o.samples})}, nil
}
