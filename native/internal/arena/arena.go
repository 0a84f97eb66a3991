// Package arena is the one allocator of a run's buffers: the float32
// buffers of its values (through ops.Pool, which gives them tensor
// headers), the work buffers of its kernels (im2col matrices, GEMM
// outputs awaiting their epilogue, offsets of sliding windows) and the
// pack buffers of its matrix products, with the counts of the values
// that share each buffer. Each run state of a program owns an Arena,
// which keeps the buffers between runs, so that a run in steady state
// allocates nothing, concurrent runs share no buffer and take no common
// lock, and a run's memory is all in one place.
//
// Kernels take their work buffers from the Arena that the goroutine
// running them is bound to (parallel.BindArena, inherited by the
// workers of its loops), and from Shared outside a run.
package arena

import (
	"slices"
	"sync"
	"unsafe"
)

// MaxSlack bounds the buffer a request may take, as a multiple of the
// request. With no bound small requests take large buffers that a later
// large value then misses; at batch 8, the peak resident memory of
// DenseNet-121 is 658 MiB with exact sizes (1), 294 MiB with 2, 253 with
// 4, 292 with 8 and 442 without bound; MobileNet V2's 243, 204, 158,
// 155; GoogLeNet's 212, 161, 162, 154.
const MaxSlack = 4

// Block is a float32 buffer of an Arena.
type Block struct {
	// Data is the whole buffer; requests get a prefix of it.
	Data []float32
	// work: the block is a work buffer's (Float32), not a value's (Take).
	work bool
	// owner is the goroutine that last took the work buffer (Float32's
	// owner), whose core's cache likely holds it.
	owner uintptr
	// Header is what the Arena's user keeps with the buffer from one
	// request to the next (ops.Pool: the tensor header it hands out for
	// it), so that serving the buffer again allocates nothing; nil until
	// a user sets it.
	Header any
}

// Arena recycles the buffers of a run. A request takes the smallest free
// buffer that holds it, within a slack (MaxSlack for work buffers): an
// exact-size arena would keep one buffer per size that the run ever had
// alive, which in a network whose values grow step by step (DenseNet's
// concatenations) is many times the memory the run has alive at once.
// It is safe for concurrent use (the workers of a run's loops take work
// buffers from it); the nil Arena allocates every request and keeps
// nothing.
type Arena struct {
	mu sync.Mutex
	// values and work hold the free buffers of values (Take) and the
	// work buffers (Float32) apart: values are taken in the run's order
	// of nodes, so that which buffer serves which value is the same in
	// every run, where work buffers are taken by the workers of loops in
	// whatever order they reach them.
	values, work freeBlocks
	// lent maps the buffers handed out and not given back to their
	// block, so that Give finds the block (and its Header) again.
	lent map[*float32]*Block
	// ints holds free int32 buffers, which are few and small.
	ints []intBuffer
	// refs counts, per buffer, the values that share it (see Retain).
	refs map[*float32]int
}

// New returns an empty Arena.
func New() *Arena {
	return &Arena{values: freeBlocks{free: map[int][]*Block{}}, work: freeBlocks{free: map[int][]*Block{}},
		lent: map[*float32]*Block{}, refs: map[*float32]int{}}
}

// freeBlocks holds free blocks by capacity.
type freeBlocks struct {
	free map[int][]*Block
	// sizes are the capacities that have free blocks, in increasing
	// order.
	sizes []int
}

// Shared serves the kernels that run outside a run (bound to no Arena):
// tests, and programs that call them directly. It keeps what they give
// back for the next of them.
var Shared = New()

// Take returns a free block for a value of n elements, n > 0: the
// smallest of capacity at least n, when its capacity is at most slack*n;
// nil when there is none, and the caller makes a block (with the header
// it keeps with the buffer, in one allocation) and hands it to Lend. The
// block is lent until Give hands its buffer back, or Settle forgets it.
func (a *Arena) Take(n, slack int) *Block {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.values.take(n, max(slack, 1), 0)
	if b != nil {
		a.lent[unsafe.SliceData(b.Data)] = b
	}
	return b
}

