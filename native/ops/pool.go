package ops

import "github.com/onnxkit/onnxkit/native/tensor"

// Pool recycles float32 buffers between runs, keyed by length, so that a
// program run in a loop allocates nothing in steady state. It is not safe
// for concurrent use: each of a program's run states owns one, and a run
// state serves one run at a time.
type Pool struct {
	free map[int][][]float32
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{free: map[int][][]float32{}} }

// Float32 returns a float32 tensor of the given shape whose contents are
// undefined: the caller overwrites every element.
func (p *Pool) Float32(shape ...int) *tensor.Tensor {
	n := tensor.NumElements(shape)
	if p != nil {
		if list := p.free[n]; len(list) > 0 {
			buf := list[len(list)-1]
			p.free[n] = list[:len(list)-1]
			return tensor.FromFloat32(buf, shape...)
		}
	}
	return tensor.FromFloat32(make([]float32, n), shape...)
}

// Zeros returns a float32 tensor of the given shape filled with zeros.
func (p *Pool) Zeros(shape ...int) *tensor.Tensor {
	t := p.Float32(shape...)
	clear(t.F32())
	return t
}

// Put hands t's buffer back for reuse. The caller must hold no other
// reference to it.
func (p *Pool) Put(t *tensor.Tensor) {
	if p == nil || t == nil {
		return
	}
	if buf, ok := t.Data.([]float32); ok && len(buf) > 0 {
		p.free[len(buf)] = append(p.free[len(buf)], buf)
	}
}
