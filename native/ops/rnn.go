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
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
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
	prepared          [2]rnnPrepared // per direction
}

// rnnPrepared is a direction's float32 weights prepared for the products
// by them and kept across runs, while they are the program's unchanged
// initializers (Context.Constant) of the same generation: W's and R's
// panels in the last run's plan. Concurrent runs share it. Runs that
// record (no constants) prepare nothing.
type rnnPrepared struct {
	plan atomic.Pointer[rnnPlan]
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
		hidden, err := n.Declared().Int("hidden_size")
		if err != nil {
			return nil, err
		}
		if hidden < 1 {
			return nil, attrError(n, "hidden_size", "is %d, want a positive size", hidden)
		}
		o.hidden = int(hidden)
		dir, err := n.Declared().String("direction")
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
		clip, err := n.Declared().Float("clip")
		if err != nil {
			return nil, err
		}
		if n.HasAttr("clip") && clip <= 0 {
			return nil, attrError(n, "clip", "is %g, want a positive bound", clip)
		}
		o.clip = float64(clip)
		if opset >= 14 {
			layout, err := n.Declared().Int("layout")
			if err != nil {
				return nil, err
			}
			if layout != 0 && layout != 1 {
				return nil, attrError(n, "layout", "is %d, want 0 or 1", layout)
			}
			o.batchFirst = layout == 1
		}
		if kind == cellGRU && opset >= 3 {
			lbr, err := n.Declared().Int("linear_before_reset")
			if err != nil {
				return nil, err
			}
			o.linearBeforeReset = lbr != 0
		}
		if kind == cellLSTM {
			f, err := n.Declared().Int("input_forget")
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
	// Absent, the activations are those of defaultActivations, one
	// direction's: ONNX gives LSTM's and GRU's in prose only, and
	// declares RNN's as [Tanh, Tanh], both directions' of a bidirectional
	// one.
	names := o.kind.defaultActivations()
	if n.HasAttr("activations") {
		var err error
		if names, err = n.Declared().Strings("activations"); err != nil {
			return err
		}
	}
	dirs := 1
	if o.bidirectional {
		dirs = 2
	}
	if len(names) != per && len(names) != per*dirs {
		return attrError(n, "activations", "has %d names, want %d per direction", len(names), per)
	}
	alphas, err := n.Declared().Floats("activation_alpha")
	if err != nil {
		return err
	}
	betas, err := n.Declared().Floats("activation_beta")
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
func (o *recurrent) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) > 0 && in[0] != nil && in[0].DType == graph.Float64 {
		return rnnForward[float64](o, ctx, in)
	}
	return rnnForward[float32](o, ctx, in)
}

// rnnForward runs every direction over the whole batch at once: the input
// projections of all steps are one matrix product, and each step's
// recurrent projections one more, over the batch.
func rnnForward[T rnnFloat](o *recurrent, ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	v, err := rnnReadInputs[T](o, in)
	if err != nil {
		return nil, err
	}
	h := o.hidden
	dt := in[0].DType
	buf := &rnnScratch[T]{ctx: ctx}
	defer buf.release()
	// Y, Y_h and Y_c in the seq-first layout: the outputs themselves for
	// float32 (from the run's pool), else converted or transposed after.
	var outs []*tensor.Tensor
	output := func(n int) []T {
		if _, isF32 := any(y0[T]()).([]float32); isF32 && dt == graph.Float32 && !o.batchFirst && ctx != nil {
			t := ctx.Float32(n)
			outs = append(outs, t)
			return any(t.F32()).([]T)
		}
		return make([]T, n)
	}
	y := output(v.steps * v.dirs * v.batch * h) // [S, D, B, H]
	yh := output(v.dirs * v.batch * h)          // [D, B, H]
	var yc []T
	if o.kind == cellLSTM {
		yc = output(v.dirs * v.batch * h)
	} else {
		yc = buf.take(v.dirs * v.batch * h)
	}
	if slices.Min(v.seqLens) < v.steps {
		clear(y) // zero after each entry's length
	}
	if v.h0 != nil {
		copy(yh, v.h0)
	} else {
		clear(yh)
	}
	if v.c0 != nil {
		copy(yc, v.c0)
	} else {
		clear(yc)
	}
	threads := min(parallel.Threads(), runtime.GOMAXPROCS(0))
	for d := 0; d < v.dirs; d++ {
		hs, cs := yh[d*v.batch*h:(d+1)*v.batch*h], yc[d*v.batch*h:(d+1)*v.batch*h]
		if groups := o.batchGroups(v, threads); groups > 1 {
			rnnRunGroups(o, ctx, v, groups, d, y, hs, cs, buf)
			continue
		}
		c := newRNNCell(o, ctx, v, d, buf)
		c.prepare(v, threads, nil, o.reverse || d == 1, y, d, 0, v.batch, hs, cs, buf).execute()
	}
	if len(outs) > 0 {
		for i, t := range outs {
			t.Shape = append(t.Shape[:0], []int{v.steps, v.dirs, v.batch, h}[min(i, 1):]...)
		}
		return outs, nil
	}
	yShape, stateShape := []int{v.steps, v.dirs, v.batch, h}, []int{v.dirs, v.batch, h}
	if o.batchFirst {
		y = stepsToBatchFirst(y, v.steps, v.dirs, v.batch, h)
		yShape, stateShape = []int{v.batch, v.steps, v.dirs, h}, []int{v.batch, v.dirs, h}
		yh = swapFirstAxes(yh, v.dirs, v.batch, h)
		yc = swapFirstAxes(yc, v.dirs, v.batch, h)
	}
	outs = []*tensor.Tensor{rnnOutput(y, dt, yShape), rnnOutput(yh, dt, stateShape)}
	if o.kind == cellLSTM {
		outs = append(outs, rnnOutput(yc, dt, stateShape))
	}
	return outs, nil
}

// y0 returns a nil []T, for type switches on T.
func y0[T rnnFloat]() []T { return nil }

// rnnScratch hands out a run's work buffers, float32 ones from the run's
// pool (Context.Pool), and gives those back at the end of the run. Their
// contents are undefined. It is used on one goroutine.
type rnnScratch[T rnnFloat] struct {
	ctx  *Context
	held []*tensor.Tensor
}

// take returns a buffer of n values.
func (s *rnnScratch[T]) take(n int) []T {
	if _, isF32 := any(y0[T]()).([]float32); isF32 && s.ctx != nil && s.ctx.Pool != nil {
		t := s.ctx.Pool.Float32(n)
		s.held = append(s.held, t)
		return any(t.F32()).([]T)
	}
	return make([]T, n)
}