// Lend records b, a value's block that the caller made because Take had
// none, as lent: Give then finds it, with its Header.
func (a *Arena) Lend(b *Block) {
	if a == nil || cap(b.Data) == 0 {
		return
	}
	a.mu.Lock()
	a.lent[unsafe.SliceData(b.Data)] = b
	a.mu.Unlock()
}

// Float32 returns a work buffer of n elements whose contents are
// undefined, for owner, the goroutine that will write it (parallel's
// key of it; 0 for none): the caller overwrites what it reads, and gives
// it back with Give.
//
// Work buffers are written by the workers of a run's loops on different
// cores at once, and taken again by whichever worker asks next, so two
// rules keep a core from writing lines that another core holds. A new
// buffer starts on a cache line and owns every line it touches: two
// small buffers that shared a line (rows of 34 values, 144 bytes apart)
// sent it between the cores at every row written, and a 3x3/2 max pool
// of 480x28x28 took 200 us on two threads, against 60 to 70 with its
// lines apart and 110 on one thread (in 6 processes of 10, as the heap
// laid the buffers out). And among the free buffers that hold n within
// MaxSlack, one that owner took last comes first: its lines are likely
// still in owner's core's cache, where a buffer that the other worker
// wrote last has to come across first, line by line.
func (a *Arena) Float32(n int, owner uintptr) []float32 {
	if n == 0 {
		return nil
	}
	if a == nil {
		return make([]float32, n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.work.take(n, MaxSlack, owner)
	if b == nil {
		b = &Block{Data: Alone[float32](n), work: true}
	}
	b.owner = owner
	a.lent[unsafe.SliceData(b.Data)] = b
	return b.Data[:n]
}

// lineFloats is how many float32 or int32 values fill a cache line.
const lineFloats = 64 / 4

// LineAlone holds a V with a cache line of padding on each side, so
// that no other value shares a line with V: the workers of a loop each
// take such a value (a task's scratch, a product's workspace) and write
// it on their own cores, where two small values side by side on the
// heap would send the line they shared between the cores at every
// write.
type LineAlone[T any] struct {
	_ [64]byte
	V T
	_ [64]byte
}

// Alone returns n values that start a cache line and whose capacity
// ends one: no other buffer shares their lines. Work buffers are made
// so, and so are the small buffers that a worker writes at every step
// of its part of a loop.
func Alone[T float32 | int32](n int) []T {
	whole := (n + lineFloats - 1) / lineFloats * lineFloats
	b := make([]T, whole+lineFloats-1)
	skip := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64) / 4
	return b[skip : skip+n : skip+whole]
}

// take removes and returns a free block of capacity at least n, when its
// capacity is at most slack*n: the smallest that owner took last, if
// owner is not 0 and there is one, else the smallest (the last given
// back of its capacity); nil when none holds n.
func (l *freeBlocks) take(n, slack int, owner uintptr) *Block {
	i, _ := slices.BinarySearch(l.sizes, n)
	if i == len(l.sizes) || l.sizes[i]/slack > n {
		return nil
	}
	at := len(l.free[l.sizes[i]]) - 1
	if owner != 0 {
	search:
		for j := i; j < len(l.sizes) && l.sizes[j]/slack <= n; j++ {
			for k, b := range l.free[l.sizes[j]] {
				if b.owner == owner {
					i, at = j, k
					break search
				}
			}
		}
	}
	size := l.sizes[i]
	list := l.free[size]
	b := list[at]
	last := len(list) - 1
	list[at] = list[last]
	list[last] = nil
	l.free[size] = list[:last]
	if last == 0 {
		l.sizes = slices.Delete(l.sizes, i, i+1)
	}
	return b
}

// put adds b to the free blocks.
func (l *freeBlocks) put(b *Block) {
	size := cap(b.Data)
	if len(l.free[size]) == 0 {
		i, _ := slices.BinarySearch(l.sizes, size)
		l.sizes = slices.Insert(l.sizes, i, size)
	}
	l.free[size] = append(l.free[size], b)
}

// held returns the elements of the free blocks.
func (l *freeBlocks) held() int {
	n := 0
	for size, list := range l.free {
		n += size * len(list)
	}
	return n
}

// Give hands buf back for reuse, to the values' or the work buffers'
// free blocks as it was lent. The caller must hold no other reference
// to it, nor to any other slice of it. A buffer that the Arena did not
// lend (the caller's, or another Arena's) joins its values.
func (a *Arena) Give(buf []float32) {
	if a == nil || cap(buf) == 0 {
		return
	}
	key := unsafe.SliceData(buf)
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.lent[key]
	if b != nil && cap(b.Data) == cap(buf) {
		delete(a.lent, key)
	} else {
		b = &Block{Data: buf[:cap(buf)]}
	}
	if b.work {
		a.work.put(b)
	} else {
		a.values.put(b)
	}
}

// intBuffer is a free int32 buffer and the goroutine that took it last.
type intBuffer struct {
	buf   []int32
	owner uintptr
}

// Int32 returns an int32 work buffer of n elements whose contents are
// undefined, for owner as in Float32, to give back with GiveInt32: the
// smallest free one that holds n that owner took last, else the
// smallest free one that holds n, else a new one, alone on its cache
// lines.
func (a *Arena) Int32(n int, owner uintptr) []int32 {
	if a == nil {
		return make([]int32, n)
	}
	a.mu.Lock()
	best := -1
	for i, b := range a.ints {
		if cap(b.buf) < n {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		mine, bestMine := owner != 0 && b.owner == owner, owner != 0 && a.ints[best].owner == owner
		if mine && !bestMine || mine == bestMine && cap(b.buf) < cap(a.ints[best].buf) {
			best = i
		}
	}
	if best < 0 {
		a.mu.Unlock()
		return Alone[int32](n)
	}
	b := a.ints[best].buf
	last := len(a.ints) - 1
	a.ints[best] = a.ints[last]
	a.ints[last] = intBuffer{}
	a.ints = a.ints[:last]
	a.mu.Unlock()
	return b[:n]
}

// GiveInt32 hands b, which owner (as in Int32) no longer uses, back for
// reuse.
func (a *Arena) GiveInt32(b []int32, owner uintptr) {
	if a == nil || cap(b) == 0 {
		return
	}
	a.mu.Lock()
	a.ints = append(a.ints, intBuffer{b, owner})
	a.mu.Unlock()
}

// Lent reports whether buf starts a buffer that the Arena lent and that
// has not come back: one of its own, which Give may take back, rather
// than the caller's or a constant's.
func (a *Arena) Lent(buf *float32) bool {
	if a == nil || buf == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lent[buf] != nil
}

// Retain counts one more value that holds the buffer starting at buf.
func (a *Arena) Retain(buf *float32) {
	a.mu.Lock()
	a.refs[buf]++
	a.mu.Unlock()
}

// Release counts one value fewer that holds buf, and reports whether
// the count reached zero: the buffer may then be given back. (A buffer
// released more often than retained is not: its count goes below zero.)
func (a *Arena) Release(buf *float32) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refs[buf]--
	if a.refs[buf] != 0 {
		return false
	}
	delete(a.refs, buf)
	return true
}

// Refs returns the number of values that hold buf.
func (a *Arena) Refs(buf *float32) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refs[buf]
}

// Settle forgets the buffers lent and not given back, which their users
// keep (a run's outputs, given to its caller), and the counts of values:
// the Arena holds on to no memory of theirs. Call it when a run has
// ended.
func (a *Arena) Settle() {
	if a == nil {
		return
	}
	a.mu.Lock()
	clear(a.lent)
	clear(a.refs)
	a.mu.Unlock()
}

// Held returns the number of float32 elements in the free buffers of
// values and in the free work buffers: the memory the Arena keeps for
// later requests.
func (a *Arena) Held() (values, work int) {
	if a == nil {
		return 0, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.values.held(), a.work.held()
}
