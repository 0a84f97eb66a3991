package kernels

import "sync"

// Work buffers: the im2col matrices of Conv, GEMM outputs that await
// their epilogue, masked gradients. Kernels take them from one shared free
// list and hand them back before returning, so that a kernel called in a
// loop on the same shapes allocates nothing in steady state. The contents
// of a buffer handed out are undefined: the kernel overwrites what it
// reads.

// maxFreeBuffers bounds the free list; when it is full, handing back a
// buffer drops the smallest one kept.
const maxFreeBuffers = 8

var workspace struct {
	mu   sync.Mutex
	free [][]float32
}

// getBuffer returns a buffer of n elements with undefined contents: the
// smallest free one that is large enough, or a new one.
func getBuffer(n int) []float32 {
	workspace.mu.Lock()
	best := -1
	for i, b := range workspace.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(workspace.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := workspace.free[best]
		last := len(workspace.free) - 1
		workspace.free[best] = workspace.free[last]
		workspace.free[last] = nil
		workspace.free = workspace.free[:last]
		workspace.mu.Unlock()
		return b[:n]
	}
	workspace.mu.Unlock()
	return make([]float32, n)
}

// putBuffer hands b, which the caller no longer uses, back for reuse.
func putBuffer(b []float32) {
	if cap(b) == 0 {
		return
	}
	workspace.mu.Lock()
	defer workspace.mu.Unlock()
	if len(workspace.free) < maxFreeBuffers {
		workspace.free = append(workspace.free, b)
		return
	}
	smallest := 0
	for i, f := range workspace.free {
		if cap(f) < cap(workspace.free[smallest]) {
			smallest = i
		}
	}
	if cap(b) > cap(workspace.free[smallest]) {
		workspace.free[smallest] = b
	}
}