// release gives the buffers back to the pool.
func (s *rnnScratch[T]) release() {
	for _, t := range s.held {
		s.ctx.Pool.Put(t)
	}
	s.held = nil
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

// rnnCell is one direction's weights, activations and scratch space. Its
// steps may be split between workers that each own a range of hidden
// units (see run): a worker writes only its own units' columns of the
// shared scratch.
type rnnCell[T rnnFloat] struct {
	op   *recurrent
	ctx  *Context
	prep *rnnPrepared // the direction's prepared weights
	w    []T          // W [G*H, I]
	r    []T          // R [G*H, H]
	rbh  []T          // GRU with linear_before_reset: the candidate's R bias [H]
	peep []T          // peepholes [3*H] or nil
	acts []rnnActivation
	// bias is Wb + Rb [G*H], every R bias but the candidate's of a GRU
	// with linear_before_reset (rbh), which is added inside the gate.
	bias []T
	// xw is W x + bias for every step and batch entry, [S*B, G*H], each
	// row's values in the run's chunks of units (see run): chunk [j0,
	// j1) at G*j0, gate k's units of it at G*j0 + k*(j1-j0). The chunk's
	// worker computes its columns (projectInputs) and reads them.
	xw []T
	// hr is R h over the batch, [B, G*H], for the phases whose products
	// are not left in the workers' scratch (rnnStepper.products).
	hr     []T
	u, hrh []T // GRU without linear_before_reset: r ⊙ h and R_h (r ⊙ h), [B, H]
}

// newRNNCell prepares direction d; run computes its input projections.
func newRNNCell[T rnnFloat](o *recurrent, ctx *Context, v *rnnInputs[T], d int, buf *rnnScratch[T]) *rnnCell[T] {
	g, h := o.kind.gates(), o.hidden
	c := &rnnCell[T]{
		op:   o,
		ctx:  ctx,
		prep: &o.prepared[d],
		w:    v.w[d*g*h*v.inSize : (d+1)*g*h*v.inSize],
		r:    v.r[d*g*h*h : (d+1)*g*h*h],
		acts: o.acts[d],
		xw:   buf.take(v.steps * v.batch * g * h),
		hr:   buf.take(v.batch * g * h),
		bias: make([]T, g*h),
	}
	if v.p != nil {
		c.peep = v.p[d*3*h : (d+1)*3*h]
	}
	if o.kind == cellGRU {
		c.u, c.hrh = buf.take(v.batch*h), buf.take(v.batch*h)
	}
	wb, rb := v.b[d*2*g*h:d*2*g*h+g*h], v.b[d*2*g*h+g*h:(d+1)*2*g*h]
	for i := range c.bias {
		c.bias[i] = wb[i] + rb[i]
	}
	if o.kind == cellGRU && o.linearBeforeReset {
		c.rbh = rb[2*h:]
		copy(c.bias[2*h:], wb[2*h:])
	}
	return c
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

// rnnMinWorkerFlops is the least recurrent work per step, in flops of
// the product R h over the batch, that a worker of run gets: below it the
// barrier that ends each step costs more than another core saves.
const rnnMinWorkerFlops = 1 << 16

// rnnChunkAlign is the multiple of hidden units in which run hands out
// work: whole vector registers for the gates, whole 16-column panels for
// the packed products.
const rnnChunkAlign = 16

// rnnSplit returns how run splits the h hidden units of a cell with the
// given batch and gates between at most threads workers: how many work,
// each with at least rnnMinWorkerFlops per step, and the bounds of the
// chunks of units they take in turn (chunk c is units [bounds[c],
// bounds[c+1]), multiples of rnnChunkAlign but the last). One worker
// takes the units as one chunk.
//
// A worker's share of a step is one chunk, the team's home range of the
// worker (rnnTeam), which a worker done with its own takes if its
// worker has not begun it: a worker that the system holds back for
// milliseconds delays no step by more than one chunk, and one that is
// merely late leaves its chunk to the other. Four chunks per worker
// (the earlier split) cost each step a chunk's overhead three more
// times per worker, claims, gate calls over 32 units and products of
// four panels: at a batch of one on the loaded machine, the zoo LSTM's
// layers took 985 and 1290 µs on 2 threads with the team alone from
// the first phase against 880 and 1170 µs with one chunk per worker
// (on 1 thread, 830 and 1110).
func rnnSplit(threads, batch, gates, h int) (workers int, bounds []int) {
	workers = max(1, min(threads, h/rnnChunkAlign, 2*batch*gates*h*h/rnnMinWorkerFlops))
	if workers == 1 {
		return 1, []int{0, h}
	}
	chunk := max(2*rnnChunkAlign, h/workers)
	chunk = (chunk + rnnChunkAlign - 1) / rnnChunkAlign * rnnChunkAlign
	bounds = []int{0}
	for j := chunk; j < h; j += chunk {
		bounds = append(bounds, j)
	}
	return workers, append(bounds, h)
}

// rnnRun is a run of a cell over its batch, prepared: its buffers
// taken, its plan made, ready to execute.
type rnnRun[T rnnFloat] struct {
	cell                  *rnnCell[T]
	v                     *rnnInputs[T]
	hs, cs                []T
	states                [2][]T
	steppers              []rnnStepper[T]
	bounds                []int
	workers, phases       int
	rows, block, projects int // rows of xw, per projection phase, and projection phases
	maxLen                int
	// from, when not nil, is the inputs [S, fromBatch, I] of which the
	// run's batch entries are those from fromFirst on: the run gathers
	// each projection block's rows of them into v.x (gatherInputs).
	from                 []T
	fromBatch, fromFirst int
	// redo: the team may take a step's task twice (rnnTeam), each copy
	// k of step s writing its states to outs[s][k] and its cell states
	// to cells[s][k] (an LSTM's), which the winner's readers read.
	redo        bool
	outs, cells [][2][]T
	team        *rnnTeam
}

// rnnStepHook, when not nil, is called by a team's member w before each
// task of step s it computes as copy k (see rnnTeam): the tests hold a
// member back with it, as the machine does.
var rnnStepHook func(w, s, k int)

// rnnRedoMaxBytes is the most bytes of states that a run keeps to let
// its team take a step's task twice (rnnRun.redo): two copies of every
// step's states.
const rnnRedoMaxBytes = 8 << 20

// prepare readies a run of the direction over the sequence, from the
// buffers of buf, with plan (nil: the cell's own, see rnnCell.plan);
// hs and cs are its states [B, H], updated in place, and its outputs go
// to Y [S, D, yBatch, H] at d, batch entry b at yFirst+b. Batch entry b
// runs its first seqLens[b] steps, reversed if reverse.
//
// With enough work per step, the steps are split between workers, one
// per thread (at most threads), by chunks of hidden units (rnnSplit): a
// chunk is its units' rows of the recurrent products,
// which read the whole previous state, then its units' gates. The workers
// take the chunks of a step in turn, and a chunk of the next step only
// once every chunk of this one is done (rnnTeam, which leaves the rest
// of the run to one worker when another is held back); a GRU without
// linear_before_reset has two such phases per step, as its candidate
// multiplies r ⊙ h of every unit. The state alternates between two
// buffers, so that no chunk writes what another may still read; but for
// cells of one phase per step, whose team takes a task held back by the
// machine again (rnnTeam), where every step's states are kept twice
// (rnnRun.redo, stepStates). Every element is computed by the same
// operations whichever worker takes it, so results do not depend on the
// thread count nor on which copy of a task wins.
//
// The team's first phases are the input projections, a phase per block
// of rows (steps' batch entries), a product per chunk of its units' rows
// of W by the block's inputs (projectInputs): the workers begin with
// work that needs no state, and a helper that the system starts late
// finds the first worker at it rather than at steps it could have
// shared. The blocks make tasks of about a step's (projectionRows), as
// a worker that waits long for a phase to end leaves the run to one
// worker. The helpers run as loops of package parallel, whose workers
// pick them up.
func (c *rnnCell[T]) prepare(v *rnnInputs[T], threads int, plan *rnnPlan, reverse bool, y []T, d, yFirst, yBatch int, hs, cs []T, buf *rnnScratch[T]) *rnnRun[T] {
	g, h, batch := c.op.kind.gates(), c.op.hidden, v.batch
	r := &rnnRun[T]{cell: c, v: v, hs: hs, phases: 1}
	if batch == 0 {
		return r
	}
	r.maxLen = slices.Max(v.seqLens)
	r.workers, r.bounds = rnnSplit(threads, batch, g, h)
	chunks := len(r.bounds) - 1
	if c.op.kind == cellGRU && !c.op.linearBeforeReset {
		r.phases = 2
	}
	if plan == nil {
		plan = c.plan(batch, r.maxLen, r.bounds)
	}
	r.rows, r.block = v.steps*batch, v.steps*batch
	if r.workers > 1 {
		r.block = plan.projectionRows(batch, h, v.inSize)
	}
	r.projects = (r.rows + r.block - 1) / max(1, r.block)
	r.states = [2][]T{hs, buf.take(batch * h)}
	if c.op.kind == cellLSTM {
		r.cs = cs
	}
	stateBytes := 2 * r.maxLen * batch * h * 4
	if _, wide := any(T(0)).(float64); wide {
		stateBytes *= 2
	}
	if c.op.kind == cellLSTM {
		stateBytes *= 2
	}
	if r.redo = r.workers > 1 && r.phases == 1 && stateBytes <= rnnRedoMaxBytes; r.redo {
		// Every step's states, twice: a copy of a step's task that
		// finishes late writes only its own, which no one reads.
		n := batch * h
		outs := buf.take(2 * r.maxLen * n)
		r.outs = make([][2][]T, r.maxLen)
		var cells []T
		if r.cs != nil {
			cells, r.cells = buf.take(2*r.maxLen*n), make([][2][]T, r.maxLen)
		}
		for s := range r.maxLen {
			for k := range 2 {
				i := (2*s + k) * n
				r.outs[s][k] = outs[i : i+n : i+n]
				if r.cs != nil {
					r.cells[s][k] = cells[i : i+n : i+n]
				}
			}
		}
	}
	widest := 0
	for k := range chunks {
		widest = max(widest, r.bounds[k+1]-r.bounds[k])
	}
	r.steppers = make([]rnnStepper[T], r.workers)
	for w := range r.steppers {
		st := &r.steppers[w]
		*st = rnnStepper[T]{cell: c, v: v, reverse: reverse, y: y, d: d, yFirst: yFirst, yBatch: yBatch, cCur: r.cs, cNext: r.cs,
			hr: c.hr, gemm: serialGemm(), plan: plan, pre: buf.take((g + 1) * widest * batch), live: make([]rnnEntry, 0, batch)}
		if plan.packed != nil || plan.vec != nil {
			st.out = any(buf.take(batch * (g*widest + linalg.VecPanelWidth))).([]float32)
		}
		if r.redo {
			st.hr, st.gathered = buf.take(batch*g*h), buf.take(batch*h)
		}
	}
	return r
}

// stepStates returns the states that the stepper's chunk of step s reads
// and writes as copy k of its task (see rnnTeam), and sets its cell
// states: the two buffers in turn, or in a run whose tasks may be taken
// twice, the states of step s-1 that won each chunk (gathered in the
// stepper's buffer if some copy 1 won) and copy k's own of step s.
func (r *rnnRun[T]) stepStates(st *rnnStepper[T], s, k int) (cur, next []T) {
	if !r.redo {
		return r.states[s%2], r.states[(s+1)%2]
	}
	h, chunks := r.cell.op.hidden, len(r.bounds)-1
	next = r.outs[s][k]
	if r.cells != nil {
		st.cNext = r.cells[s][k]
	}
	if s == 0 {
		st.cCur = r.cs
		return r.hs, next
	}
	first := int64(r.projects+s-1) * int64(chunks) // step s-1's first task
	if r.cells != nil {
		st.cCur = r.cells[s-1][r.team.winner(first+int64(st.chunk))]
	}
	cur = r.outs[s-1][0]
	for c := range chunks {
		if r.team.winner(first+int64(c)) == 0 {
			continue
		}
		for c := range chunks {
			src, j0, j1 := r.outs[s-1][r.team.winner(first+int64(c))], r.bounds[c], r.bounds[c+1]
			for b := range r.v.batch {
				copy(st.gathered[b*h+j0:b*h+j1], src[b*h+j0:b*h+j1])
			}
		}
		return st.gathered, next
	}
	return cur, next
}

// execute steps the run over the sequence.
func (r *rnnRun[T]) execute() {
	c, v := r.cell, r.v
	g, h := c.op.kind.gates(), c.op.hidden
	if v.batch == 0 {
		return
	}
	chunks := len(r.bounds) - 1
	redoFrom := int64(r.projects + r.maxLen*r.phases) // none
	if r.redo {
		redoFrom = int64(r.projects)
	}
	team := newRNNTeam(r.workers, chunks, int64(r.projects+r.maxLen*r.phases), func(phase int64) bool {
		return phase >= int64(r.projects) && (phase-int64(r.projects))/int64(r.phases)%2 == 1
	}, redoFrom)
	r.team = team
	work := func(m *rnnMember) {
		st := &r.steppers[m.w]
		for {
			task, k, ok := m.take()
			if !ok {
				return
			}
			phase, chunk := int(task/int64(chunks)), int(task%int64(chunks))
			st.j0, st.j1, st.chunk = r.bounds[chunk], r.bounds[chunk+1], chunk
			switch {
			case phase < r.projects && r.workers == 1:
				// One worker means little recurrent work, not little
				// input projection: a loop of its own, by rows.
				grain := max(1, parallel.Grain()/max(1, 2*g*h*v.inSize))
				parallel.For(r.rows, grain, func(lo, hi int) { st.projectInputs(lo, hi) })
			case phase < r.projects:
				st.projectInputs(phase*r.block, min(r.rows, (phase+1)*r.block))
			default:
				s, ph := (phase-r.projects)/r.phases, (phase-r.projects)%r.phases
				if rnnStepHook != nil {
					rnnStepHook(m.w, s, k)
				}
				cur, next := r.stepStates(st, s, k)
				st.phase(s, ph, cur, next)
				if !team.win(task, k) {
					continue // the other copy finished first
				}
				if ph == r.phases-1 {
					st.storeY(s, next)
				}
			}
			team.finish()
		}
	}
	if r.workers == 1 {
		work(team.member(0))
	} else {
		parallel.Run(r.workers, 1, rnnMembers(func(w int) { work(team.member(w)) }))
	}
	r.end()
}

// end leaves the final states in hs (and cs).
func (r *rnnRun[T]) end() {
	if !r.redo {
		if r.maxLen%2 == 1 {
			copy(r.hs, r.states[1])
		}
		return
	}
	h, chunks := r.cell.op.hidden, len(r.bounds)-1
	first := int64(r.projects+r.maxLen-1) * int64(chunks) // the last step's first task
	for c := range chunks {
		k, j0, j1 := r.team.winner(first+int64(c)), r.bounds[c], r.bounds[c+1]
		for b := range r.v.batch {
			copy(r.hs[b*h+j0:b*h+j1], r.outs[r.maxLen-1][k][b*h+j0:b*h+j1])
			if r.cells != nil {
				copy(r.cs[b*h+j0:b*h+j1], r.cells[r.maxLen-1][k][b*h+j0:b*h+j1])
			}
		}
	}
}

// chainTasks returns the tasks of a run of one worker as a chain (see
// rnnChains): its projection blocks, free, then its steps' phases, in
// order.
func (r *rnnRun[T]) chainTasks() (free, ordered int64) {
	return int64(r.projects), int64(r.maxLen * r.phases)
}

// chainTask runs task i of a run of one worker whose stepper covers
// every unit (rnnRunGroups), once its earlier steps and every
// projection block are done; the blocks may run at once.
func (r *rnnRun[T]) chainTask(i int) {
	st := &r.steppers[0]
	if i < r.projects {
		r0, r1 := i*r.block, min(r.rows, (i+1)*r.block)
		r.gatherInputs(r0, r1)
		st.projectInputs(r0, r1)
		return
	}
	s, ph := (i-r.projects)/r.phases, (i-r.projects)%r.phases
	next := r.states[(s+1)%2]
	st.phase(s, ph, r.states[s%2], next)
	if ph == r.phases-1 {
		st.storeY(s, next)
	}
}

// gatherInputs copies into v.x rows [r0, r1) of the run's inputs (a row
// is a step's batch entry) from r.from, if set.
func (r *rnnRun[T]) gatherInputs(r0, r1 int) {
	if r.from == nil {
		return
	}
	v, in := r.v, r.v.inSize
	for row := r0; row < r1; row++ {
		s, b := row/v.batch, row%v.batch
		copy(v.x[row*in:(row+1)*in], r.from[(s*r.fromBatch+r.fromFirst+b)*in:])
	}
}

// rnnGroupRows is the fewest batch entries in a group of rnnRunGroups:
// the products by R of four rows at once (SgemvPackedVecB) run, per row,
// as fast as those of eight with R read from L3 at every step (on Zen 4,
// 2.9-3.0 ms against 5.65-5.7 for BenchmarkLSTM's layer at batch 4 and 8
// on one thread).
const rnnGroupRows = 4

// rnnGroupMaxR is the most bytes of R for which rnnRunGroups splits a
// batch: each group reads the whole of R at every step, from the shared
// L3 cache while it holds R, from memory beyond.
const rnnGroupMaxR = 4 << 20

// batchGroups returns into how many groups of batch entries rnnRunGroups
// splits the cell's batch for threads threads, or 1 to run it as one
// team: for float32 cells whose batch gives each thread rnnGroupRows
// entries or more and whose products by R all go through its panels
// (at most linalg.Blocked.VecPanelRows rows), as the team's would, so
// that results do not depend on the split, with R of at most
// rnnGroupMaxR bytes, and whose group's step is worth a goroutine of
// its own (parallel.Worth). The grain of package parallel is larger
// while it finds the machine oversubscribed: a team, which leaves the
// run to one worker at its first long wait, then does better (on the
// loaded machine, medians of 7.1-7.6 ms against 20-26 for
// BenchmarkLSTM's layer at batch 8 on 2 threads, in the sittings where
// the team ran alone from its first phases).
func (o *recurrent) batchGroups(v any, threads int) int {
	in, ok := v.(*rnnInputs[float32])
	if !ok || threads < 2 || in.batch < 2*rnnGroupRows || slices.Max(in.seqLens) < 2 {
		return 1 // a single step multiplies by R as stored (rnnCell.plan)
	}
	g, h := o.kind.gates(), o.hidden
	blocked, isBlocked := serialGemm().(linalg.Blocked)
	if !isBlocked || in.batch > blocked.VecPanelRows() || 4*g*h*h > rnnGroupMaxR || len(in.r) == 0 {
		return 1
	}
	groups := min(threads, in.batch/rnnGroupRows)
	if !parallel.Worth(2 * float64(in.batch/groups*g*h*h)) {
		return 1
	}
	return groups
}

// rnnGroupBlock is how many times a team's projection block
// (rnnPlan.projectionRows) a group's is: each block reads every panel of
// W, beyond the core's L2 cache for the zoo LSTM's second layer (1 MB),
// and a block of a few tiles' rows waits on the reads. Eight times (96
// rows at that layer, whose group of 4 entries has 256) took the zoo
// LSTM at batch 8 on 2 threads from medians of 4.72-4.84 ms to
// 4.33-4.34 ms (minima unchanged, 3.6-3.8 ms).
const rnnGroupBlock = 8

// rnnRunGroups runs direction d of a cell split into groups of batch
// entries, each group a run of its own (prepare), a chain of tasks (its
// projection blocks, which gather the group's inputs and run in any
// order, then its steps) that the workers take in turn (rnnChains): a
// step waits for the group's step before, not for every chunk of it as
// a team's does, so that workers wait for one another only when one
// holds the last task of the run, or every group's next task, while the
// system holds it back; and a worker that the machine runs faster than
// another takes some of the other's projection blocks, where the steps,
// in order, cannot be shared. The groups multiply by R's
// panels packed once for all of them and by W's, as a team of one
// worker would, so that results are the same. The runs' buffers are
// taken here, on the calling goroutine.
func rnnRunGroups[T rnnFloat](o *recurrent, ctx *Context, v *rnnInputs[T], groups, d int, y, hs, cs []T, buf *rnnScratch[T]) {
	h := o.hidden
	runs := make([]*rnnRun[T], groups)
	var plan *rnnPlan
	for k := range groups {
		b0, b1 := k*v.batch/groups, (k+1)*v.batch/groups
		vk := &rnnInputs[T]{steps: v.steps, batch: b1 - b0, inSize: v.inSize, dirs: v.dirs,
			w: v.w, r: v.r, b: v.b, p: v.p, seqLens: v.seqLens[b0:b1]}
		// The group's inputs, [S, b1-b0, I], which its projection
		// blocks gather (gatherInputs).
		vk.x = buf.take(v.steps * vk.batch * v.inSize)
		c := newRNNCell(o, ctx, vk, d, buf)
		var own *rnnPlan
		if plan == nil {
			plan = c.plan(vk.batch, slices.Max(v.seqLens), []int{0, h})
			own = plan
		} else {
			p := *plan // the same panels, for this group's rows
			p.dotRows = vk.batch
			own = &p
		}
		r := c.prepare(vk, 1, own, o.reverse || d == 1, y, d, b0, v.batch, hs[b0*h:b1*h], cs[b0*h:b1*h], buf)
		r.block = rnnGroupBlock * own.projectionRows(vk.batch, h, v.inSize)
		r.projects = (r.rows + r.block - 1) / r.block
		r.from, r.fromBatch, r.fromFirst = v.x, v.batch, b0
		// One stepper for every unit, which the projection blocks
		// share, running at once.
		st := &r.steppers[0]
		st.j0, st.j1, st.chunk = r.bounds[0], r.bounds[1], 0
		runs[k] = r
	}
	chains := newRNNChains(groups, func(k int) (int64, int64) { return runs[k].chainTasks() })
	parallel.Run(groups, 1, rnnMembers(func(w int) {
		chains.work(w, func(k int, task int64) { runs[k].chainTask(int(task)) })
	}))
	for _, r := range runs {
		r.end()
	}
}

// rnnMembers runs the members of a team, as a body of parallel.Run: a
// range [lo, hi) of its loop is members lo to hi-1 in turn.
type rnnMembers func(w int)

// Range implements parallel.Body.
func (f rnnMembers) Range(lo, hi int) {
	for w := lo; w < hi; w++ {
		f(w)
	}
}

// projectInputs stores in rows [r0, r1) of xw the chunk's columns: the
// chunk's units' biases plus its rows of W times the rows' inputs (a row
// is a step's batch entry), by W's panels of the chunk (rnnPlan.w) as
// one product for all its gates, else a product per gate by W as
// stored. Each value is computed the same whichever rows are computed
// together.
func (st *rnnStepper[T]) projectInputs(r0, r1 int) {
	c, v := st.cell, st.v
	g, h, in := c.op.kind.gates(), c.op.hidden, v.inSize
	rows, n, ld := r1-r0, st.j1-st.j0, g*c.op.hidden
	xw, x := c.xw[r0*ld+g*st.j0:], v.x[r0*in:]
	for r := range rows {
		row := xw[r*ld:][:g*n]
		for k := range g {
			copy(row[k*n:(k+1)*n], c.bias[k*h+st.j0:])
		}
	}
	if rows == 0 || in == 0 {
		return
	}
	if p := st.plan; p.w != nil {
		p.wide.SgemmPackedB(rows, g*n, in, 1, any(x).([]float32), in, p.w[st.chunk], 1, any(xw).([]float32), ld)
		return
	}
	for k := range g {
		gemmT(st.gemm, false, true, rows, n, in, 1, x, in, c.w[(k*h+st.j0)*in:], in, 1, xw[k*n:], ld)
	}
}

// projectionRows returns how many rows of the input projections a team
// computes per phase: about as many as make a chunk's product by W the
// work of its product by R at a step, batch×H multiply-adds per column
// where a row costs I, in whole tiles of the kernel that multiplies by
// W's panels.
func (p *rnnPlan) projectionRows(batch, h, in int) int {
	tile := 1
	if p.w != nil {
		tile = p.wide.TileRows()
	}
	rows := max(1, batch*h/max(1, in))
	return (rows + tile - 1) / tile * tile
}

// rnnPlan is how a run multiplies by R, the same for every worker: for
// float32 cells, the rows of the batch that fill the packed kernel's
// tiles go through SgemmPackedB with each chunk's rows of a group of
// gate blocks of R packed once (packed[chunk][group], the chunk's rows
// of each gate of the group in turn), and the last dotRows rows through
// SgemvPackedVecB, each row by PackVecB's panels of the same rows of R
// (vec[chunk][group]), which stay in cache from one row, and one step,
// to the next (see rnnTeam). A
// group is the gates one product takes (rnnGateGroups): one product of
// all a chunk's gates costs less than one per gate. Without a packer,
// dotRows rows (a batch of one) go through DotRows on R as stored; nil
// packed and vec and 0 dotRows: gemmT, a gate at a time.
//
// The input projections go through the wide kernel of the packer
// (linalg.Blocked.Wide: on AVX-512, tiles of 12x32) with each chunk's
// rows of every gate of W packed once (w[chunk]); without a packer (or
// for a sequence of one step), gemmT by W as stored.
//
// A plan whose weights are the program's unchanged initializers is kept
// for the next runs (rnnPrepared) and reused by those with the same
// weights, generation, packer, chunk bounds and split of the rows.
type rnnPlan struct {
	packer, wide linalg.Blocked
	packed, vec  [][][]float32
	w            [][]float32
	dotRows      int
	tiled        bool // some rows go through packed
	generation   uint64
	r, wFirst    *float32 // the first values of the R and W packed
	bounds       []int
}

// plan chooses how the run multiplies by R and packs it, or takes the
// packing of an earlier run. The rows past the packed kernel's tiles
// (linalg.Blocked.TileRows) go through the panels when they are at most
// a third of a tile (a tile of them would cost the whole tile's
// arithmetic), else through the tiles too. A sequence of one step, or a
// Gemm that does not pack, multiplies as gemmT does, but for a single
// row. A batch of at most the packer's VecPanelRows goes through the
// panels alone: R packed once, read once per step and chunk.
func (c *rnnCell[T]) plan(batch, steps int, bounds []int) *rnnPlan {
	g, h := c.op.kind.gates(), c.op.hidden
	r32, ok := any(c.r).([]float32)
	w32, _ := any(c.w).([]float32)
	if !ok {
		return &rnnPlan{}
	}
	p := &rnnPlan{}
	if batch == 1 {
		p.dotRows = 1
	}
	blocked, isBlocked := serialGemm().(linalg.Blocked)
	if !isBlocked || steps < 2 || len(r32) == 0 {
		return p
	}
	tile := blocked.TileRows()
	if p.dotRows = batch % tile; 3*p.dotRows > tile {
		p.dotRows = 0
	}
	if batch <= blocked.VecPanelRows() {
		p.dotRows = batch
	}
	p.packer, p.tiled, p.bounds, p.r = blocked, p.dotRows < batch, bounds, &r32[0]
	if len(w32) > 0 {
		p.wide, p.wFirst, p.w = blocked.Wide(), &w32[0], make([][]float32, len(bounds)-1)
	}
	groups := c.op.gateGroups()
	constant := c.ctx.Constant(1) && c.ctx.Constant(2)
	if e := c.prep.plan.Load(); constant && e != nil && e.generation == c.ctx.Generation && e.r == p.r && e.wFirst == p.wFirst &&
		e.packer == p.packer && e.dotRows == p.dotRows && e.tiled == p.tiled && slices.Equal(e.bounds, bounds) {
		return e
	}
	if p.tiled {
		p.packed = make([][][]float32, len(bounds)-1)
	}
	if p.dotRows > 0 {
		p.vec = make([][][]float32, len(bounds)-1)
	}
	in := len(w32) / (g * h)
	parallel.For(len(bounds)-1, 1, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			j0, w := bounds[k], bounds[k+1]-bounds[k]
			if p.w != nil {
				// The chunk's rows of every gate of W, gathered.
				rows := make([]float32, 0, g*w*in)
				for gate := range g {
					rows = append(rows, w32[(gate*h+j0)*in:(gate*h+j0+w)*in]...)
				}
				p.w[k] = make([]float32, p.wide.PackedLen(in, g*w))
				p.wide.PackB(true, in, g*w, rows, in, p.w[k])
			}
			for _, gr := range groups {
				// The chunk's rows of the group's gates, gathered.
				n := (gr[1] - gr[0]) * w
				rows := make([]float32, 0, n*h)
				for gate := gr[0]; gate < gr[1]; gate++ {
					rows = append(rows, r32[(gate*h+j0)*h:(gate*h+j0+w)*h]...)
				}
				if p.tiled {
					p.packed[k] = append(p.packed[k], make([]float32, blocked.PackedLen(h, n)))
					blocked.PackB(true, h, n, rows, h, p.packed[k][len(p.packed[k])-1])
				}
				if p.dotRows > 0 {
					p.vec[k] = append(p.vec[k], make([]float32, linalg.VecPackedLen(h, n)))
					blocked.PackVecB(true, h, n, rows, h, p.vec[k][len(p.vec[k])-1])
				}
			}
		}
	})
	if constant {
		p.generation = c.ctx.Generation
		c.prep.plan.Store(p)
	}
	return p
}

