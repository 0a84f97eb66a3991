package kernels

import "sync"

// Work buffers: the im2col matrices of Conv, GEMM outputs that await
// their epilogue, masked gradients, the offsets of sliding windows.
// Kernels take them from a shared free list and hand them back before
// returning, so that a kernel called in a loop on the same shapes
// allocates nothing in steady state. The contents of a buffer handed out
// are undefined: the kernel overwrites what it reads.

// maxFreeBuffers bounds a free list; when it is full, handing back a
// buffer drops the smallest one kept.
const maxFreeBuffers = 8

// freeList keeps buffers of T for reuse.
type freeList[T any] struct {
	mu   sync.Mutex
	free [][]T
}

var (
	floats  freeList[float32]
	offsets freeList[int32]
)

// getBuffer returns a float32 buffer of n elements with undefined contents.
func getBuffer(n int) []float32 { return floats.get(n) }

// putBuffer hands b, which the caller no longer uses, back for reuse.
func putBuffer(b []float32) { floats.put(b) }

// get returns a buffer of n elements with undefined contents: the
// smallest free one that is large enough, or a new one.
func (l *freeList[T]) get(n int) []T {
	l.mu.Lock()
	best := -1
	for i, b := range l.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(l.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := l.free[best]
		last := len(l.free) - 1
		l.free[best] = l.free[last]
		l.free[last] = nil
		l.free = l.free[:last]
		l.mu.Unlock()
		return b[:n]
	}
	l.mu.Unlock()
	return make([]T, n)
}

// put hands b, which the caller no longer uses, back for reuse.
func (l *freeList[T]) put(b []T) {
	if cap(b) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.free) < maxFreeBuffers {
		l.free = append(l.free, b)
		return
	}
	smallest := 0
	for i, f := range l.free {
		if cap(f) < cap(l.free[smallest]) {
			smallest = i
		}
	}
	if cap(b) > cap(l.free[smallest]) {
		l.free[smallest] = b
	}
}
