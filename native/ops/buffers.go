package ops

import (
	"slices"
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Pool recycles float32 buffers between the values of a run and between
// runs, so that a program run in a loop allocates nothing in steady
// state: the buffers, and the headers it hands them out in, shapes
// included. A request takes the smallest free buffer that holds it, when
// that buffer is at most maxSlack times the request: an exact-size pool
// would keep one buffer per size that the run ever had alive, which in
// a network whose values grow step by step (DenseNet's concatenations)
// is many times the memory the run has alive at once. It is not safe for
// concurrent use: each of a program's run states owns one, and a run
// state serves one run at a time.
type Pool struct {
	// free holds the free buffers by capacity; sizes the capacities
	// that have free buffers, in increasing order.
	free  map[int][]*pooledTensor
	sizes []int
	// lent maps the buffers handed out since the last Settle to their
	// pooledTensor, so that Put finds the header that serves again, also
	// when a view's header (Reshape's) brings the buffer back. The pool
	// hands out only headers of its own: another maker's may still be
	// shared.
	lent map[*float32]*pooledTensor
}

// pooledTensor is a buffer of a Pool with the header it hands out for
// it, and room for the header's shape.
type pooledTensor struct {
	t   tensor.Tensor
	buf []float32 // the whole buffer
	// boxes holds buf[:n] as a tensor's Data for the last lengths n it
	// served (boxing a slice allocates, and with maxSlack one buffer
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

// dataOf returns pt.buf[:n] as a tensor's Data.
func (pt *pooledTensor) dataOf(n int) any {
	for _, b := range pt.boxes {
		if b.data != nil && b.n == n {
			return b.data
		}
	}
	b := &pt.boxes[pt.next]
	pt.next = (pt.next + 1) % len(pt.boxes)
	b.n, b.data = n, pt.buf[:n]
	return b.data
}

// maxSlack bounds the buffer a request may take, as a multiple of the
// request. With no bound small requests take large buffers that a later
// large value then misses; at batch 8, the peak resident memory of
// DenseNet-121 is 658 MiB with exact sizes (1), 294 MiB with 2, 253 with
// 4, 292 with 8 and 442 without bound; MobileNet V2's 243, 204, 158,
// 155; GoogLeNet's 212, 161, 162, 154.
const maxSlack = 4

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{free: map[int][]*pooledTensor{}, lent: map[*float32]*pooledTensor{}}
}

// Float32 returns a float32 tensor of the given shape whose contents are
// undefined: the caller overwrites every element.
func (p *Pool) Float32(shape ...int) *tensor.Tensor { return p.float32(maxSlack, shape) }

// Exact is Float32 for a tensor that leaves the run: it takes a free
// buffer only of exactly its size.
func (p *Pool) Exact(shape ...int) *tensor.Tensor { return p.float32(1, shape) }

func (p *Pool) float32(slack int, shape []int) *tensor.Tensor {
	n := tensor.NumElements(shape)
	if p == nil || n == 0 {
		return tensor.FromFloat32(make([]float32, n), shape...)
	}
	pt := p.take(n, slack)
	if pt == nil {
		pt = &pooledTensor{buf: make([]float32, n)}
	}
	p.lent[unsafe.SliceData(pt.buf)] = pt
	pt.t = tensor.Tensor{DType: graph.Float32, Data: pt.dataOf(n)}
	if len(shape) > len(pt.dims) {
		pt.t.Shape = append([]int(nil), shape...)
	} else {
		pt.t.Shape = append(pt.dims[:0], shape...)
	}
	return &pt.t
}

// take removes from the pool and returns the smallest free buffer of
// capacity at least n, when its capacity is at most slack*n; nil when
// there is none.
func (p *Pool) take(n, slack int) *pooledTensor {
	i, _ := slices.BinarySearch(p.sizes, n)
	if i == len(p.sizes) || p.sizes[i]/slack > n {
		return nil
	}
	size := p.sizes[i]
	list := p.free[size]
	pt := list[len(list)-1]
	list[len(list)-1] = nil
	p.free[size] = list[:len(list)-1]
	if len(list) == 1 {
		p.sizes = slices.Delete(p.sizes, i, i+1)
	}
	return pt
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
	buf, ok := t.Data.([]float32)
	if !ok || cap(buf) == 0 {
		return
	}
	key := unsafe.SliceData(buf)
	pt := p.lent[key]
	if pt != nil && cap(pt.buf) == cap(buf) {
		delete(p.lent, key)
	} else {
		pt = &pooledTensor{buf: buf[:cap(buf)]}
	}
	size := cap(buf)
	if len(p.free[size]) == 0 {
		i, _ := slices.BinarySearch(p.sizes, size)
		p.sizes = slices.Insert(p.sizes, i, size)
	}
	p.free[size] = append(p.free[size], pt)
}

// Settle forgets the tensors handed out and not handed back, which the
// pool's user keeps (a run's outputs, given to its caller): the pool
// holds on to no memory of theirs. Call it when a run has ended.
func (p *Pool) Settle() {
	if p != nil {
		clear(p.lent)
	}
}

// Held returns the number of float32 elements in the pool's free
// buffers: the memory it keeps for later requests.
func (p *Pool) Held() int {
	n := 0
	for size, list := range p.free {
		n += size * len(list)
	}
	return n
}
