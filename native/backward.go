package native

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/internal/arena"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/parallel"
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
// Backward hands each intermediate value and gradient back to the
// program as soon as the last node that needs it has run, so that
// afterwards only the graph outputs, the inputs, the values named in
// Options.Keep and the returned gradients remain readable; Release
// recycles those too. Backward runs once per tape.
func (t *Tape) Backward(seeds map[string]*tensor.Tensor, wrt []string) (map[string]*tensor.Tensor, error) {
	return t.backward(seeds, wrt, nil)
}

// BackwardInto is Backward that stores the gradient of each value named
// in into in its slice (zeros for a value the loss does not depend on),
// as soon as the gradient is complete, and recycles the gradient's own
// buffer at once: a training loop that keeps its gradients in one flat
// buffer (see native/optim) then never holds two copies of them.
func (t *Tape) BackwardInto(seeds map[string]*tensor.Tensor, into map[string][]float32) error {
	wrt := make([]string, 0, len(into))
	for name := range into {
		wrt = append(wrt, name)
	}
	_, err := t.backward(seeds, wrt, into)
	return err
}

// backward is Backward, storing the gradients named in into there (see
// BackwardInto) rather than returning them.
func (t *Tape) backward(seeds map[string]*tensor.Tensor, wrt []string, into map[string][]float32) (map[string]*tensor.Tensor, error) {
	p := t.prog
	switch {
	case t.contexts == nil:
		return nil, fmt.Errorf("native: Backward needs a tape recorded with Options.Training")
	case t.grads != nil:
		return nil, fmt.Errorf("native: Backward has already run on this tape")
	}
	defer beginBurst()()
	// needs[slot]: the value depends on a wrt value, so its gradient is
	// worth computing.
	needs := make([]bool, len(p.names))
	returned := make([]bool, len(p.names))
	for _, name := range wrt {
		slot := p.slotOf(name)
		if slot < 0 {
			return nil, fmt.Errorf("native: the model has no value %q", name)
		}
		if dst, ok := into[name]; ok {
			if v := t.values[slot]; v == nil || v.Len() != len(dst) {
				return nil, fmt.Errorf("native: the gradient buffer for %q does not match its value", name)
			}
		}
		needs[slot], returned[slot] = true, true
	}
	for i, s := range p.steps {
		for _, in := range s.inputs {
			if in >= 0 && needs[in] {
				for _, out := range t.ran[i].outputs {
					if out >= 0 {
						needs[out] = true
					}
				}
				break
			}
		}
	}
	grads := make([]*tensor.Tensor, len(p.names))
	t.grads = grads // from here on the tape's values are being recycled
	for name, g := range seeds {
		slot := p.slotOf(name)
		if slot < 0 {
			return nil, fmt.Errorf("native: the model has no value %q", name)
		}
		if v := t.values[slot]; v == nil || v.Len() != g.Len() {
			return nil, fmt.Errorf("native: gradient seed for %q does not match its value", name)
		}
		grads[slot] = g
		t.given = append(t.given, g)
	}
	live := t.liveBuffers(grads)
	// The kernels take their work buffers from the run's arena.
	defer parallel.BindArena(t.state.arena).Unbind()
	stored := make([]bool, len(p.names)) // gradients already copied into their buffer
	lastUse := t.lastBackwardUse(needs, grads)
	for i := len(p.steps) - 1; i >= 0; i-- {
		s, ran := p.steps[i], t.ran[i]
		if !stepRuns(s, ran, needs, grads) {
			continue
		}
		diff, ok := ran.op.(ops.Differentiable)
		if !ok {
			return nil, p.nodeError(s, fmt.Errorf("has no backward pass"))
		}
		gradOut := make([]*tensor.Tensor, len(ran.outputs))
		for j, slot := range ran.outputs {
			if slot >= 0 {
				gradOut[j] = grads[slot]
			}
		}
		in := make([]*tensor.Tensor, len(s.inputs))
		for j, slot := range s.inputs {
			if slot >= 0 {
				in[j] = t.values[slot]
			}
		}
		out := make([]*tensor.Tensor, len(ran.outputs))
		for j, slot := range ran.outputs {
			if slot >= 0 {
				out[j] = t.values[slot]
			}
		}
		ctx := t.contexts[i]
		ctx.Wanted = make([]bool, len(s.inputs))
		for j, slot := range s.inputs {
			ctx.Wanted[j] = slot >= 0 && needs[slot]
		}
		ctx.SpentGradOut = live.spent(gradOut, ran.outputs, returned)
		gradIn, err := diff.Backward(ctx, in, out, gradOut)
		if err != nil {
			return nil, p.nodeError(s, err)
		}
		recycleSaved(t.pool(), ctx)
		for j, g := range gradIn {
			if g == nil {
				continue
			}
			live.add(g)
			if j >= len(s.inputs) || s.inputs[j] < 0 || !needs[s.inputs[j]] {
				live.drop(g) // a gradient nobody asked for
				continue
			}
			slot := s.inputs[j]
			if grads[slot] == nil {
				grads[slot] = g
				continue
			}
			total := sum(t.pool(), grads[slot], g)
			live.add(total)
			live.drop(grads[slot])
			live.drop(g)
			grads[slot] = total
		}
		// The gradients of the step's outputs are spent, and so is every
		// value whose last reader in the backward pass this was.
		for _, slot := range ran.outputs {
			if slot >= 0 && grads[slot] != nil && !returned[slot] {
				live.drop(grads[slot])
				grads[slot] = nil
			}
		}
		for _, slots := range [][]int{s.inputs, ran.outputs} {
			for _, slot := range slots {
				if slot >= 0 && lastUse[slot] == i && !t.keep[slot] && t.values[slot] != nil {
					live.drop(t.values[slot])
					t.values[slot] = nil
				}
			}
		}
		// A gradient asked for into a buffer is complete once every
		// reader of its value has run backward.
		for _, slot := range s.inputs {
			if slot < 0 || lastUse[slot] != i || grads[slot] == nil {
				continue
			}
			if dst, ok := into[p.names[slot]]; ok {
				copy(dst, grads[slot].F32())
				live.drop(grads[slot])
				grads[slot] = nil
				stored[slot] = true
			}
		}
	}
	// What no backward step finished: gradients that are seeds or whose
	// value no differentiated step reads, and zeros for the rest.
	for name, dst := range into {
		switch slot := p.slots[name]; {
		case stored[slot]:
		case grads[slot] != nil:
			copy(dst, grads[slot].F32())
		default:
			clear(dst)
		}
	}
	result := map[string]*tensor.Tensor{}
	for _, name := range wrt {
		if g := grads[p.slots[name]]; g != nil && into[name] == nil {
			result[name] = g
		}
	}
	return result, nil
}

