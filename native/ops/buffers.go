package ops

import (
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/arena"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Pool hands out float32 tensors whose buffers come from a run's
// arena.Arena (the one allocator of the run's buffers, which its kernels
// share), and takes them back, so that a program run in a loop allocates
// nothing in steady state: the buffers, and the headers it hands them
// out in, shapes included, which stay with their buffers. A request
// takes the smallest free buffer that holds it within arena.MaxSlack
// times its size. Each of a program's run states owns one, over its
// arena; the nil Pool allocates every tensor and keeps nothing.
type Pool struct {
	arena *arena.Arena
	// sheltered is the buffer of the view that the run's memory plan
	// lends the op being run (Context.Into): part of a buffer that other
	// values hold, which Put leaves alone.
	sheltered []float32
}

// pooledTensor is the header a Pool hands out for a buffer, with room
// for the header's shape; it stays with the buffer (arena.Block.Header).
// A buffer that the pool makes has its block here, so that block and
// header take one allocation; one that the arena had from elsewhere has
// the arena's.
type pooledTensor struct {
	block arena.Block
	t     tensor.Tensor
	// boxes holds buf[:n] as a tensor's Data for the last lengths n it
	// served (boxing a slice allocates, and with the slack one buffer
	// serves requests of several sizes in a run).
	boxes [4]boxedSlice
	next  int // the box to replace next
	dims  [6]int
}

// boxedSlice is a prefix of a buffer as a tensor's Data.
type boxedSlice struct {
	n    int
	data any
}

// dataOf returns buf[:n] as a tensor's Data, buf being the block's whole
// buffer, which the boxes are prefixes of.
func (pt *pooledTensor) dataOf(buf []float32, n int) any {
	for _, b := range pt.boxes {
		if b.data != nil && b.n == n {
			return b.data
		}
	}
	b := &pt.boxes[pt.next]
	pt.next = (pt.next + 1) % len(pt.boxes)
	b.n, b.data = n, buf[:n]
	return b.data
}

// NewPool returns a pool over an arena of its own.
func NewPool() *Pool { return PoolOf(arena.New()) }

// PoolOf returns a pool over a.
func PoolOf(a *arena.Arena) *Pool { return &Pool{arena: a} }

// Float32 returns a float32 tensor of the given shape whose contents are
// undefined: the caller overwrites every element.
func (p *Pool) Float32(shape ...int) *tensor.Tensor { return p.float32(arena.MaxSlack, shape) }

// Exact is Float32 for a tensor that leaves the run: it takes a free
// buffer only of exactly its size.
func (p *Pool) Exact(shape ...int) *tensor.Tensor { return p.float32(1, shape) }

func (p *Pool) float32(slack int, shape []int) *tensor.Tensor {
	n := tensor.NumElements(shape)
	if p == nil || n == 0 {
		return tensor.FromFloat32(make([]float32, n), shape...)
	}
	var (
		pt  *pooledTensor
		buf []float32
	)
	if b := p.arena.Take(n, slack); b != nil {
		buf = b.Data
		if pt, _ = b.Header.(*pooledTensor); pt == nil {
			pt = &pooledTensor{} // a buffer given to the arena from elsewhere
			b.Header = pt
		}
	} else {
		pt = &pooledTensor{}
		pt.block = arena.Block{Data: make([]float32, n), Header: pt}
		p.arena.Lend(&pt.block)
		buf = pt.block.Data
	}
	pt.t = tensor.Tensor{DType: graph.Float32, Data: pt.dataOf(buf, n)}
	if len(shape) > len(pt.dims) {
		pt.t.Shape = append([]int(nil), shape...)
	} else {
		pt.t.Shape = append(pt.dims[:0], shape...)
	}
	return &pt.t
}

// Zeros returns a float32 tensor of the given shape filled with zeros.
func (p *Pool) Zeros(shape ...int) *tensor.Tensor {
	t := p.Float32(shape...)
	clear(t.F32())
	return t
}

// Put hands t's buffer back for reuse. The caller must hold no other
// reference to it, nor to t or any other header of it (views such as
// Reshape's): the pool's header for the buffer serves again.
func (p *Pool) Put(t *tensor.Tensor) {
	if p == nil || t == nil {
		return
	}
	if buf, ok := t.Data.([]float32); ok {
		if p.sheltered != nil && cap(buf) > 0 && unsafe.SliceData(buf) == unsafe.SliceData(p.sheltered) && cap(buf) == cap(p.sheltered) {
			return
		}
		p.arena.Give(buf)
	}
}

// Shelter makes Put leave t's buffer alone until the next Shelter (nil
// for none): t is the view that the run lends an op as Context.Into,
// whose buffer other values hold. Call it only between the ops' runs.
func (p *Pool) Shelter(t *tensor.Tensor) {
	if p == nil {
		return
	}
	p.sheltered = nil
	if t != nil {
		p.sheltered, _ = t.Data.([]float32)
	}
}

// Settle forgets the tensors handed out and not handed back, which the
// pool's user keeps (a run's outputs, given to its caller): the pool
// holds on to no memory of theirs. Call it when a run has ended.
func (p *Pool) Settle() {
	if p != nil {
		p.arena.Settle()
	}
}

// Held returns the number of float32 elements in the pool's free
// buffers: the memory it keeps for later values (its arena keeps the
// work buffers apart).
func (p *Pool) Held() int {
	if p == nil {
		return 0
	}
	values, _ := p.arena.Held()
	return values
}