// rnnStepper is one worker of rnnCell.run: it computes hidden units
// [j0, j1), chunk chunk, of every batch entry.
type rnnStepper[T rnnFloat] struct {
	cell    *rnnCell[T]
	v       *rnnInputs[T]
	reverse bool
	y       []T
	d       int
	yFirst  int // Y's batch entry of the run's first
	yBatch  int // Y's batch
	// cCur and cNext are the cell states [B, H] before and after the
	// step: the same buffer, updated in place, but in a run whose steps'
	// tasks may be taken twice (rnnRun.redo).
	cCur, cNext []T
	// hr is where the products that do not go to the worker's scratch go
	// (rnnCell.hr, or the worker's own in a run whose tasks may be taken
	// twice).
	hr []T
	// gathered is the stepper's copy of a step's states whose chunks
	// come from different copies of their tasks (rnnRun.stepStates).
	gathered []T
	j0, j1   int
	chunk    int
	gemm     linalg.Gemm // computing on the worker's goroutine
	plan     *rnnPlan
	pre      []T        // gate scratch, at least (G+1)*(j1-j0)*B
	live     []rnnEntry // the running entries of a step, capacity B
	out      []float32  // the packed products' scratch, at least B*G*(j1-j0)
	// backward: the step multiplies by R's panels from the last (odd
	// steps), so that it first reads those that the step before read
	// last, still in the core's cache (linalg's SgemvPackedVecBBackward).
	backward bool
}

