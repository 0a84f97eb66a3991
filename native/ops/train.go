package ops

// Optimizer operators of the ai.onnx.preview.training domain (version 1):
// Adagrad, Momentum and Adam. Each updates k tensors at once; its inputs
// are R (learning rate, float scalar), T (update count, int64 scalar),
// then the k tensors X, then one group of k per state (G, then the
// optimizer's own: H for Adagrad, V for Momentum, V and H for Adam). The
// outputs are the k new X, then the k new values of each optimizer state.
// Per element, with g = norm_coefficient*X + G:
//
//	Adagrad   r = R/(1 + T*decay_factor); H' = H + g²; X' = X - r*g/(sqrt(H') + epsilon)
//	Momentum  b = beta if T > 0 else 1; V' = alpha*V + b*g;
//	          X' = X - R*V' ("standard") or X - R*(g + alpha*V') ("nesterov")
//	Adam      V' = alpha*V + (1-alpha)*g; H' = beta*H + (1-beta)*g²;
//	          r = R*sqrt(1 - beta^T)/(1 - alpha^T) if T > 0 else R;
//	          X' = (1 - norm_coefficient_post)*(X - r*V'/(sqrt(H') + epsilon))

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// optimizerKind selects the update rule.
type optimizerKind int

const (
	optAdagrad optimizerKind = iota
	optMomentum
	optAdam
)

// states is the number of per-tensor inputs after X: G and the
// optimizer's own state.
func (k optimizerKind) states() int { return [...]int{2, 2, 3}[k] }

// optimizer is one of the training operators with its attributes.
type optimizer struct {
	kind                optimizerKind
	normCoefficient     float64
	normCoefficientPost float64
	decayFactor         float64
	epsilon             float64
	alpha, beta         float64
	nesterov            bool
}

// trainOps is the operator table of train.go (see registry.go).
var trainOps = []Entry{
	{Domain: graph.TrainingDomain, OpType: "Adagrad", Since: []int64{1}, Build: newOptimizer(optAdagrad)},
	{Domain: graph.TrainingDomain, OpType: "Momentum", Since: []int64{1}, Build: newOptimizer(optMomentum)},
	{Domain: graph.TrainingDomain, OpType: "Adam", Since: []int64{1}, Build: newOptimizer(optAdam)},
}

// optimizerAttr is a float attribute with its default.
type optimizerAttr struct {
	name string
	dst  *float64
}

func newOptimizer(kind optimizerKind) Constructor {
	return func(n *graph.Node, _ int64) (Op, error) {
		o := &optimizer{kind: kind}
		attrs := []optimizerAttr{{"norm_coefficient", &o.normCoefficient}}
		switch kind {
		case optAdagrad:
			attrs = append(attrs, optimizerAttr{"decay_factor", &o.decayFactor}, optimizerAttr{"epsilon", &o.epsilon})
		case optMomentum:
			attrs = append(attrs, optimizerAttr{"alpha", &o.alpha}, optimizerAttr{"beta", &o.beta})
		case optAdam:
			attrs = append(attrs, optimizerAttr{"alpha", &o.alpha}, optimizerAttr{"beta", &o.beta},
				optimizerAttr{"epsilon", &o.epsilon}, optimizerAttr{"norm_coefficient_post", &o.normCoefficientPost})
		}
		for _, a := range attrs {
			if err := optimizerFloat(n, a.name, a.dst); err != nil {
				return nil, err
			}
		}
		if kind == optMomentum {
			if !n.HasAttr("mode") {
				return nil, attrError(n, "mode", "is required")
			}
			mode, err := n.Declared().String("mode")
			if err != nil {
				return nil, err
			}
			switch mode {
			case "standard":
			case "nesterov":
				o.nesterov = true
			default:
				return nil, attrError(n, "mode", "is %q, want standard or nesterov", mode)
			}
		}
		return o, nil
	}
}

// optimizerFloat reads float attribute name into dst.
func optimizerFloat(n *graph.Node, name string, dst *float64) error {
	v, err := n.Declared().Float(name)
	if err != nil {
		return err
	}
	*dst = float64(v)
	return nil
}

func (o *optimizer) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	groups := 1 + o.kind.states()
	if len(in) < 2+groups || (len(in)-2)%groups != 0 {
		return nil, fmt.Errorf("got %d inputs, want R, T and %d groups of tensors of the same count", len(in), groups)
	}
	if err := checkArity(in, len(in), -1); err != nil {
		return nil, err
	}
	rate, err := scalarFloatInput(in, 0, "R", 0)
	if err != nil {
		return nil, err
	}
	step, err := intScalar(in[1], "T")
	if err != nil {
		return nil, err
	}
	k := (len(in) - 2) / groups
	out := make([]*tensor.Tensor, (groups-1)*k) // new X, then each new state
	for i := 0; i < k; i++ {
		x := in[2+i]
		vals := make([][]float64, groups) // X, G, then the states
		for g := range vals {
			t := in[2+g*k+i]
			if !slices.Equal(t.Shape, x.Shape) || t.DType != x.DType {
				return nil, fmt.Errorf("input %d is %v, tensor X%d is %v", 2+g*k+i, t, i+1, x)
			}
			if vals[g], err = floatValues(t, fmt.Sprintf("input %d", 2+g*k+i)); err != nil {
				return nil, err
			}
		}
		next := make([][]float64, groups) // new X, then the new states
		for g := range next {
			next[g] = make([]float64, len(vals[0]))
		}
		o.update(rate, step, vals, next)
		out[i] = float64sToDType(next[0], x.DType, x.Shape)
		for s := 2; s < groups; s++ { // next[1] would be G's, which has none
			out[(s-1)*k+i] = float64sToDType(next[s], x.DType, x.Shape)
		}
	}
	return out, nil
}

// update applies one step to the values of X, G and the states in vals,
// writing the new X and states into next (next[1] is unused).
func (o *optimizer) update(rate float64, step int64, vals, next [][]float64) {
	x, grad := vals[0], vals[1]
	nx := next[0]
	t := float64(step)
	switch o.kind {
	case optAdagrad:
		h, nh := vals[2], next[2]
		r := rate / (1 + t*o.decayFactor)
		for i := range x {
			g := o.normCoefficient*x[i] + grad[i]
			nh[i] = h[i] + g*g
			nx[i] = x[i] - r*g/(math.Sqrt(nh[i])+o.epsilon)
		}
	case optMomentum:
		v, nv := vals[2], next[2]
		beta := o.beta
		if step <= 0 {
			beta = 1
		}
		for i := range x {
			g := o.normCoefficient*x[i] + grad[i]
			nv[i] = o.alpha*v[i] + beta*g
			if o.nesterov {
				nx[i] = x[i] - rate*(g+o.alpha*nv[i])
			} else {
				nx[i] = x[i] - rate*nv[i]
			}
		}
	case optAdam:
		v, h, nv, nh := vals[2], vals[3], next[2], next[3]
		r := rate
		if step > 0 {
			r = rate * math.Sqrt(1-math.Pow(o.beta, t)) / (1 - math.Pow(o.alpha, t))
		}
		for i := range x {
			g := o.normCoefficient*x[i] + grad[i]
			nv[i] = o.alpha*v[i] + (1-o.alpha)*g
			nh[i] = o.beta*h[i] + (1-o.beta)*g*g
			nx[i] = (1 - o.normCoefficientPost) * (x[i] - r*nv[i]/(math.Sqrt(nh[i])+o.epsilon))
		}
	}
}
