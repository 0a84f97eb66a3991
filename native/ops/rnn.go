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
	"slices"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
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

// rnnOps is the operator table of rnn.go (see registry.go).
var rnnOps = []Entry{
	{OpType: "RNN", Since: []int64{1, 14}, Build: newRecurrent(cellRNN)},
	{OpType: "GRU", Since: []int64{1, 14}, Build: newRecurrent(cellGRU)},
	{OpType: "LSTM", Since: []int64{1, 14}, Build: newRecurrent(cellLSTM)},
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
		a.name = strings.ToLower(name)
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
	name                string // lower case
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

// rnnFloat is the precision a recurrent node computes in: float64 for
// double inputs, float32 for the others (float16 and bfloat16 are widened).
type rnnFloat interface{ float32 | float64 }

// rnnInputs are a recurrent node's inputs in the precision T, in the
// seq-first layout. Slices may share the inputs' storage: they are only
// read.
type rnnInputs[T rnnFloat] struct {
	steps, batch, inSize, dirs int
	x, w, r, b, h0, c0, p      []T
	seqLens                    []int
}

// valuesAs returns t's values as []T: its own storage when it already
// holds T, a converted copy otherwise.
func valuesAs[T rnnFloat](t *tensor.Tensor, what string) ([]T, error) {
	if v, ok := t.Data.([]T); ok {
		return v, nil
	}
	f, err := floatValues(t, what)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(f))
	for i, x := range f {
		out[i] = T(x)
	}
	return out, nil
}

// optionalValues reads optional input i as []T with the given shape, or
// returns nil when it is absent.
func optionalValues[T rnnFloat](in []*tensor.Tensor, i int, name string, shape ...int) ([]T, error) {
	t := optionalInput(in, i)
	if t == nil {
		return nil, nil
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("%s %v: want %v", name, t.Shape, shape)
	}
	return valuesAs[T](t, name)
}

// swapFirstAxes transposes [a, b, rest] into [b, a, rest].
func swapFirstAxes[T any](v []T, a, b, rest int) []T {
	out := make([]T, len(v))
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(out[(j*a+i)*rest:(j*a+i+1)*rest], v[(i*b+j)*rest:(i*b+j+1)*rest])
		}
	}
	return out
}

