package native

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Backward differentiates a training run. seeds gives the gradient of the
// loss with respect to some values of the run (typically the logits);
// wrt names the values whose gradients are wanted (typically the
// trainable initializers). It returns those gradients by name; a value
// the loss does not depend on gets none.
//
// Only the nodes on a path from a wrt value to a seeded value are
// differentiated, and each of them must implement ops.Differentiable.
func (t *Tape) Backward(seeds map[string]*tensor.Tensor, wrt []string) (map[string]*tensor.Tensor, error) {
	p := t.prog
	if t.contexts == nil {
		return nil, fmt.Errorf("native: Backward needs a tape recorded with Options.Training")
	}
	// needs[slot]: the value depends on a wrt value, so its gradient is
	// worth computing.
	needs := make([]bool, len(p.names))
	for _, name := range wrt {
		slot := p.slotOf(name)
		if slot < 0 {
			return nil, fmt.Errorf("native: the model has no value %q", name)
		}
		needs[slot] = true
	}
	for _, s := range p.steps {
		for _, in := range s.inputs {
			if in >= 0 && needs[in] {
				for _, out := range s.outputs {
					if out >= 0 {
						needs[out] = true
					}
				}
				break
			}
		}
	}
	grads := make([]*tensor.Tensor, len(p.names))
	for name, g := range seeds {
		slot := p.slotOf(name)
		if slot < 0 {
			return nil, fmt.Errorf("native: the model has no value %q", name)
		}
		if v := t.values[slot]; v == nil || v.Len() != g.Len() {
			return nil, fmt.Errorf("native: gradient seed for %q does not match its value", name)
		}
		grads[slot] = g
	}
	for i := len(p.steps) - 1; i >= 0; i-- {
		s := p.steps[i]
		gradOut := make([]*tensor.Tensor, len(s.outputs))
		any := false
		for j, slot := range s.outputs {
			if slot >= 0 && grads[slot] != nil {
				gradOut[j] = grads[slot]
				any = true
			}
		}
		wanted := false
		for _, in := range s.inputs {
			if in >= 0 && needs[in] {
				wanted = true
			}
		}
		if !any || !wanted {
			continue
		}
		diff, ok := s.op.(ops.Differentiable)
		if !ok {
			return nil, p.nodeError(s, fmt.Errorf("has no backward pass"))
		}
		in := make([]*tensor.Tensor, len(s.inputs))
		for j, slot := range s.inputs {
			if slot >= 0 {
				in[j] = t.values[slot]
			}
		}
		out := make([]*tensor.Tensor, len(s.outputs))
		for j, slot := range s.outputs {
			if slot >= 0 {
				out[j] = t.values[slot]
			}
		}
		gradIn, err := diff.Backward(t.contexts[i], in, out, gradOut)
		if err != nil {
			return nil, p.nodeError(s, err)
		}
		for j, g := range gradIn {
			if j >= len(s.inputs) || g == nil || s.inputs[j] < 0 || !needs[s.inputs[j]] {
				continue
			}
			slot := s.inputs[j]
			if grads[slot] == nil {
				grads[slot] = g
			} else {
				grads[slot] = sum(grads[slot], g)
			}
		}
	}
	result := map[string]*tensor.Tensor{}
	for _, name := range wrt {
		if g := grads[p.slots[name]]; g != nil {
			result[name] = g
		}
	}
	return result, nil
}

// sum returns a new tensor a+b. It never adds in place, since either
// gradient may share its buffer with another value.
func sum(a, b *tensor.Tensor) *tensor.Tensor {
	out := tensor.Float32(a.Shape...)
	x, y, z := a.F32(), b.F32(), out.F32()
	for i := range z {
		z[i] = x[i] + y[i]
	}
	return out
}
