package passes

import (
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// ActivationKind names an elementwise function that a fused producer
// applies to its output.
type ActivationKind int

// The activations FuseActivations recognises: the ONNX operators of the
// same name, SiLU, the pair Mul(x, Sigmoid(x)), ErfGelu and Softmax.
const (
	ActRelu        ActivationKind = iota + 1
	ActClip                       // Alpha, Beta: the bounds
	ActLeakyRelu                  // Alpha: the slope
	ActHardSigmoid                // Alpha, Beta
	ActHardSwish
	ActSigmoid
	ActTanh
	ActSiLU
	ActGelu // Gelu (opset 20) with approximate "none"
	// ActErfGelu is Gelu spelled in elementwise nodes as exporters
	// write it before opset 20: Mul(Mul(x, Add(Erf(Div(x, Alpha)), 1)),
	// Beta), the constants scalars, any operand order of Add and Mul.
	ActErfGelu
	// ActSoftmax is Softmax along the last axis (an explicit axis of
	// -1: the same rows at every opset). Unlike the others it reads a
	// whole row, so only a producer whose epilogue sees whole rows of
	// its output (MatMul's) may list it: attention's scores, then their
	// Softmax.
	ActSoftmax
)

// Activation is an activation and its parameters.
type Activation struct {
	Kind        ActivationKind
	Alpha, Beta float32
}

// Capabilities tells FuseActivations what an executor can fuse.
type Capabilities struct {
	// Activations lists, per default-domain producer op type (Conv,
	// Gemm, MatMul, ...), the activations it can apply to its first
	// output.
	Activations map[string][]ActivationKind
	// Bias lists the producer op types that can add a constant bias
	// vector along the last axis of their output (MatMul followed by
	// the Add of a Linear layer's bias).
	Bias map[string]bool
	// Residual lists the producer op types that can add another value
	// to their output (after the bias): a residual connection's Add.
	Residual map[string]bool
	// Scale lists the producer op types that can multiply or divide
	// their output by a constant scalar first, before the bias:
	// attention's scores divided by the square root of the head size.
	Scale map[string]bool
}

// Scale is a multiplication of a producer's output by a scalar, or its
// division by one: a Mul by a constant scalar (either operand), or a
// Div of the output by one. The constant has rank 0, so that it changes
// no shape.
type Scale struct {
	By     float32
	Divide bool
}

// Fusion is a producer node whose output only the nodes of a chain read,
// so that an executor may compute the chain's last output in one step,
// without storing the values in between: a scale, a bias Add, a
// residual Add, then an activation (one node, or Sigmoid and Mul for
// SiLU).
type Fusion struct {
	Producer *graph.Node
	// Bias is the name of the constant bias vector that the Add adds, ""
	// for none.
	Bias string
	// Scale, when not nil, is applied first, by the first absorbed node.
	Scale *Scale
	// Residual is the name of the value that the residual Add adds, ""
	// for none. It is a graph input, a constant, or the output of a node
	// before Producer in the graph's order.
	Residual string
	// Activation is the activation applied last; Kind 0 for none.
	Activation Activation
	// Absorbed are the nodes after Producer that the fusion replaces, in
	// order; the last one's first output is the fusion's output.
	Absorbed []*graph.Node
}

// Output returns the value the fused step computes.
func (f Fusion) Output() string { return f.Absorbed[len(f.Absorbed)-1].Outputs[0] }

// Intermediates returns the values the fused step never stores: the
// producer's output and the outputs of the absorbed nodes but the last
// (for SiLU, the Sigmoid's output too).
func (f Fusion) Intermediates() []string {
	out := []string{f.Producer.Outputs[0]}
	for _, n := range f.Absorbed[:len(f.Absorbed)-1] {
		out = append(out, n.Outputs[0])
	}
	return out
}

// FuseActivations returns, in node order, the producers of g that caps
// can fuse with the chain that alone reads their first output, and
// those chains. A value in the chain that is a graph output, or that a
// subgraph or any other node reads, stops it. It changes nothing: ONNX
// has no fused operators in the default domain, so this is a plan for an
// executor, not a rewrite of the model. m is g's model (g may be one of
// its subgraphs), whose opsets the nodes' attributes follow.
func FuseActivations(m *graph.Model, g *graph.Graph, caps Capabilities) []Fusion {
	if g == nil || !slices.ContainsFunc(g.Nodes, caps.producer) {
		// The index reads every subgraph: a graph without producers,
		// such as each level of deeply nested Ifs, need not pay for it.
		return nil
	}
	x := newIndex(m, g)
	position := make(map[*graph.Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		position[n] = i
	}
	var out []Fusion
	for i, n := range g.Nodes {
		if !caps.producer(n) || len(n.Outputs) == 0 || n.Outputs[0] == "" {
			continue
		}
		kinds := caps.Activations[n.OpType]
		f := Fusion{Producer: n}
		cur := n.Outputs[0]
		if caps.Scale[n.OpType] {
			if node, sc := x.scale(cur); node != nil {
				f.Scale, f.Absorbed, cur = sc, append(f.Absorbed, node), node.Outputs[0]
			}
		}
		if caps.Bias[n.OpType] {
			if add, bias := x.biasAdd(n, cur); add != nil {
				f.Bias, f.Absorbed, cur = bias, append(f.Absorbed, add), add.Outputs[0]
			}
		}
		if caps.Residual[n.OpType] {
			if add, other := x.plainAdd(cur); add != nil {
				if p := x.producer[other]; p == nil || position[p] < i {
					f.Residual, f.Absorbed, cur = other, append(f.Absorbed, add), add.Outputs[0]
				}
			}
		}
		if act, nodes := x.activation(cur); nodes != nil && slices.Contains(kinds, act.Kind) {
			f.Activation, f.Absorbed = act, append(f.Absorbed, nodes...)
		}
		if len(f.Absorbed) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// plainAdd returns the Add, without attributes, that alone reads value
// v, and the other value it adds; nil otherwise.
func (x *index) plainAdd(v string) (*graph.Node, string) {
	add := x.soleReader(v)
	if add == nil || !isDefault(add, "Add") || len(add.Attrs) != 0 || len(add.Inputs) != 2 || len(add.Outputs) != 1 || add.Outputs[0] == "" {
		return nil, ""
	}
	other := add.Inputs[0]
	if other == v {
		other = add.Inputs[1]
	}
	if other == v || other == "" {
		return nil, ""
	}
	return add, other
}

// producer reports whether caps can fuse anything into node n.
func (caps Capabilities) producer(n *graph.Node) bool {
	if n.Domain != graph.DefaultDomain && n.Domain != "ai.onnx" {
		return false
	}
	_, ok := caps.Activations[n.OpType]
	return ok || caps.Bias[n.OpType] || caps.Residual[n.OpType] || caps.Scale[n.OpType]
}

// scale returns the Mul or Div that alone reads value v and multiplies
// it by, or divides it by, a float32 constant of rank 0, and that
// scale; nil otherwise.
func (x *index) scale(v string) (*graph.Node, *Scale) {
	n := x.soleReader(v)
	if n == nil || len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Outputs[0] == "" || len(n.Attrs) != 0 {
		return nil, nil
	}
	var c string
	switch {
	case isDefault(n, "Div") && n.Inputs[0] == v:
		c = n.Inputs[1]
	case isDefault(n, "Mul") && n.Inputs[0] == v:
		c = n.Inputs[1]
	case isDefault(n, "Mul") && n.Inputs[1] == v:
		c = n.Inputs[0]
	default:
		return nil, nil
	}
	t := x.fusionConst(c)
	if c == v || t == nil || len(t.Dims) != 0 {
		return nil, nil
	}
	by, ok := x.scalarConst(c)
	if !ok {
		return nil, nil
	}
	return n, &Scale{By: by, Divide: n.OpType == "Div"}
}

// biasAdd returns the Add that alone reads the output v of MatMul n and
// adds to it a float32 constant vector as long as the last axis of n's
// constant second input (of rank 2 or more), and that vector's name; nil
// otherwise.
func (x *index) biasAdd(n *graph.Node, v string) (*graph.Node, string) {
	add, bias := x.plainAdd(v)
	if add == nil || !isDefault(n, "MatMul") || len(n.Inputs) != 2 {
		return nil, ""
	}
	w, b := x.fusionConst(n.Inputs[1]), x.fusionConst(bias)
	if w == nil || b == nil || b.DType != graph.Float32 || len(b.Dims) != 1 || len(w.Dims) < 2 || w.Dims[len(w.Dims)-1] != b.Dims[0] {
		return nil, ""
	}
	return add, bias
}

// fusionConst returns the value of name when it is a constant
// initializer or a Constant node's output, seen through Identity nodes;
// nil otherwise.
func (x *index) fusionConst(name string) *graph.Tensor {
	for range 8 {
		if t := x.constValue(name); t != nil {
			return t
		}
		p := x.producer[name]
		if p == nil || !isDefault(p, "Identity") || len(p.Inputs) != 1 {
			return nil
		}
		name = p.Inputs[0]
	}
	return nil
}

// scalarConst returns the float32 scalar constant name (through
// Identity nodes), or false.
func (x *index) scalarConst(name string) (float32, bool) {
	t := x.fusionConst(name)
	if t == nil || t.DType != graph.Float32 || t.NumElements() != 1 {
		return 0, false
	}
	d, ok := t.Data.([]float32)
	if !ok || len(d) != 1 {
		return 0, false
	}
	return d[0], true
}

// activation returns the activation that alone reads value v, and its
// nodes: one elementwise node, or Sigmoid(v) and Mul(v, Sigmoid(v)) when
// those two are v's only readers (SiLU); nil nodes otherwise.
func (x *index) activation(v string) (Activation, []*graph.Node) {
	if n := x.soleReader(v); n != nil {
		if len(n.Inputs) == 0 || n.Inputs[0] != v || len(n.Outputs) != 1 || n.Outputs[0] == "" {
			return Activation{}, nil
		}
		if act, ok := x.single(n); ok {
			return act, []*graph.Node{n}
		}
		return Activation{}, nil
	}
	if x.output[v] || x.uses[v] != 2 || len(x.readers[v]) != 2 {
		return Activation{}, nil
	}
	if act, nodes := x.erfGelu(v); nodes != nil {
		return act, nodes
	}
	// SiLU: v read once by a Sigmoid and once by a Mul that multiplies
	// it by the Sigmoid's output, which nothing else reads.
	s, m := x.readers[v][0], x.readers[v][1]
	if isDefault(s, "Mul") {
		s, m = m, s
	}
	if !isDefault(s, "Sigmoid") || !isDefault(m, "Mul") || len(s.Inputs) != 1 || s.Inputs[0] != v ||
		len(s.Outputs) != 1 || len(m.Inputs) != 2 || len(m.Outputs) != 1 || m.Outputs[0] == "" {
		return Activation{}, nil
	}
	if x.soleReader(s.Outputs[0]) != m || !(m.Inputs[0] == v && m.Inputs[1] == s.Outputs[0] || m.Inputs[1] == v && m.Inputs[0] == s.Outputs[0]) {
		return Activation{}, nil
	}
	return Activation{Kind: ActSiLU}, []*graph.Node{s, m}
}

// erfGelu matches ActErfGelu's nodes on v, which a Div and a Mul read,
// and returns them in order (Div, Erf, Add, Mul, Mul), or nil.
func (x *index) erfGelu(v string) (Activation, []*graph.Node) {
	div, mul := x.readers[v][0], x.readers[v][1]
	if isDefault(div, "Mul") {
		div, mul = mul, div
	}
	if !isDefault(div, "Div") || len(div.Inputs) != 2 || div.Inputs[0] != v || len(div.Outputs) != 1 {
		return Activation{}, nil
	}
	c, ok := x.scalarConst(div.Inputs[1])
	if !ok {
		return Activation{}, nil
	}
	erf := x.soleReader(div.Outputs[0])
	if erf == nil || !isDefault(erf, "Erf") || len(erf.Outputs) != 1 {
		return Activation{}, nil
	}
	add, one := x.plainAdd(erf.Outputs[0])
	if add == nil {
		return Activation{}, nil
	}
	if k, ok := x.scalarConst(one); !ok || k != 1 {
		return Activation{}, nil
	}
	if x.soleReader(add.Outputs[0]) != mul || !isDefault(mul, "Mul") || len(mul.Inputs) != 2 || len(mul.Outputs) != 1 ||
		!(mul.Inputs[0] == v && mul.Inputs[1] == add.Outputs[0] || mul.Inputs[1] == v && mul.Inputs[0] == add.Outputs[0]) {
		return Activation{}, nil
	}
	scale := x.soleReader(mul.Outputs[0])
	if scale == nil || !isDefault(scale, "Mul") || len(scale.Inputs) != 2 || len(scale.Outputs) != 1 || scale.Outputs[0] == "" {
		return Activation{}, nil
	}
	h := scale.Inputs[1]
	if h == mul.Outputs[0] {
		h = scale.Inputs[0]
	}
	b, ok := x.scalarConst(h)
	if !ok || h == mul.Outputs[0] {
		return Activation{}, nil
	}
	return Activation{Kind: ActErfGelu, Alpha: c, Beta: b}, []*graph.Node{div, erf, add, mul, scale}
}

// single returns the activation that node n, reading one value, computes,
// or false when it is none that FuseActivations knows or its parameters
// are not constants.
func (x *index) single(n *graph.Node) (Activation, bool) {
	at := x.attrs(n)
	attr := func(name string) (float32, bool) {
		v, err := at.Float(name)
		return v, err == nil
	}
	switch {
	case isDefault(n, "Relu") && len(n.Inputs) == 1:
		return Activation{Kind: ActRelu}, true
	case isDefault(n, "Sigmoid") && len(n.Inputs) == 1:
		return Activation{Kind: ActSigmoid}, true
	case isDefault(n, "Tanh") && len(n.Inputs) == 1:
		return Activation{Kind: ActTanh}, true
	case isDefault(n, "HardSwish") && len(n.Inputs) == 1:
		return Activation{Kind: ActHardSwish}, true
	case isDefault(n, "LeakyRelu") && len(n.Inputs) == 1:
		alpha, ok := attr("alpha")
		return Activation{Kind: ActLeakyRelu, Alpha: alpha}, ok
	case isDefault(n, "HardSigmoid") && len(n.Inputs) == 1:
		alpha, ok1 := attr("alpha")
		beta, ok2 := attr("beta")
		return Activation{Kind: ActHardSigmoid, Alpha: alpha, Beta: beta}, ok1 && ok2
	case isDefault(n, "Gelu") && len(n.Inputs) == 1:
		approx, err := at.String("approximate")
		return Activation{Kind: ActGelu}, err == nil && approx == "none"
	case isDefault(n, "Clip"):
		return x.clip(n)
	case isDefault(n, "Softmax") && len(n.Inputs) == 1 && n.HasAttr("axis"):
		// Opsets 1-12 coerce to 2-D at the axis, 13 on normalise along
		// it; at the last axis both are the rows of the last axis.
		axis, err := n.AttrInt("axis", 0)
		return Activation{Kind: ActSoftmax}, err == nil && axis == -1
	}
	return Activation{}, false
}

// clip returns the bounds of Clip node n: from its attributes min and
// max (before opset 11, ±math.MaxFloat32 when absent) or from its
// constant scalar inputs (±Inf when absent). A Clip with neither, whose
// meaning depends on the opset, is not fused.
func (x *index) clip(n *graph.Node) (Activation, bool) {
	act := Activation{Kind: ActClip, Alpha: float32(math.Inf(-1)), Beta: float32(math.Inf(1))}
	if n.HasAttr("min") || n.HasAttr("max") {
		// Absent, a bound takes its declared default (opsets 6 to 10),
		// or before opset 6, which declares none, what its prose says.
		at := x.attrs(n)
		bound := func(name string, absent float32) (float32, bool) {
			if !at.Has(name) && !at.HasDefault(name) {
				return absent, true
			}
			v, err := at.Float(name)
			return v, err == nil
		}
		lo, ok1 := bound("min", -math.MaxFloat32)
		hi, ok2 := bound("max", math.MaxFloat32)
		act.Alpha, act.Beta = lo, hi
		return act, ok1 && ok2 && len(n.Inputs) == 1
	}
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
		return act, false
	}
	bounds := []*float32{&act.Alpha, &act.Beta}
	for i, name := range n.Inputs[1:] {
		if name == "" {
			continue
		}
		v, ok := x.scalarConst(name)
		if !ok {
			return act, false
		}
		*bounds[i] = v
	}
	return act, true
}