// recycleSaved hands a float32 tensor that ctx's node saved for its
// backward pass back to pool. ctx is nil for a step that did not run.
func recycleSaved(pool *ops.Pool, ctx *ops.Context) {
	if ctx == nil {
		return
	}
	if saved, ok := ctx.Saved.(*tensor.Tensor); ok {
		pool.Put(saved) // Put takes float32 buffers only
		ctx.Saved = nil
	}
}

// stepRuns reports whether the backward pass differentiates step s, which
// ran as ran: it ran (it is not a Relu that its producer applied), some
// of its outputs have a gradient and some of its inputs need one.
func stepRuns(s step, ran ranStep, needs []bool, grads []*tensor.Tensor) bool {
	if ran.op == nil {
		return false
	}
	any, wanted := false, false
	for _, slot := range ran.outputs {
		if slot >= 0 && grads[slot] != nil {
			any = true
		}
	}
	for _, in := range s.inputs {
		if in >= 0 && needs[in] {
			wanted = true
		}
	}
	return any && wanted
}

// lastBackwardUse returns, per value, the index of the last step of the
// backward pass (the lowest, as it runs in reverse) that reads the value,
// or -1. Which steps run is decided as Backward decides it, assuming
// that a step gives a gradient to every input that needs one.
func (t *Tape) lastBackwardUse(needs []bool, seeded []*tensor.Tensor) []int {
	p := t.prog
	has := make([]*tensor.Tensor, len(seeded))
	copy(has, seeded)
	marker := &tensor.Tensor{}
	last := make([]int, len(p.names))
	for i := range last {
		last[i] = -1
	}
	for i := len(p.steps) - 1; i >= 0; i-- {
		s, ran := p.steps[i], t.ran[i]
		if !stepRuns(s, ran, needs, has) {
			continue
		}
		for _, slots := range [][]int{s.inputs, ran.outputs} {
			for _, slot := range slots {
				if slot >= 0 {
					last[slot] = i
				}
			}
		}
		for _, slot := range s.inputs {
			if slot >= 0 && needs[slot] {
				has[slot] = marker
			}
		}
	}
	return last
}

// bufferRefs is the buffer lifetimes of a backward pass: the run's
// arena counts the live tensors (tape values and gradients) that share
// each float32 buffer, and a buffer goes back to the run's pool when its
// count falls to zero, unless it belongs to the caller or to the model
// (foreign). Which values and gradients are live is the backward pass's
// own bookkeeping.
type bufferRefs struct {
	pool    *ops.Pool
	arena   *arena.Arena
	foreign map[*float32]bool
}

// liveBuffers counts the buffers of the tape's values and of grads.
func (t *Tape) liveBuffers(grads []*tensor.Tensor) *bufferRefs {
	r := &bufferRefs{pool: t.pool(), arena: t.state.arena, foreign: t.foreignBuffers()}
	for _, list := range [][]*tensor.Tensor{t.values, grads} {
		for _, v := range list {
			if v != nil {
				r.add(v)
			}
		}
	}
	return r
}

// spent reports, per output gradient of a step (outputs its slots), whether
// the step's Backward may overwrite it: its slot's gradient is dropped
// after the step (not returned to the caller), and its buffer is the
// program's own and held by no other live tensor.
func (r *bufferRefs) spent(gradOut []*tensor.Tensor, outputs []int, returned []bool) []bool {
	spent := make([]bool, len(gradOut))
	for j, g := range gradOut {
		if g == nil || g.Kind != tensor.Dense || outputs[j] < 0 || returned[outputs[j]] {
			continue
		}
		// A buffer shared with another slot's gradient or value (a view,
		// an output gradient given twice) counts more than once.
		buf := bufferOf(g)
		spent[j] = buf != nil && !r.foreign[buf] && r.arena.Refs(buf) == 1
	}
	return spent
}

func (r *bufferRefs) add(t *tensor.Tensor) {
	if buf := bufferOf(t); buf != nil {
		r.arena.Retain(buf)
	}
}

func (r *bufferRefs) drop(t *tensor.Tensor) {
	buf := bufferOf(t)
	if buf == nil {
		return
	}
	if r.arena.Release(buf) && !r.foreign[buf] && t.Kind == tensor.Dense {
		r.pool.Put(t)
	}
}

// sum returns a new tensor a+b from pool. It never adds in place, since
// either gradient may share its buffer with another value.
func sum(pool *ops.Pool, a, b *tensor.Tensor) *tensor.Tensor {
	out := pool.Float32(a.Shape...)
	x, y, z := a.F32(), b.F32(), out.F32()
	for i := range z {
		z[i] = x[i] + y[i]
	}
	return out
}
