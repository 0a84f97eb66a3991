package passes

import (
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// FoldBatchNorm returns a copy of m in which BatchNormalization nodes in
// inference form are folded into a neighbouring Conv or Gemm; m is not
// changed, and folded weights are new tensors.
//
// In inference BatchNormalization is an affine map per channel c (axis 1):
//
//	BN(x)[c] = a[c]*x[c] + k[c],  a = scale/sqrt(var+eps),  k = B - mean*a
//
// A BN qualifies when scale, B, mean and var are float32 initializers of
// shape [C], C > 0, that are not graph inputs, var+eps > 0, training_mode
// is 0, spatial (opsets before 9) is 1, and its optional outputs are
// unused. It is folded, in this order of preference:
//
// Backwards, into the Conv or Gemm whose output only the BN reads, scaling
// output channel m:
//
//	Conv: w'[m,...] = w[m,...]*a[m]     b'[m] = b[m]*a[m] + k[m]  (= (b-mean)*a + B)
//	Gemm: column m of op(B) times a[m]  C'[m] = a[m]*beta*C[m] + k[m], beta' = 1
//
// Forwards, into the one Conv or Gemm that reads the BN's output as its
// data input, scaling input channel c:
//
//	Conv: w'[m,c,...] = w[m,c,...]*a[c]  b'[m] = b[m] + sum_{c,kh,kw} w[m,c,kh,kw]*k[c]
//	Gemm: row k of op(B) times a[k]      C'[m] = beta*C[m] + alpha*sum_k op(B)[k,m]*k[k], beta' = 1
//
// The forward Conv fold needs a Conv without padding (pads all zero,
// auto_pad NOTSET or VALID): padding would pad BN(x) with zeros, which is
// not BN of x padded with zeros, so the border outputs would change. The
// forward Gemm fold needs transA = 0; it also applies through a Flatten
// with axis 1 that only the Gemm reads, where feature f of the Gemm comes
// from channel f / (K/C). In every case the Conv or Gemm weights must be
// a float32 constant initializer, and the bias C of a Gemm, when present,
// a constant of one value or one per output ([M] or [1,M]). A missing
// bias is created. Sums are in float64, rounded once to float32.
func FoldBatchNorm(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	u := newNames(g)
	for _, n := range slices.Clone(g.Nodes) {
		if !isDefault(n, "BatchNormalization") {
			continue
		}
		x := newIndex(c, g)
		bn, err := bnAffine(x, n)
		if err != nil {
			return nil, err
		}
		if bn == nil {
			continue
		}
		folded, err := foldIntoProducer(g, x, u, n, bn)
		if err == nil && !folded {
			folded, err = foldIntoConsumer(g, x, u, n, bn)
		}
		if err != nil {
			return nil, err
		}
		if folded {
			removeNodes(g, map[*graph.Node]bool{n: true})
		}
	}
	return c, nil
}

// affine is BatchNormalization in inference: y[c] = a[c]*x[c] + k[c].
type affine struct {
	a, k []float64
}

// bnAffine returns the per-channel affine map of BN node n, nil when n
// does not qualify for folding, and an error when an attribute has the
// wrong kind.
func bnAffine(x *index, n *graph.Node) (*affine, error) {
	eps, err := x.attrs(n).Float("epsilon")
	if err != nil {
		return nil, err
	}
	training, err := x.attrs(n).Int("training_mode")
	if err != nil {
		return nil, err
	}
	spatial, err := x.attrs(n).Int("spatial")
	if err != nil {
		return nil, err
	}
	if training != 0 || spatial != 1 || len(n.Inputs) != 5 || len(n.Outputs) == 0 || n.Outputs[0] == "" {
		return nil, nil
	}
	for _, o := range n.Outputs[1:] {
		if !x.unused(o) {
			return nil, nil
		}
	}
	var p [4][]float32 // scale, B, mean, var
	for i := range p {
		t, d, ok := x.constFloats(n.Inputs[i+1])
		if !ok || len(t.Dims) != 1 || len(d) == 0 || (i > 0 && len(d) != len(p[0])) {
			return nil, nil
		}
		p[i] = d
	}
	bn := &affine{a: make([]float64, len(p[0])), k: make([]float64, len(p[0]))}
	for c := range bn.a {
		v := float64(p[3][c]) + float64(eps)
		if !(v > 0) {
			return nil, nil
		}
		bn.a[c] = float64(p[0][c]) / math.Sqrt(v)
		bn.k[c] = float64(p[1][c]) - float64(p[2][c])*bn.a[c]
	}
	return bn, nil
}

// foldIntoProducer folds BN n into the Conv or Gemm whose output only n
// reads, which then writes n's output.
func foldIntoProducer(g *graph.Graph, x *index, u names, n *graph.Node, bn *affine) (bool, error) {
	in := n.Inputs[0]
	p := x.producer[in]
	if p == nil || x.soleReader(in) != n || p.Outputs[0] != in {
		return false, nil
	}
	var ok bool
	var err error
	switch {
	case isDefault(p, "Conv"):
		ok = scaleConvOutputs(g, x, u, p, bn)
	case isDefault(p, "Gemm"):
		ok, err = scaleGemmOutputs(g, x, u, p, bn)
	}
	if !ok || err != nil {
		return false, err
	}
	p.Outputs[0] = n.Outputs[0]
	dropValueInfo(g, in)
	return true, nil
}

// foldIntoConsumer folds BN n into the Conv or Gemm (possibly behind a
// Flatten) that alone reads n's output, which then reads n's input.
func foldIntoConsumer(g *graph.Graph, x *index, u names, n *graph.Node, bn *affine) (bool, error) {
	out := n.Outputs[0]
	q := x.soleReader(out)
	if q == nil || q.Inputs[0] != out {
		return false, nil
	}
	var ok bool
	var err error
	switch {
	case isDefault(q, "Conv"):
		ok, err = scaleConvInputs(g, x, u, q, bn)
	case isDefault(q, "Gemm"):
		ok, err = scaleGemmInputs(g, x, u, q, bn, false)
	case isDefault(q, "Flatten"):
		axis, aerr := x.attrs(q).Int("axis")
		if aerr != nil {
			return false, aerr
		}
		if len(q.Outputs) != 1 || axis != 1 {
			return false, nil
		}
		if r := x.soleReader(q.Outputs[0]); r != nil && isDefault(r, "Gemm") && r.Inputs[0] == q.Outputs[0] {
			ok, err = scaleGemmInputs(g, x, u, r, bn, true)
		}
	}
	if !ok || err != nil {
		return false, err
	}
	q.Inputs[0] = n.Inputs[0]
	dropValueInfo(g, out)
	return true, nil
}

// convParams returns the weights of Conv n, [M, C/group, k...], and its
// bias (zeros when absent), or false when they are not float32 constants
// of matching shapes.
func convParams(x *index, n *graph.Node) (w *graph.Tensor, wd []float32, bias []float64, ok bool) {
	w, wd, ok = x.constFloats(n.Input(1))
	if !ok || len(w.Dims) < 3 || slices.ContainsFunc(w.Dims, func(d int64) bool { return d <= 0 }) {
		return nil, nil, nil, false
	}
	bias = make([]float64, w.Dims[0])
	if name := n.Input(2); name != "" {
		bt, bd, ok := x.constFloats(name)
		if !ok || len(bt.Dims) != 1 || len(bd) != len(bias) {
			return nil, nil, nil, false
		}
		for i, v := range bd {
			bias[i] = float64(v)
		}
	}
	return w, wd, bias, true
}

// scaleConvOutputs folds bn into Conv n's output channels.
func scaleConvOutputs(g *graph.Graph, x *index, u names, n *graph.Node, bn *affine) bool {
	w, wd, bias, ok := convParams(x, n)
	if !ok || int(w.Dims[0]) != len(bn.a) {
		return false
	}
	per := len(wd) / len(bn.a)
	w2 := make([]float32, len(wd))
	b2 := make([]float32, len(bn.a))
	for m, a := range bn.a {
		for j := m * per; j < (m+1)*per; j++ {
			w2[j] = float32(float64(wd[j]) * a)
		}
		b2[m] = float32(bias[m]*a + bn.k[m])
	}
	setParam(g, x, u, n, 1, w2, w.Dims, w.Name)
	setParam(g, x, u, n, 2, b2, []int64{int64(len(b2))}, n.Name+".bias")
	return true
}

// scaleConvInputs folds bn, applied to Conv n's data input, into n's
// input channels, when n has no padding.
func scaleConvInputs(g *graph.Graph, x *index, u names, n *graph.Node, bn *affine) (bool, error) {
	group, err := x.attrs(n).Int("group")
	if err != nil {
		return false, err
	}
	pads, err := x.attrs(n).Ints("pads")
	if err != nil {
		return false, err
	}
	autoPad, err := x.attrs(n).String("auto_pad")
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(pads, func(p int64) bool { return p != 0 }) || (autoPad != "NOTSET" && autoPad != "VALID") {
		return false, nil
	}
	w, wd, bias, ok := convParams(x, n)
	if !ok || group <= 0 || w.Dims[0]%group != 0 || w.Dims[1]*group != int64(len(bn.a)) {
		return false, nil
	}
	outs, perGroupIn := int(w.Dims[0]), int(w.Dims[1])
	outsPerGroup := outs / int(group)
	per := len(wd) / outs      // C/group * kernel size
	kernel := per / perGroupIn // kernel size
	w2 := make([]float32, len(wd))
	b2 := make([]float32, outs)
	for m := range outs {
		sum := bias[m]
		first := (m / outsPerGroup) * perGroupIn // first input channel of m's group
		for cl := range perGroupIn {
			a, k := bn.a[first+cl], bn.k[first+cl]
			for j := m*per + cl*kernel; j < m*per+(cl+1)*kernel; j++ {
				w2[j] = float32(float64(wd[j]) * a)
				sum += float64(wd[j]) * k
			}
		}
		b2[m] = float32(sum)
	}
	setParam(g, x, u, n, 1, w2, w.Dims, w.Name)
	setParam(g, x, u, n, 2, b2, []int64{int64(outs)}, n.Name+".bias")
	return true, nil
}

// gemm holds Gemm n's constant weight op(B) as a K x M matrix view and its
// bias C, one value per output (zeros when absent).
type gemm struct {
	w           *graph.Tensor
	wd          []float32
	k, m        int
	transB      bool
	alpha, beta float64
	bias        []float64
}

// at returns the index in wd of op(B)[k, m].
func (p *gemm) at(k, m int) int {
	if p.transB {
		return m*p.k + k
	}
	return k*p.m + m
}

// gemmParams reads Gemm n's weight, bias and attributes; false when they
// are not constants of a form the folds handle.
func gemmParams(x *index, n *graph.Node) (*gemm, bool, error) {
	alpha, err := x.attrs(n).Float("alpha")
	if err != nil {
		return nil, false, err
	}
	beta, err := x.attrs(n).Float("beta")
	if err != nil {
		return nil, false, err
	}
	transB, err := x.attrs(n).Int("transB")
	if err != nil {
		return nil, false, err
	}
	w, wd, ok := x.constFloats(n.Input(1))
	if !ok || len(w.Dims) != 2 || w.Dims[0] <= 0 || w.Dims[1] <= 0 {
		return nil, false, nil
	}
	p := &gemm{w: w, wd: wd, k: int(w.Dims[0]), m: int(w.Dims[1]), transB: transB != 0, alpha: float64(alpha), beta: float64(beta)}
	if p.transB {
		p.k, p.m = p.m, p.k
	}
	p.bias = make([]float64, p.m)
	if name := n.Input(2); name != "" {
		ct, cd, ok := x.constFloats(name)
		if !ok {
			return nil, false, nil
		}
		switch {
		case len(cd) == 1 && len(ct.Dims) <= 2 && !slices.ContainsFunc(ct.Dims, func(d int64) bool { return d != 1 }):
			for i := range p.bias {
				p.bias[i] = float64(cd[0])
			}
		case len(cd) == p.m && (len(ct.Dims) == 1 || (len(ct.Dims) == 2 && ct.Dims[0] == 1)):
			for i, v := range cd {
				p.bias[i] = float64(v)
			}
		default:
			return nil, false, nil
		}
	}
	return p, true, nil
}

// setWeightsAndBias stores w2 and bias c2 as Gemm n's new parameters, with
// beta 1.
func (p *gemm) setWeightsAndBias(g *graph.Graph, x *index, u names, n *graph.Node, w2 []float32, c2 []float32) {
	setParam(g, x, u, n, 1, w2, p.w.Dims, p.w.Name)
	setParam(g, x, u, n, 2, c2, []int64{int64(p.m)}, n.Name+".bias")
	setAttr(n, graph.FloatAttr("beta", 1))
}

// scaleGemmOutputs folds bn into Gemm n's output features.
func scaleGemmOutputs(g *graph.Graph, x *index, u names, n *graph.Node, bn *affine) (bool, error) {
	p, ok, err := gemmParams(x, n)
	if !ok || err != nil || p.m != len(bn.a) {
		return false, err
	}
	w2 := make([]float32, len(p.wd))
	c2 := make([]float32, p.m)
	for m, a := range bn.a {
		for k := range p.k {
			i := p.at(k, m)
			w2[i] = float32(float64(p.wd[i]) * a)
		}
		c2[m] = float32(a*p.beta*p.bias[m] + bn.k[m])
	}
	p.setWeightsAndBias(g, x, u, n, w2, c2)
	return true, nil
}

// scaleGemmInputs folds bn, applied to Gemm n's input A (through a
// Flatten when flattened), into n's input features.
func scaleGemmInputs(g *graph.Graph, x *index, u names, n *graph.Node, bn *affine, flattened bool) (bool, error) {
	transA, err := x.attrs(n).Int("transA")
	if err != nil {
		return false, err
	}
	p, ok, err := gemmParams(x, n)
	if !ok || err != nil || transA != 0 {
		return false, err
	}
	c := len(bn.a)
	if p.k%c != 0 || (!flattened && p.k != c) {
		return false, nil
	}
	inner := p.k / c // features per channel
	w2 := make([]float32, len(p.wd))
	c2 := make([]float32, p.m)
	for m := range p.m {
		sum := 0.0
		for k := range p.k {
			i := p.at(k, m)
			w2[i] = float32(float64(p.wd[i]) * bn.a[k/inner])
			sum += float64(p.wd[i]) * bn.k[k/inner]
		}
		c2[m] = float32(p.beta*p.bias[m] + p.alpha*sum)
	}
	p.setWeightsAndBias(g, x, u, n, w2, c2)
	return true, nil
}

// setParam makes input slot of node n the new float32 constant data of
// shape dims. The initializer n read there is replaced when n is its only
// reader; otherwise the data becomes a new initializer named after base.
func setParam(g *graph.Graph, x *index, u names, n *graph.Node, slot int, data []float32, dims []int64, base string) {
	t := &graph.Tensor{DType: graph.Float32, Dims: slices.Clone(dims), Data: data}
	if old := x.constants[n.Input(slot)]; old != nil && x.uses[old.Name] == 1 && !x.output[old.Name] {
		t.Name, t.DocString = old.Name, old.DocString
		g.Initializers[slices.Index(g.Initializers, old)] = t
		x.constants[t.Name] = t
		return
	}
	t.Name = u.fresh(base)
	g.Initializers = append(g.Initializers, t)
	x.constants[t.Name] = t
	x.uses[t.Name] = 1
	for len(n.Inputs) <= slot {
		n.Inputs = append(n.Inputs, "")
	}
	n.Inputs[slot] = t.Name
}
