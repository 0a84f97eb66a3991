package ops

// Recurrent operators RNN, GRU and LSTM. Opset 1's output_sequence only
// said whether Y is produced, which the node's outputs say already; GRU's
// linear_before_reset exists from opset 3; opset 7 changed nothing this
// engine sees; opset 14 adds layout.
// With S steps, B batch, I input and H hidden sizes, D directions (2 for
// "bidirectional") and G gates (RNN 1, GRU 3: z r h, LSTM 4: i o f c):
//
//	X [S, B, I]   W [D, G*H, I]   R [D, G*H, H]   B [D, 2*G*H] (W biases, then R biases)
//	sequence_lens [B] int32   initial_h, initial_c [D, B, H]   P [D, 3*H] (LSTM peepholes i o f)
//	Y [S, D, B, H]   Y_h, Y_c [D, B, H]
//
// layout 1 puts the batch first: X [B, S, I], Y [B, S, D, H] and the
// states [B, D, H]. With f, g, h the direction's activations (defaults
// Sigmoid, Tanh, Tanh; RNN's single one Tanh), xw = W x + Wb, hr = R h + Rb:
//
//	RNN   h' = f(xw + hr)
//	GRU   z = f(xw_z + hr_z), r = f(xw_r + hr_r),
//	      n = g(xw_h + R_h (r ⊙ h) + Rb_h)  or, with linear_before_reset,
//	      n = g(xw_h + r ⊙ (R_h h + Rb_h));  h' = (1-z) ⊙ n + z ⊙ h
//	LSTM  i = f(xw_i + hr_i + P_i ⊙ c), f = f(xw_f + hr_f + P_f ⊙ c)
//	      (f = 1 - i with input_forget), c' = f ⊙ c + i ⊙ g(xw_c + hr_c),
//	      o = f(xw_o + hr_o + P_o ⊙ c'), h' = o ⊙ h(c')
//
// clip, when set, bounds every activation's argument to [-clip, clip].
// A batch entry runs only its first sequence_lens steps (in reverse for
// the reverse direction); Y is zero after them and Y_h, Y_c hold the
// state after the last step run.

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// rnnKind selects the cell.
type rnnKind int

const (
	cellRNN rnnKind = iota
	cellGRU
	cellLSTM
)

// gates is the number of gate blocks in W, R and each half of B.
func (k rnnKind) gates() int { return [...]int{1, 3, 4}[k] }

// defaultActivations are the spec's defaults per direction.
func (k rnnKind) defaultActivations() []string {
	return [...][]string{{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}}[k]
}

// recurrent is RNN, GRU or LSTM with its attributes decoded.
type recurrent struct {
	kind              rnnKind
	hidden            int
	reverse           bool
	bidirectional     bool
	acts              [2][]rnnActivation // per direction
	clip              float64            // 0: none
	batchFirst        bool
	linearBeforeReset bool
	inputForget       bool
}

func init() {
	for kind, name := range []string{"RNN", "GRU", "LSTM"} {
		Register(graph.DefaultDomain, name, 1, newRecurrent(rnnKind(kind)))
		Register(graph.DefaultDomain, name, 14, newRecurrent(rnnKind(kind)))
	}
}