// rnnProducts locates a phase's recurrent products for a chunk: gate
// k's units of batch entry b (k counted from the group's first gate)
// at v[b*ld+k*gate:], the chunk's first unit first.
type rnnProducts[T rnnFloat] struct {
	v        []T
	ld, gate int
}

// at returns gate k's units of batch entry b.
func (p rnnProducts[T]) at(b, k int) []T { return p.v[b*p.ld+k*p.gate:] }

// products computes the chunk's units of gate group 0's blocks of a·Rᵀ
// over the batch, a being [B, H], and returns where they are: the
// packed products leave them in the worker's scratch, the others put
// them in the cell's hr. Only the worker reads its scratch, within the
// phase.
func (st *rnnStepper[T]) products(a []T) rnnProducts[T] {
	c := st.cell
	g, h := c.op.kind.gates(), c.op.hidden
	if out, ldo, ok := st.projectPacked(a, 0); ok {
		return rnnProducts[T]{v: any(out).([]T), ld: ldo, gate: st.j1 - st.j0}
	}
	st.project(a, 0, st.hr[st.j0:], g*h)
	return rnnProducts[T]{v: st.hr[st.j0:], ld: g * h, gate: h}
}

// project stores in dst (rows ld apart, gate k's units at (k-first)*h
// for the group's first gate) the chunk's units of gate group gr's
// blocks of the product a·Rᵀ over the batch, a being [B, H]. The packed
// products compute every gate of the group at once into the worker's
// scratch (projectPacked), then copy each gate's columns.
func (st *rnnStepper[T]) project(a []T, group int, dst []T, ld int) {
	c, h, batch, w := st.cell, st.cell.op.hidden, st.v.batch, st.j1-st.j0
	gr := c.op.gateGroups()[group]
	if out, ldo, ok := st.projectPacked(a, group); ok {
		d32 := any(dst).([]float32)
		for b := range batch {
			for k := gr[0]; k < gr[1]; k++ {
				copy(d32[b*ld+(k-gr[0])*h:][:w], out[b*ldo+(k-gr[0])*w:][:w])
			}
		}
		return
	}
	a32, ok := any(a).([]float32)
	p := st.plan
	for k := gr[0]; k < gr[1]; k++ {
		rows := c.r[(k*h+st.j0)*h:]
		out := dst[(k-gr[0])*h:]
		if !ok || p.dotRows == 0 {
			gemmT(st.gemm, false, true, batch, w, h, 1, a, h, rows, h, 0, out, ld)
			continue
		}
		d32, r32 := any(out).([]float32), any(rows).([]float32)
		for b := range batch {
			linalg.DotRows(d32[b*ld:][:w], r32, h, a32[b*h:][:h])
		}
	}
}