func rnnReadInputs[T rnnFloat](o *recurrent, in []*tensor.Tensor) (*rnnInputs[T], error) {
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
	v := &rnnInputs[T]{steps: x.Shape[0], batch: x.Shape[1], inSize: x.Shape[2], dirs: 1}
	if o.batchFirst {
		v.steps, v.batch = v.batch, v.steps
	}
	if o.bidirectional {
		v.dirs = 2
	}
	g, h := o.kind.gates(), o.hidden
	var err error
	if v.x, err = valuesAs[T](x, "X"); err != nil {
		return nil, err
	}
	if o.batchFirst {
		v.x = swapFirstAxes(v.x, v.batch, v.steps, v.inSize)
	}
	if v.w, err = optionalValues[T](in, 1, "W", v.dirs, g*h, v.inSize); err != nil {
		return nil, err
	}
	if v.r, err = optionalValues[T](in, 2, "R", v.dirs, g*h, h); err != nil {
		return nil, err
	}
	if v.b, err = optionalValues[T](in, 3, "B", v.dirs, 2*g*h); err != nil {
		return nil, err
	}
	if v.b == nil {
		v.b = make([]T, v.dirs*2*g*h)
	}
	stateShape := []int{v.dirs, v.batch, h}
	if o.batchFirst {
		stateShape = []int{v.batch, v.dirs, h}
	}
	if v.h0, err = optionalValues[T](in, 5, "initial_h", stateShape...); err != nil {
		return nil, err
	}
	if o.kind == cellLSTM {
		if v.c0, err = optionalValues[T](in, 6, "initial_c", stateShape...); err != nil {
			return nil, err
		}
		if v.p, err = optionalValues[T](in, 7, "P", v.dirs, 3*h); err != nil {
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

// Forward computes in float64 for double inputs and in float32 otherwise.
func (o *recurrent) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) > 0 && in[0] != nil && in[0].DType == graph.Float64 {
		return rnnForward[float64](o, in)
	}
	return rnnForward[float32](o, in)
}

// rnnForward runs every direction over the whole batch at once: the input
// projections of all steps are one matrix product, and each step's
// recurrent projections one more, over the batch.
func rnnForward[T rnnFloat](o *recurrent, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	v, err := rnnReadInputs[T](o, in)
	if err != nil {
		return nil, err
	}
	h := o.hidden
	y := make([]T, v.steps*v.dirs*v.batch*h) // [S, D, B, H]
	yh := make([]T, v.dirs*v.batch*h)        // [D, B, H]
	yc := make([]T, v.dirs*v.batch*h)
	if v.h0 != nil {
		copy(yh, v.h0)
	}
	if v.c0 != nil {
		copy(yc, v.c0)
	}
	for d := 0; d < v.dirs; d++ {
		c := newRNNCell(o, v, d)
		c.run(v, o.reverse || d == 1, y, d, yh[d*v.batch*h:(d+1)*v.batch*h], yc[d*v.batch*h:(d+1)*v.batch*h])
	}
	dt := in[0].DType
	yShape, stateShape := []int{v.steps, v.dirs, v.batch, h}, []int{v.dirs, v.batch, h}
	if o.batchFirst {
		y = stepsToBatchFirst(y, v.steps, v.dirs, v.batch, h)
		yShape, stateShape = []int{v.batch, v.steps, v.dirs, h}, []int{v.batch, v.dirs, h}
		yh = swapFirstAxes(yh, v.dirs, v.batch, h)
		yc = swapFirstAxes(yc, v.dirs, v.batch, h)
	}
	outs := []*tensor.Tensor{rnnOutput(y, dt, yShape), rnnOutput(yh, dt, stateShape)}
	if o.kind == cellLSTM {
		outs = append(outs, rnnOutput(yc, dt, stateShape))
	}
	return outs, nil
}

// rnnOutput makes a tensor of dtype dt from values computed in T.
func rnnOutput[T rnnFloat](vals []T, dt graph.DType, shape []int) *tensor.Tensor {
	if _, ok := any(vals).([]float32); ok && dt == graph.Float32 || dt == graph.Float64 {
		return &tensor.Tensor{DType: dt, Shape: shape, Data: vals}
	}
	f := make([]float64, len(vals))
	for i, x := range vals {
		f[i] = float64(x)
	}
	return float64sToDType(f, dt, shape)
}

// stepsToBatchFirst transposes Y from [S, D, B, H] to [B, S, D, H].
func stepsToBatchFirst[T any](y []T, steps, dirs, batch, h int) []T {
	out := make([]T, len(y))
	for s := 0; s < steps; s++ {
		for d := 0; d < dirs; d++ {
			for b := 0; b < batch; b++ {
				copy(out[((b*steps+s)*dirs+d)*h:((b*steps+s)*dirs+d+1)*h], y[((s*dirs+d)*batch+b)*h:])
			}
		}
	}
	return out
}

// rnnCell is one direction's weights, activations and scratch space.
type rnnCell[T rnnFloat] struct {
	op     *recurrent
	r      []T // R [G*H, H]
	rb     []T // R bias [G*H]
	peep   []T // peepholes [3*H] or nil
	acts   []rnnActivation
	xw     []T // W x + Wb for every step and batch entry: [S*B, G*H]
	hr     []T // scratch: R h + Rb over the batch, [B, G*H]
	u, hrh []T // GRU scratch: r ⊙ h and R_h (r ⊙ h) + Rb_h, [B, H]
	pre    []T // scratch: one entry's gates, [G*H], and LSTM's h(c'), [H]
}

// newRNNCell prepares direction d, with the input projections of all
// steps computed at once.
func newRNNCell[T rnnFloat](o *recurrent, v *rnnInputs[T], d int) *rnnCell[T] {
	g, h := o.kind.gates(), o.hidden
	rows := v.steps * v.batch
	c := &rnnCell[T]{
		op:   o,
		r:    v.r[d*g*h*h : (d+1)*g*h*h],
		rb:   v.b[d*2*g*h+g*h : (d+1)*2*g*h],
		acts: o.acts[d],
		xw:   make([]T, rows*g*h),
		hr:   make([]T, v.batch*g*h),
	}
	if v.p != nil {
		c.peep = v.p[d*3*h : (d+1)*3*h]
	}
	c.pre = make([]T, (g+1)*h)
	if o.kind == cellGRU {
		c.u, c.hrh = make([]T, v.batch*h), make([]T, v.batch*h)
	}
	wb := v.b[d*2*g*h : d*2*g*h+g*h]
	for i := 0; i < rows; i++ {
		copy(c.xw[i*g*h:(i+1)*g*h], wb)
	}
	gemmABt(rows, g*h, v.inSize, v.x, v.w[d*g*h*v.inSize:(d+1)*g*h*v.inSize], c.xw, g*h)
	return c
}

// gemmABt adds a·bᵀ to c, with a [m, k], b [n, k] and c [m, n] row-major,
// c's rows ldc apart: SGEMM for float32, gemmT's float64 loop for double.
func gemmABt[T rnnFloat](m, n, k int, a, b, c []T, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	gemmT(linalg.Current(), false, true, m, n, k, 1, a, k, b, k, 1, c, ldc)
}

// activate applies activation k, after clipping, to v in place: the
// logistic function and tanh in float32 through package vec, the others
// element by element in float64.
func (c *rnnCell[T]) activate(k int, v []T) {
	if clip := T(c.op.clip); clip > 0 {
		for i, x := range v {
			v[i] = max(-clip, min(clip, x))
		}
	}
	a := c.acts[k]
	if v32, ok := any(v).([]float32); ok {
		switch a.name {
		case "sigmoid":
			vec.Sigmoid(v32, v32)
			return
		case "tanh":
			vec.Tanh(v32, v32)
			return
		}
	}
	for i, x := range v {
		v[i] = T(a.apply(float64(x)))
	}
}

// run steps the direction over the sequence; hs and cs are its states
// [B, H], updated in place, and its outputs go to Y [S, D, B, H] at d.
// Batch entry b runs its first seqLens[b] steps, reversed if reverse.
func (c *rnnCell[T]) run(v *rnnInputs[T], reverse bool, y []T, d int, hs, cs []T) {
	g, h, batch := c.op.kind.gates(), c.op.hidden, v.batch
	maxLen := slices.Max(v.seqLens)
	for s := 0; s < maxLen; s++ {
		// R h + Rb for the whole batch; an entry past its length is
		// computed and ignored.
		for b := 0; b < batch; b++ {
			copy(c.hr[b*g*h:(b+1)*g*h], c.rb)
		}
		rows := c.r
		if c.op.kind == cellGRU && !c.op.linearBeforeReset {
			rows = c.r[:2*h*h] // the candidate's rows act on r ⊙ h below
		}
		gemmABt(batch, len(rows)/h, h, hs, rows, c.hr, g*h)
		if c.op.kind == cellGRU && !c.op.linearBeforeReset {
			c.resetProducts(v, s, reverse, hs)
		}
		for b := 0; b < batch; b++ {
			n := v.seqLens[b]
			if s >= n {
				continue
			}
			t := s
			if reverse {
				t = n - 1 - s
			}
			xw := c.xw[(t*batch+b)*g*h : (t*batch+b+1)*g*h]
			hb := hs[b*h : (b+1)*h]
			c.gates(b, xw, c.hr[b*g*h:(b+1)*g*h], hb, cs[b*h:(b+1)*h])
			copy(y[((t*v.dirs+d)*batch+b)*h:], hb)
		}
	}
}

// resetProducts computes, for GRU without linear_before_reset, the
// candidate's R_h (r ⊙ h) + Rb_h over the batch into hrh, from the reset
// gates of step s.
func (c *rnnCell[T]) resetProducts(v *rnnInputs[T], s int, reverse bool, hs []T) {
	g, h, batch := c.op.kind.gates(), c.op.hidden, v.batch
	for b := 0; b < batch; b++ {
		u := c.u[b*h : (b+1)*h]
		n := v.seqLens[b]
		if s >= n {
			clear(u)
			continue
		}
		t := s
		if reverse {
			t = n - 1 - s
		}
		xw, hr := c.xw[(t*batch+b)*g*h:], c.hr[b*g*h:]
		for i := range u {
			u[i] = xw[h+i] + hr[h+i]
		}
		c.activate(0, u)
		for i := range u {
			u[i] *= hs[b*h+i]
		}
		copy(c.hrh[b*h:(b+1)*h], c.rb[2*h:])
	}
	gemmABt(batch, h, h, c.u, c.r[2*h*h:], c.hrh, h)
}

// gates advances batch entry b's state hb (and cb for LSTM) by one step,
// from its input projection xw and recurrent projection hr.
func (c *rnnCell[T]) gates(b int, xw, hr, hb, cb []T) {
	h := c.op.hidden
	a := c.pre
	switch c.op.kind {
	case cellRNN:
		for i := range hb {
			hb[i] = xw[i] + hr[i]
		}
		c.activate(0, hb)
	case cellGRU:
		// Gate blocks z, r, h. With linear_before_reset the candidate is
		// g(xw_h + r ⊙ (R_h h + Rb_h)); without, g(xw_h + R_h (r ⊙ h) + Rb_h).
		z, r, n := a[:h], a[h:2*h], a[2*h:3*h]
		for i := range z {
			z[i] = xw[i] + hr[i]
		}
		c.activate(0, z)
		if c.op.linearBeforeReset {
			for i := range r {
				r[i] = xw[h+i] + hr[h+i]
			}
			c.activate(0, r)
			for i := range n {
				n[i] = xw[2*h+i] + r[i]*hr[2*h+i]
			}
		} else {
			for i := range n {
				n[i] = xw[2*h+i] + c.hrh[b*h+i]
			}
		}
		c.activate(1, n)
		for i := range hb {
			hb[i] = (1-z[i])*n[i] + z[i]*hb[i]
		}
	case cellLSTM:
		// Gate blocks i, o, f, c; peepholes i, o, f.
		in, out, forget, cand, hc := a[:h], a[h:2*h], a[2*h:3*h], a[3*h:4*h], a[4*h:5*h]
		for k := range in {
			in[k] = xw[k] + hr[k]
			forget[k] = xw[2*h+k] + hr[2*h+k]
			cand[k] = xw[3*h+k] + hr[3*h+k]
		}
		if c.peep != nil {
			for k := range in {
				in[k] += c.peep[k] * cb[k]
				forget[k] += c.peep[2*h+k] * cb[k]
			}
		}
		c.activate(0, in)
		if c.op.inputForget {
			for k := range forget {
				forget[k] = 1 - in[k]
			}
		} else {
			c.activate(0, forget)
		}
		c.activate(1, cand)
		for k := range cb {
			cb[k] = forget[k]*cb[k] + in[k]*cand[k]
			out[k] = xw[h+k] + hr[h+k]
		}
		if c.peep != nil {
			for k := range out {
				out[k] += c.peep[h+k] * cb[k]
			}
		}
		c.activate(0, out)
		copy(hc, cb)
		c.activate(2, hc)
		for k := range hb {
			hb[k] = out[k] * hc[k]
		}
	}
}