func newRecurrent(kind rnnKind) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		o := &recurrent{kind: kind}
		hidden, err := n.AttrInt("hidden_size", 0)
		if err != nil {
			return nil, err
		}
		if hidden < 1 {
			return nil, attrError(n, "hidden_size", "is %d, want a positive size", hidden)
		}
		o.hidden = int(hidden)
		dir, err := n.AttrString("direction", "forward")
		if err != nil {
			return nil, err
		}
		switch dir {
		case "forward":
		case "reverse":
			o.reverse = true
		case "bidirectional":
			o.bidirectional = true
		default:
			return nil, attrError(n, "direction", "is %q, want forward, reverse or bidirectional", dir)
		}
		clip, err := n.AttrFloat("clip", 0)
		if err != nil {
			return nil, err
		}
		if n.HasAttr("clip") && clip <= 0 {
			return nil, attrError(n, "clip", "is %g, want a positive bound", clip)
		}
		o.clip = float64(clip)
		if opset >= 14 {
			layout, err := n.AttrInt("layout", 0)
			if err != nil {
				return nil, err
			}
			if layout != 0 && layout != 1 {
				return nil, attrError(n, "layout", "is %d, want 0 or 1", layout)
			}
			o.batchFirst = layout == 1
		}
		if kind == cellGRU && opset >= 3 {
			lbr, err := n.AttrInt("linear_before_reset", 0)
			if err != nil {
				return nil, err
			}
			o.linearBeforeReset = lbr != 0
		}
		if kind == cellLSTM {
			f, err := n.AttrInt("input_forget", 0)
			if err != nil {
				return nil, err
			}
			o.inputForget = f != 0
		}
		if err := o.decodeActivations(n); err != nil {
			return nil, err
		}
		return o, nil
	}
}

// decodeActivations reads activations, activation_alpha and
// activation_beta. Alphas and betas are taken in order by the activations
// that have such a parameter; one set of activations for a bidirectional
// node serves both directions.
func (o *recurrent) decodeActivations(n *graph.Node) error {
	per := len(o.kind.defaultActivations())
	names, err := n.AttrStrings("activations", nil)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		names = o.kind.defaultActivations()
	}
	dirs := 1
	if o.bidirectional {
		dirs = 2
	}
	if len(names) != per && len(names) != per*dirs {
		return attrError(n, "activations", "has %d names, want %d per direction", len(names), per)
	}
	alphas, err := n.AttrFloats("activation_alpha", nil)
	if err != nil {
		return err
	}
	betas, err := n.AttrFloats("activation_beta", nil)
	if err != nil {
		return err
	}
	acts := make([]rnnActivation, len(names))
	for i, name := range names {
		a, ok := rnnActivations[strings.ToLower(name)]
		if !ok {
			return attrError(n, "activations", "unknown activation %q", name)
		}
		if a.usesAlpha && len(alphas) > 0 {
			a.alpha, alphas = float64(alphas[0]), alphas[1:]
		}
		if a.usesBeta && len(betas) > 0 {
			a.beta, betas = float64(betas[0]), betas[1:]
		}
		acts[i] = a
	}
	o.acts[0] = acts[:per]
	o.acts[1] = acts[len(acts)-per:]
	return nil
}

// rnnActivation is one of the activation functions the recurrent ops
// accept, with its parameters.
type rnnActivation struct {
	f                   func(x, alpha, beta float64) float64
	alpha, beta         float64
	usesAlpha, usesBeta bool
}

func (a rnnActivation) apply(x float64) float64 { return a.f(x, a.alpha, a.beta) }

// rnnActivations holds the activation functions by lower-case name, with
// their default parameters.
var rnnActivations = map[string]rnnActivation{
	"relu":     {f: func(x, _, _ float64) float64 { return math.Max(x, 0) }},
	"tanh":     {f: func(x, _, _ float64) float64 { return math.Tanh(x) }},
	"sigmoid":  {f: func(x, _, _ float64) float64 { return 1 / (1 + math.Exp(-x)) }},
	"softsign": {f: func(x, _, _ float64) float64 { return x / (1 + math.Abs(x)) }},
	"softplus": {f: func(x, _, _ float64) float64 { return math.Log1p(math.Exp(x)) }},
	"affine":   {f: func(x, a, b float64) float64 { return a*x + b }, alpha: 1, usesAlpha: true, usesBeta: true},
	"leakyrelu": {f: func(x, a, _ float64) float64 {
		if x < 0 {
			return a * x
		}
		return x
	}, alpha: 0.01, usesAlpha: true},
	"thresholdedrelu": {f: func(x, a, _ float64) float64 {
		if x > a {
			return x
		}
		return 0
	}, alpha: 1, usesAlpha: true},
	"scaledtanh":  {f: func(x, a, b float64) float64 { return a * math.Tanh(b*x) }, alpha: 1, beta: 1, usesAlpha: true, usesBeta: true},
	"hardsigmoid": {f: func(x, a, b float64) float64 { return math.Max(0, math.Min(1, a*x+b)) }, alpha: 0.2, beta: 0.5, usesAlpha: true, usesBeta: true},
	"elu": {f: func(x, a, _ float64) float64 {
		if x < 0 {
			return a * (math.Exp(x) - 1)
		}
		return x
	}, alpha: 1, usesAlpha: true},
}

