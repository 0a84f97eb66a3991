package native

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/native/tensor"
)

// RunInto is RunWith writing its results into the caller's tensors:
// outputs maps names of graph outputs (and of values opts.Keep names) to
// tensors that receive the values' elements, which must be dense and
// have the values' element types and shapes. A name mapped to nil, or
// absent, gets the value itself, as RunWith returns it, stored in
// outputs. So a caller that passes the same map to every run, with the
// same input shapes, allocates nothing for outputs after the first run:
// each run copies its outputs into the map's tensors and keeps their
// buffers for the next run. Like RunWith, it may be called from any
// number of goroutines at once, each with a map of its own.
//
// A tensor of the wrong element type or shape is an error that names
// the output, found after the run and before anything is written: the
// caller's tensors are then unchanged. So is a name that is neither a
// graph output nor in opts.Keep, found before the run.
func (p *Program) RunInto(ctx context.Context, inputs, outputs map[string]*tensor.Tensor, opts Options) error {
	if opts.Training || opts.Record {
		return errors.New("native: RunInto runs in inference mode; Forward records")
	}
	if outputs == nil {
		return errors.New("native: RunInto needs a map of outputs to write into")
	}
	names := p.outputs
	if len(opts.Keep) > 0 {
		names = append(slices.Clip(names), opts.Keep...)
	}
	for name, dst := range outputs {
		if !slices.Contains(names, name) {
			return fmt.Errorf("native: RunInto: %q is not an output of the model", name)
		}
		if dst == nil {
			continue
		}
		if dst.Kind != tensor.Dense {
			return fmt.Errorf("native: RunInto: output %q is given a %v: outputs are written into dense tensors", name, dst)
		}
		if err := dst.Validate(); err != nil {
			return fmt.Errorf("native: RunInto: the tensor given for output %q: %w", name, err)
		}
	}
	st := p.getState()
	defer p.putState(st)
	tape, err := p.forward(ctx, st, st.values, inputs, opts)
	if err != nil {
		return err
	}
	for _, name := range names {
		dst, v := outputs[name], tape.values[p.slots[name]]
		if v == nil {
			return fmt.Errorf("native: RunInto: the run computed no output %q", name)
		}
		if dst != nil && (dst.DType != v.DType || v.Kind != tensor.Dense || !slices.Equal(dst.Shape, v.Shape)) {
			return fmt.Errorf("native: RunInto: output %q is %v of shape %v, the tensor given for it %v of shape %v",
				name, v.DType, v.Shape, dst.DType, dst.Shape)
		}
	}
	for i, name := range names {
		dst, v := outputs[name], tape.values[p.slots[name]]
		if dst == nil {
			outputs[name] = tape.handOut(v)
			continue
		}
		if err := dst.CopyFrom(v); err != nil {
			return fmt.Errorf("native: RunInto: output %q: %w", name, err)
		}
		// The value's buffer, copied out, serves the next run, unless
		// it is not the run's own (an input's, a constant's), an
		// earlier output gave it back already, or the caller gets a
		// value that shares it.
		buf := bufferOf(v)
		if buf == nil || !st.arena.Lent(buf) || slices.ContainsFunc(names[:i], func(n string) bool {
			return bufferOf(tape.values[p.slots[n]]) == buf
		}) || slices.ContainsFunc(names[i+1:], func(n string) bool {
			return outputs[n] == nil && bufferOf(tape.values[p.slots[n]]) == buf
		}) {
			continue
		}
		st.pool.Put(v)
	}
	return nil
}