// projectPacked computes, when the plan packs R, the chunk's units of
// gate group gr's blocks of a·Rᵀ over the batch into the worker's
// scratch, entry b's at out[b*ldo:], gate k's units at (k-first)*w for
// a chunk of w units, and reports whether it did.
func (st *rnnStepper[T]) projectPacked(a []T, group int) (out []float32, ldo int, ok bool) {
	c, h, batch, w := st.cell, st.cell.op.hidden, st.v.batch, st.j1-st.j0
	gr := c.op.gateGroups()[group]
	a32, ok := any(a).([]float32)
	p := st.plan
	if !ok || p.packed == nil && p.vec == nil {
		return nil, 0, false
	}
	// The scratch's rows are ldo apart, room for the padding columns
	// that SgemvPackedVecB stores.
	n := (gr[1] - gr[0]) * w
	ldo = (n + linalg.VecPanelWidth - 1) / linalg.VecPanelWidth * linalg.VecPanelWidth
	out = st.out[:batch*ldo]
	tiled := batch - p.dotRows
	if tiled > 0 {
		p.packer.SgemmPackedB(tiled, n, h, 1, a32, h, p.packed[st.chunk][group], 0, out, ldo)
	}
	if p.dotRows > 0 && st.backward {
		p.packer.SgemvPackedVecBBackward(p.dotRows, n, h, a32[tiled*h:], h, p.vec[st.chunk][group], out[tiled*ldo:], ldo)
	} else if p.dotRows > 0 {
		p.packer.SgemvPackedVecB(p.dotRows, n, h, a32[tiled*h:], h, p.vec[st.chunk][group], out[tiled*ldo:], ldo)
	}
	return out, ldo, true
}