// rnnInputs are a recurrent node's inputs as float64, in the seq-first
// layout.
type rnnInputs struct {
	steps, batch, inSize, dirs int
	x, w, r, b, h0, c0, p      []float64
	seqLens                    []int
}

// optionalFloats reads optional input i as float64 with the given shape,
// or returns nil when it is absent.
func optionalFloats(in []*tensor.Tensor, i int, name string, shape ...int) ([]float64, error) {
	t := optionalInput(in, i)
	if t == nil {
		return nil, nil
	}
	if tensor.NumElements(t.Shape) != tensor.NumElements(shape) || t.Rank() != len(shape) {
		return nil, fmt.Errorf("%s %v: want %v", name, t.Shape, shape)
	}
	for k := range shape {
		if t.Shape[k] != shape[k] {
			return nil, fmt.Errorf("%s %v: want %v", name, t.Shape, shape)
		}
	}
	return floatValues(t, name)
}

// swapFirstAxes transposes [a, b, rest] into [b, a, rest].
func swapFirstAxes(v []float64, a, b, rest int) []float64 {
	out := make([]float64, len(v))
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(out[(j*a+i)*rest:(j*a+i+1)*rest], v[(i*b+j)*rest:(i*b+j+1)*rest])
		}
	}
	return out
}

func (o *recurrent) inputs(in []*tensor.Tensor) (*rnnInputs, error) {
	if err := checkArity(in, 3, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() != 3 {
		return nil, fmt.Errorf("input X %v: want rank 3", x.Shape)
	}
	for i, t := range in {
		if t != nil && i != 4 && t.DType != x.DType {
			return nil, fmt.Errorf("input %d is %v, X is %v", i, t.DType, x.DType)
		}
	}
	v := &rnnInputs{steps: x.Shape[0], batch: x.Shape[1], inSize: x.Shape[2], dirs: 1}
	if o.batchFirst {
		v.steps, v.batch = v.batch, v.steps
	}
	if o.bidirectional {
		v.dirs = 2
	}
	g, h := o.kind.gates(), o.hidden
	var err error
	if v.x, err = floatValues(x, "X"); err != nil {
		return nil, err
	}
	if o.batchFirst {
		v.x = swapFirstAxes(v.x, v.batch, v.steps, v.inSize)
	}
	if v.w, err = optionalFloats(in, 1, "W", v.dirs, g*h, v.inSize); err != nil {
		return nil, err
	}
	if v.r, err = optionalFloats(in, 2, "R", v.dirs, g*h, h); err != nil {
		return nil, err
	}
	if v.b, err = optionalFloats(in, 3, "B", v.dirs, 2*g*h); err != nil {
		return nil, err
	}
	if v.b == nil {
		v.b = make([]float64, v.dirs*2*g*h)
	}
	stateShape := []int{v.dirs, v.batch, h}
	if o.batchFirst {
		stateShape = []int{v.batch, v.dirs, h}
	}
	if v.h0, err = optionalFloats(in, 5, "initial_h", stateShape...); err != nil {
		return nil, err
	}
	if o.kind == cellLSTM {
		if v.c0, err = optionalFloats(in, 6, "initial_c", stateShape...); err != nil {
			return nil, err
		}
		if v.p, err = optionalFloats(in, 7, "P", v.dirs, 3*h); err != nil {
			return nil, err
		}
	}
	if o.batchFirst {
		if v.h0 != nil {
			v.h0 = swapFirstAxes(v.h0, v.batch, v.dirs, h)
		}
		if v.c0 != nil {
			v.c0 = swapFirstAxes(v.c0, v.batch, v.dirs, h)
		}
	}
	v.seqLens = make([]int, v.batch)
	for i := range v.seqLens {
		v.seqLens[i] = v.steps
	}
	if t := optionalInput(in, 4); t != nil {
		lens, err := intValues(t, "sequence_lens")
		if err != nil {
			return nil, err
		}
		if len(lens) != v.batch {
			return nil, fmt.Errorf("sequence_lens has %d values for batch %d", len(lens), v.batch)
		}
		for i, l := range lens {
			if l < 0 || l > int64(v.steps) {
				return nil, fmt.Errorf("sequence_lens[%d] = %d is outside [0, %d]", i, l, v.steps)
			}
			v.seqLens[i] = int(l)
		}
	}
	return v, nil
}

func (o *recurrent) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	v, err := o.inputs(in)
	if err != nil {
		return nil, err
	}
	h := o.hidden
	y := make([]float64, v.steps*v.dirs*v.batch*h) // [S, D, B, H]
	yh := make([]float64, v.dirs*v.batch*h)        // [D, B, H]
	yc := make([]float64, v.dirs*v.batch*h)
	for d := 0; d < v.dirs; d++ {
		reverse := o.reverse || d == 1
		cell := o.cell(v, d)
		for b := 0; b < v.batch; b++ {
			state := yh[(d*v.batch+b)*h : (d*v.batch+b+1)*h]
			cstate := yc[(d*v.batch+b)*h : (d*v.batch+b+1)*h]
			if v.h0 != nil {
				copy(state, v.h0[(d*v.batch+b)*h:])
			}
			if v.c0 != nil {
				copy(cstate, v.c0[(d*v.batch+b)*h:])
			}
			n := v.seqLens[b]
			for s := 0; s < n; s++ {
				t := s
				if reverse {
					t = n - 1 - s
				}
				cell.step(v.x[(t*v.batch+b)*v.inSize:(t*v.batch+b+1)*v.inSize], state, cstate)
				copy(y[((t*v.dirs+d)*v.batch+b)*h:], state)
			}
		}
	}
	dt := in[0].DType
	yShape, stateShape := []int{v.steps, v.dirs, v.batch, h}, []int{v.dirs, v.batch, h}
	if o.batchFirst {
		y = stepsToBatchFirst(y, v.steps, v.dirs, v.batch, h)
		yShape, stateShape = []int{v.batch, v.steps, v.dirs, h}, []int{v.batch, v.dirs, h}
		yh = swapFirstAxes(yh, v.dirs, v.batch, h)
		yc = swapFirstAxes(yc, v.dirs, v.batch, h)
	}
	outs := []*tensor.Tensor{float64sToDType(y, dt, yShape), float64sToDType(yh, dt, stateShape)}
	if o.kind == cellLSTM {
		outs = append(outs, float64sToDType(yc, dt, stateShape))
	}
	return outs, nil
}

