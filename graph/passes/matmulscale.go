package passes

import (
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// ScaleAfterMatMul returns a copy of m in which a MatMul operand scaled
// by a power of two is scaled after the product instead:
//
//	MatMul(Div(x, c), b)  ->  Div(MatMul(x, b), c)
//	MatMul(a, Mul(x, c))  ->  Mul(MatMul(a, x), c)   (either Mul operand)
//
// for c a float32 constant of rank 0 whose value is a power of two, the
// Div or Mul read by the MatMul alone, in a product of two computed
// values (neither operand constant). Attention scales its queries by
// 1/sqrt(head size) before the scores' product (PyTorch's
// MultiheadAttention: Div(q, 8) for heads of 64); scaled after, the
// scale joins the product's epilogue (FuseActivations' Scale) and the
// product reads the queries' Transpose in place. Scaling by a power of
// two changes no significand, so every product and partial sum is the
// one before, scaled: the results are bitwise the same unless a value
// in between is subnormal or overflows. A product by constant weights
// (a Linear layer) keeps its scaled operand: there the scale is the
// last step of the activation before (Gelu's Mul by 1/2), which the
// producer of the operand applies in its epilogue. m is not changed.
func ScaleAfterMatMul(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	u := newNames(g)
	x := newIndex(c, g)
	for _, n := range slices.Clone(g.Nodes) {
		if !isDefault(n, "MatMul") || len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Outputs[0] == "" {
			continue
		}
		for i := range 2 {
			if x.fusionConst(n.Inputs[0]) != nil || x.fusionConst(n.Inputs[1]) != nil {
				break
			}
			s, operand := x.powerOfTwoScale(n, n.Inputs[i])
			if s == nil {
				continue
			}
			// s now writes n's output; n writes a fresh value that s
			// scales. The scaled operand's name goes away.
			product := u.fresh(n.Outputs[0] + "_unscaled")
			x.remove(n)
			x.remove(s)
			dropValueInfo(g, s.Outputs[0])
			n.Inputs[i] = operand
			for j, in := range s.Inputs {
				if in == operand {
					s.Inputs[j] = product
				}
			}
			s.Outputs[0], n.Outputs[0] = n.Outputs[0], product
			g.Nodes = slices.DeleteFunc(g.Nodes, func(v *graph.Node) bool { return v == s })
			at := slices.Index(g.Nodes, n)
			g.Nodes = slices.Insert(g.Nodes, at+1, s)
			x.add(n)
			x.add(s)
		}
	}
	return c, nil
}

// powerOfTwoScale returns the Div or Mul that produces v, which MatMul
// n alone reads, when it divides or multiplies an operand (not itself a
// constant) by a float32 rank-0 constant that is a power of two, and
// that operand; nil otherwise.
func (x *index) powerOfTwoScale(n *graph.Node, v string) (*graph.Node, string) {
	s := x.producer[v]
	if s == nil || x.soleReader(v) != n || len(s.Inputs) != 2 || len(s.Outputs) != 1 || len(s.Attrs) != 0 {
		return nil, ""
	}
	var operand, c string
	switch {
	case isDefault(s, "Div"):
		operand, c = s.Inputs[0], s.Inputs[1]
	case isDefault(s, "Mul") && x.fusionConst(s.Inputs[1]) != nil:
		operand, c = s.Inputs[0], s.Inputs[1]
	case isDefault(s, "Mul"):
		operand, c = s.Inputs[1], s.Inputs[0]
	default:
		return nil, ""
	}
	t := x.fusionConst(c)
	if operand == "" || operand == c || t == nil || len(t.Dims) != 0 || x.fusionConst(operand) != nil {
		return nil, ""
	}
	by, ok := x.scalarConst(c)
	if !ok || !powerOfTwo(by) {
		return nil, ""
	}
	return s, operand
}

// powerOfTwo reports whether v is 2^e for an e at which float32 has a
// normal value, so that multiplying or dividing by it moves only the
// exponent.
func powerOfTwo(v float32) bool {
	if v <= 0 || math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
		return false
	}
	frac, exp := math.Frexp(float64(v))
	return frac == 0.5 && exp >= -125 && exp <= 128
}