// gateGroups returns the ranges of gate blocks of R that the steps
// multiply by at once: all of them, but for a GRU without
// linear_before_reset, whose candidate's block multiplies r ⊙ h, the
// update and reset gates' [0, 2) and the candidate's [2, 3).
func (o *recurrent) gateGroups() [][2]int {
	if o.kind == cellGRU && !o.linearBeforeReset {
		return [][2]int{{0, 2}, {2, 3}}
	}
	return [][2]int{{0, o.kind.gates()}}
}

// phase runs phase ph of step s for the chunk's units, from the state
// cur [B, H] to next (and the cell states from cCur to cNext); storeY
// then stores the step's outputs. An entry past its length keeps its state. A GRU
// without linear_before_reset runs its reset gates and r ⊙ h in phase 0
// and the rest in phase 1; the other cells have one phase.
func (st *rnnStepper[T]) phase(s, ph int, cur, next []T) {
	c, v := st.cell, st.v
	g, h, batch := c.op.kind.gates(), c.op.hidden, v.batch
	j0, j1 := st.j0, st.j1
	resetFirst := c.op.kind == cellGRU && !c.op.linearBeforeReset
	st.backward = s%2 == 1
	if resetFirst && ph == 0 {
		st.project(cur, 0, st.hr[j0:], g*h) // the candidate's rows act on r ⊙ h
		for b := 0; b < batch; b++ {
			u := c.u[b*h+j0 : b*h+j1]
			t, live := st.time(b, s)
			if !live {
				clear(u)
				continue
			}
			xw, hr := c.xw[(t*batch+b)*g*h+g*j0+(j1-j0):], st.hr[b*g*h+h+j0:] // gate r
			rnnBinary(vec.OpAdd, u, xw, hr)
			c.activate(0, u)
			rnnBinary(vec.OpMul, u, u, cur[b*h+j0:])
		}
		return
	}
	// The gates' recurrent products: those of phase 0 for a GRU without
	// linear_before_reset, whose candidate's are in hrh.
	hr := rnnProducts[T]{v: st.hr[j0:], ld: g * h, gate: h}
	if resetFirst {
		st.project(c.u, 1, c.hrh[j0:], h)
	} else {
		hr = st.products(cur)
	}
	live := st.running(s, cur, next)
	switch c.op.kind {
	case cellLSTM:
		st.lstmGates(live, next, hr)
	case cellGRU:
		st.gruGates(live, cur, next, hr)
	default:
		st.rnnGates(live, next, hr)
	}
}