// stepsToBatchFirst transposes Y from [S, D, B, H] to [B, S, D, H].
func stepsToBatchFirst(y []float64, steps, dirs, batch, h int) []float64 {
	out := make([]float64, len(y))
	for s := 0; s < steps; s++ {
		for d := 0; d < dirs; d++ {
			for b := 0; b < batch; b++ {
				copy(out[((b*steps+s)*dirs+d)*h:((b*steps+s)*dirs+d+1)*h], y[((s*dirs+d)*batch+b)*h:])
			}
		}
	}
	return out
}

// rnnCell is one direction's weights and activations.
type rnnCell struct {
	op       *recurrent
	w, r, wb []float64 // W [G*H, I], R [G*H, H], W bias [G*H]
	rb, peep []float64 // R bias [G*H], peepholes [3*H] or nil
	acts     []rnnActivation
	xw, hr   []float64 // scratch: W x + Wb, R h + Rb
	z, u     []float64 // scratch: GRU's update gate and r (then r ⊙ h)
}

func (o *recurrent) cell(v *rnnInputs, d int) *rnnCell {
	g, h := o.kind.gates(), o.hidden
	c := &rnnCell{
		op:   o,
		w:    v.w[d*g*h*v.inSize : (d+1)*g*h*v.inSize],
		r:    v.r[d*g*h*h : (d+1)*g*h*h],
		wb:   v.b[d*2*g*h : d*2*g*h+g*h],
		rb:   v.b[d*2*g*h+g*h : (d+1)*2*g*h],
		acts: o.acts[d],
		xw:   make([]float64, g*h),
		hr:   make([]float64, g*h),
		z:    make([]float64, h),
		u:    make([]float64, h),
	}
	if v.p != nil {
		c.peep = v.p[d*3*h : (d+1)*3*h]
	}
	return c
}

