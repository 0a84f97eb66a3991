package optim

import (
	"fmt"
	"math"
)

// Optimizer updates a flat parameter buffer in place from the gradient
// buffer of the same length. The caller carves both buffers into the
// views of the individual tensors; the optimizer sees one vector.
//
// The state (moment buffers and step count) is allocated at the first
// Step for len(params) values; later calls must pass the same length.
type Optimizer interface {
	// Step applies one update with learning rate lr. It panics if
	// len(grads) != len(params) or the length differs from earlier steps.
	Step(params, grads []float32, lr float32)
	// State returns a deep copy of the optimizer's state.
	State() State
	// SetState replaces the optimizer's state with a copy of s, which
	// must come from an optimizer of the same kind.
	SetState(s State) error
}

// State is an optimizer's state as flat buffers, for checkpoints.
// Buffers are nil before the first step.
type State struct {
	Kind    string      // "sgd" or "adam"
	Step    int64       // number of steps taken
	Buffers [][]float32 // "sgd": velocity; "adam": first moment, second moment
}

// checkLengths panics unless the buffers match each other and the state.
func checkLengths(kind string, params, grads []float32, stateLen int) {
	if len(params) != len(grads) {
		panic(fmt.Sprintf("optim: %s step with %d parameters and %d gradients", kind, len(params), len(grads)))
	}
	if stateLen >= 0 && stateLen != len(params) {
		panic(fmt.Sprintf("optim: %s step with %d parameters, state holds %d", kind, len(params), stateLen))
	}
}

// copyBuffers deep-copies a list of buffers.
func copyBuffers(bufs [][]float32) [][]float32 {
	if bufs == nil {
		return nil
	}
	out := make([][]float32, len(bufs))
	for i, b := range bufs {
		out[i] = append([]float32(nil), b...)
	}
	return out
}

// checkState validates s for an optimizer of the given kind and buffer count.
func checkState(s State, kind string, nbuf int) error {
	if s.Kind != kind {
		return fmt.Errorf("optim: state of kind %q given to a %q optimizer", s.Kind, kind)
	}
	if s.Step < 0 {
		return fmt.Errorf("optim: %s state with negative step %d", kind, s.Step)
	}
	if s.Buffers == nil {
		if s.Step != 0 {
			return fmt.Errorf("optim: %s state at step %d without buffers", kind, s.Step)
		}
		return nil
	}
	if len(s.Buffers) != nbuf {
		return fmt.Errorf("optim: %s state with %d buffers, want %d", kind, len(s.Buffers), nbuf)
	}
	for i, b := range s.Buffers {
		if len(b) != len(s.Buffers[0]) {
			return fmt.Errorf("optim: %s state buffer %d has %d values, buffer 0 has %d", kind, i, len(b), len(s.Buffers[0]))
		}
	}
	return nil
}

// SGD is stochastic gradient descent with momentum and L2 weight decay in
// the form of Krizhevsky, Sutskever and Hinton (2012), section 5:
//
//	v <- Momentum*v - WeightDecay*lr*w - lr*g
//	w <- w + v
//
// The decay is part of the velocity (coupled L2 regularisation of
// 0.5*WeightDecay*|w|^2); the learning rate multiplies the new terms
// only, so a change of lr does not rescale the velocity already built up.
// AlexNet used Momentum 0.9 and WeightDecay 0.0005. v starts at zero.
type SGD struct {
	Momentum    float32
	WeightDecay float32
	step        int64
	velocity    []float32
}

// NewSGD returns an SGD optimizer.
func NewSGD(momentum, weightDecay float32) *SGD {
	return &SGD{Momentum: momentum, WeightDecay: weightDecay}
}

// Step applies one SGD update.
func (o *SGD) Step(params, grads []float32, lr float32) {
	if o.velocity == nil {
		checkLengths("sgd", params, grads, -1)
		o.velocity = make([]float32, len(params))
	}
	checkLengths("sgd", params, grads, len(o.velocity))
	m, decay := o.Momentum, o.WeightDecay*lr
	v, grads := o.velocity[:len(params)], grads[:len(params)] // no bounds checks below
	for i := range params {
		v[i] = m*v[i] - decay*params[i] - lr*grads[i]
		params[i] += v[i]
	}
	o.step++
}