// storeY stores in Y the chunk's units of step s's states, next, of the
// entries that run then.
func (st *rnnStepper[T]) storeY(s int, next []T) {
	v, h, j0, j1 := st.v, st.cell.op.hidden, st.j0, st.j1
	for b := range v.batch {
		if t, live := st.time(b, s); live {
			copy(st.y[((t*v.dirs+st.d)*st.yBatch+st.yFirst+b)*h+j0:][:j1-j0], next[b*h+j0:b*h+j1])
		}
	}
}

// time returns the time index batch entry b reads at step s, and whether
// the entry still runs then.
func (st *rnnStepper[T]) time(b, s int) (int, bool) {
	n := st.v.seqLens[b]
	if s >= n {
		return 0, false
	}
	if st.reverse {
		return n - 1 - s, true
	}
	return s, true
}

// running returns the batch entries that run at step s, with the time
// index each reads; the chunk's units of the others keep their state,
// copied from cur to next (and from cCur to cNext).
func (st *rnnStepper[T]) running(s int, cur, next []T) []rnnEntry {
	h, j0, j1 := st.cell.op.hidden, st.j0, st.j1
	live := st.live[:0]
	for b := range st.v.batch {
		t, ok := st.time(b, s)
		if !ok {
			copy(next[b*h+j0:b*h+j1], cur[b*h+j0:b*h+j1])
			if st.cCur != nil {
				copy(st.cNext[b*h+j0:b*h+j1], st.cCur[b*h+j0:b*h+j1])
			}
			continue
		}
		live = append(live, rnnEntry{b, t})
	}
	return live
}

// rnnGates computes the chunk's units of the next state of the running
// entries of an RNN, in next [B, H].
func (st *rnnStepper[T]) rnnGates(live []rnnEntry, next []T, hr rnnProducts[T]) {
	c := st.cell
	h, batch, j0, n := c.op.hidden, st.v.batch, st.j0, st.j1-st.j0
	pre := st.pre[:len(live)*n]
	for e, l := range live {
		rnnBinary(vec.OpAdd, pre[e*n:(e+1)*n], c.xw[(l.t*batch+l.b)*h+j0:], hr.at(l.b, 0)) // one gate: the chunk at j0
	}
	c.activate(0, pre)
	for e, l := range live {
		copy(next[l.b*h+j0:][:n], pre[e*n:(e+1)*n])
	}
}