// act applies activation k after clipping.
func (c *rnnCell) act(k int, x float64) float64 {
	if c.op.clip > 0 {
		x = math.Max(-c.op.clip, math.Min(c.op.clip, x))
	}
	return c.acts[k].apply(x)
}

// affine sets dst[i] = bias[i] + m[i, :] · v for the rows of m.
func affine(dst, m, v, bias []float64) {
	n := len(v)
	for i := range dst {
		s := bias[i]
		row := m[i*n : (i+1)*n]
		for j, x := range v {
			s += row[j] * x
		}
		dst[i] = s
	}
}

// step advances the state h (and c for LSTM) by one input x.
func (c *rnnCell) step(x, h, cs []float64) {
	hs := c.op.hidden
	affine(c.xw, c.w, x, c.wb)
	switch c.op.kind {
	case cellRNN:
		affine(c.hr, c.r, h, c.rb)
		for i := range h {
			h[i] = c.act(0, c.xw[i]+c.hr[i])
		}
	case cellGRU:
		// Gate blocks z, r, h. The z and r rows of R act on h; the h rows
		// act on h (linear before reset) or on r ⊙ h.
		affine(c.hr[:2*hs], c.r[:2*hs*hs], h, c.rb[:2*hs])
		z, r := c.z, c.u
		for i := 0; i < hs; i++ {
			z[i] = c.act(0, c.xw[i]+c.hr[i])
			r[i] = c.act(0, c.xw[hs+i]+c.hr[hs+i])
		}
		cand := c.hr[2*hs:]
		if c.op.linearBeforeReset {
			affine(cand, c.r[2*hs*hs:], h, c.rb[2*hs:])
			for i := range cand {
				cand[i] *= r[i]
			}
		} else {
			for i := range r {
				r[i] *= h[i]
			}
			affine(cand, c.r[2*hs*hs:], r, c.rb[2*hs:])
		}
		for i := range h {
			n := c.act(1, c.xw[2*hs+i]+cand[i])
			h[i] = (1-z[i])*n + z[i]*h[i]
		}
	case cellLSTM:
		// Gate blocks i, o, f, c; peepholes i, o, f.
		affine(c.hr, c.r, h, c.rb)
		var pi, po, pf float64
		for k := 0; k < hs; k++ {
			if c.peep != nil {
				pi, po, pf = c.peep[k], c.peep[hs+k], c.peep[2*hs+k]
			}
			in := c.act(0, c.xw[k]+c.hr[k]+pi*cs[k])
			forget := c.act(0, c.xw[2*hs+k]+c.hr[2*hs+k]+pf*cs[k])
			if c.op.inputForget {
				forget = 1 - in
			}
			cand := c.act(1, c.xw[3*hs+k]+c.hr[3*hs+k])
			cs[k] = forget*cs[k] + in*cand
			out := c.act(0, c.xw[hs+k]+c.hr[hs+k]+po*cs[k])
			h[k] = out * c.act(2, cs[k])
		}
	}
}