// State returns a copy of the velocity and the step count.
func (o *SGD) State() State {
	var bufs [][]float32
	if o.velocity != nil {
		bufs = copyBuffers([][]float32{o.velocity})
	}
	return State{Kind: "sgd", Step: o.step, Buffers: bufs}
}

// SetState restores a state returned by State.
func (o *SGD) SetState(s State) error {
	if err := checkState(s, "sgd", 1); err != nil {
		return err
	}
	o.step, o.velocity = s.Step, nil
	if s.Buffers != nil {
		o.velocity = append([]float32(nil), s.Buffers[0]...)
	}
	return nil
}

// Adam is the optimizer of Kingma and Ba (2015) with bias correction; at
// step t (counting from 1):
//
//	g' = g + WeightDecay*w                  (Adam: coupled L2 decay)
//	g' = g                                  (AdamW)
//	m <- Beta1*m + (1-Beta1)*g'
//	s <- Beta2*s + (1-Beta2)*g'^2
//	w <- w - lr*( m/(1-Beta1^t) / (sqrt(s/(1-Beta2^t)) + Eps) )
//	       - lr*WeightDecay*w               (AdamW only: decoupled decay)
//
// With Decoupled set it is AdamW (Loshchilov and Hutter, 2019): the decay
// shrinks the weights directly instead of passing through the moments,
// both terms computed from the weights before the step. The bias
// corrections are folded into two factors computed in float64 once per
// step (see Step).
type Adam struct {
	Beta1, Beta2 float32
	Eps          float32
	WeightDecay  float32
	Decoupled    bool // AdamW
	step         int64
	m, s         []float32
}

// NewAdam returns Adam with coupled (L2) weight decay.
func NewAdam(beta1, beta2, eps, weightDecay float32) *Adam {
	return &Adam{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay}
}

// NewAdamW returns Adam with decoupled weight decay (AdamW).
func NewAdamW(beta1, beta2, eps, weightDecay float32) *Adam {
	return &Adam{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay, Decoupled: true}
}

// kind is the State kind for both variants: they share the state layout.
func (o *Adam) kind() string { return "adam" }

// Step applies one Adam or AdamW update.
func (o *Adam) Step(params, grads []float32, lr float32) {
	if o.m == nil {
		checkLengths(o.kind(), params, grads, -1)
		o.m = make([]float32, len(params))
		o.s = make([]float32, len(params))
	}
	checkLengths(o.kind(), params, grads, len(o.m))
	o.step++
	// With stepSize = lr/(1-Beta1^t) and invRootBC2 = 1/sqrt(1-Beta2^t),
	// lr*mhat/(sqrt(shat)+Eps) = stepSize*m/(sqrt(s)*invRootBC2+Eps):
	// one division per value. Both factors are computed in float64.
	t := float64(o.step)
	stepSize := float32(float64(lr) / (1 - math.Pow(float64(o.Beta1), t)))
	invRootBC2 := float32(1 / math.Sqrt(1-math.Pow(float64(o.Beta2), t)))
	b1, b2, eps := o.Beta1, o.Beta2, o.Eps
	l2, dec := o.WeightDecay, float32(0)
	if o.Decoupled {
		l2, dec = 0, lr*o.WeightDecay
	}
	m, s, grads := o.m[:len(params)], o.s[:len(params)], grads[:len(params)] // no bounds checks below
	for i, w := range params {
		g := grads[i] + l2*w
		m[i] = b1*m[i] + (1-b1)*g
		s[i] = b2*s[i] + (1-b2)*g*g
		root := float32(math.Sqrt(float64(s[i])))
		params[i] = w - stepSize*m[i]/(root*invRootBC2+eps) - dec*w
	}
}

// State returns a copy of both moments and the step count.
func (o *Adam) State() State {
	var bufs [][]float32
	if o.m != nil {
		bufs = copyBuffers([][]float32{o.m, o.s})
	}
	return State{Kind: o.kind(), Step: o.step, Buffers: bufs}
}

// SetState restores a state returned by State.
func (o *Adam) SetState(st State) error {
	if err := checkState(st, o.kind(), 2); err != nil {
		return err
	}
	o.step, o.m, o.s = st.Step, nil, nil
	if st.Buffers != nil {
		o.m = append([]float32(nil), st.Buffers[0]...)
		o.s = append([]float32(nil), st.Buffers[1]...)
	}
	return nil
}