// gruGates computes the chunk's units of the next state of the running
// entries of a GRU, in next [B, H], from the state cur. Gate blocks z,
// r, h. With linear_before_reset the candidate is g(xw_h + r ⊙ (R_h h +
// Rb_h)); without, g(xw_h + R_h (r ⊙ h)), Rb_h being in xw.
func (st *rnnStepper[T]) gruGates(live []rnnEntry, cur, next []T, hr rnnProducts[T]) {
	c := st.cell
	g, h, batch, j0, j1 := c.op.kind.gates(), c.op.hidden, st.v.batch, st.j0, st.j1
	n := j1 - j0
	m := len(live) * n
	z, r, cand, tmp := st.pre[:m], st.pre[m:2*m], st.pre[2*m:3*m], st.pre[3*m:4*m]
	for e, l := range live {
		xw := c.xw[(l.t*batch+l.b)*g*h+g*j0:][:g*n]
		o := e * n
		rnnBinary(vec.OpAdd, z[o:o+n], xw, hr.at(l.b, 0))
		if c.op.linearBeforeReset {
			rnnBinary(vec.OpAdd, r[o:o+n], xw[n:], hr.at(l.b, 1))
			continue
		}
		rnnBinary(vec.OpAdd, cand[o:o+n], xw[2*n:], c.hrh[l.b*h+j0:])
	}
	c.activate(0, z)
	if c.op.linearBeforeReset {
		c.activate(0, r)
		for e, l := range live {
			o := e * n
			t := tmp[o : o+n]
			rnnBinary(vec.OpAdd, t, hr.at(l.b, 2), c.rbh[j0:])
			rnnBinary(vec.OpMul, t, r[o:o+n], t)
			rnnBinary(vec.OpAdd, cand[o:o+n], c.xw[(l.t*batch+l.b)*g*h+g*j0+2*n:], t)
		}
	}
	c.activate(1, cand)
	// h' = (1-z) ⊙ n + z ⊙ h, with (1-z) ⊙ n in tmp and z ⊙ h in r.
	rnnOneMinus(tmp, z)
	rnnBinary(vec.OpMul, tmp, tmp, cand)
	for e, l := range live {
		o := e * n
		rnnBinary(vec.OpMul, r[o:o+n], z[o:o+n], cur[l.b*h+j0:])
	}
	rnnBinary(vec.OpAdd, tmp, tmp, r)
	for e, l := range live {
		copy(next[l.b*h+j0:l.b*h+j1], tmp[e*n:(e+1)*n])
	}
}

// rnnEntry is a batch entry that runs at a step, and the time index it
// reads then.
type rnnEntry struct{ b, t int }

// lstmGates computes the chunk's units of the next state of the running
// entries of an LSTM, in next [B, H], and of their cell states, from the
// input and recurrent projections.
//
// An entry's pre-activations of the chunk's four gates are one sum of
// its xw and hr (one call where hr holds a chunk's gates side by side,
// as the packed products leave them), and the gate functions run over
// the chunk's input, output and forget gates at once (the output gate
// apart with peepholes, as it reads the new cell state): at a batch of
// one, a step's element-wise work is about nine calls of package vec
// per chunk, each over whole gate blocks, since with two workers a
// chunk is 32 to 128 units and a call's overhead counts.
func (st *rnnStepper[T]) lstmGates(live []rnnEntry, next []T, hr rnnProducts[T]) {
	c := st.cell
	g, h, batch := c.op.kind.gates(), c.op.hidden, st.v.batch
	j0, j1 := st.j0, st.j1
	n := j1 - j0
	peep := c.peep != nil
	// Per entry, gate blocks i, o, f, c of n units each, then a block
	// for h(c'); peepholes i, o, f.
	for e, l := range live {
		a := st.pre[e*(g+1)*n:][:(g+1)*n]
		in, out, forget, cand, hc := a[:n], a[n:2*n], a[2*n:3*n], a[3*n:4*n], a[4*n:]
		xw := c.xw[(l.t*batch+l.b)*g*h+g*j0:][:g*n]
		if hr.gate == n {
			rnnBinary(vec.OpAdd, a[:g*n], xw, hr.at(l.b, 0))
		} else {
			for k := range g {
				rnnBinary(vec.OpAdd, a[k*n:(k+1)*n], xw[k*n:], hr.at(l.b, k))
			}
		}
		cs, cn := st.cCur[l.b*h+j0:l.b*h+j1], st.cNext[l.b*h+j0:l.b*h+j1]
		switch {
		case peep:
			rnnBinary(vec.OpMul, hc, c.peep[j0:], cs)
			rnnBinary(vec.OpAdd, in, in, hc)
			c.activate(0, in)
			if c.op.inputForget {
				rnnOneMinus(forget, in)
			} else {
				rnnBinary(vec.OpMul, hc, c.peep[2*h+j0:], cs)
				rnnBinary(vec.OpAdd, forget, forget, hc)
				c.activate(0, forget)
			}
		case c.op.inputForget:
			c.activate(0, a[:2*n]) // i and o
			rnnOneMinus(forget, in)
		default:
			c.activate(0, a[:3*n]) // i, o and f
		}
		c.activate(1, cand)
		// c' = f ⊙ c + i ⊙ g, in the next cell state.
		rnnBinary(vec.OpMul, cn, forget, cs)
		rnnBinary(vec.OpMul, cand, in, cand)
		rnnBinary(vec.OpAdd, cn, cn, cand)
		if peep {
			rnnBinary(vec.OpMul, hc, c.peep[h+j0:], cn)
			rnnBinary(vec.OpAdd, out, out, hc)
			c.activate(0, out)
		}
		copy(hc, cn)
		c.activate(2, hc)
		rnnBinary(vec.OpMul, next[l.b*h+j0:l.b*h+j1], out, hc)
	}
}

// rnnBinary stores x[i] op y[i] in dst[i] for i < len(dst), op being
// vec.OpAdd or vec.OpMul: through vec.Binary in float32, element by
// element in float64. dst may be x or y.
func rnnBinary[T rnnFloat](op vec.BinaryOp, dst, x, y []T) {
	if d32, ok := any(dst).([]float32); ok {
		vec.Binary(op, d32, any(x).([]float32), any(y).([]float32))
		return
	}
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		if op == vec.OpMul {
			dst[i] = x[i] * y[i]
		} else {
			dst[i] = x[i] + y[i]
		}
	}
}

// rnnOneMinus stores 1 - x[i] in dst[i] for i < len(dst).
func rnnOneMinus[T rnnFloat](dst, x []T) {
	if d32, ok := any(dst).([]float32); ok {
		vec.ScalarBinary(vec.OpSub, d32, 1, any(x).([]float32))
		return
	}
	for i := range dst {
		dst[i] = 1 - x[i]
	}
}
