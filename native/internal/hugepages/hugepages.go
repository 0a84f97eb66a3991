// Package hugepages allocates the buffers of weights that the engine
// prepares once and streams from memory on every run (a classifier's
// weights in the panels of the batch-1 products) in memory that the
// operating system may back with huge pages.
//
// A product by one row of activations reads each weight once: its
// speed is the memory's. With 4 KiB pages, the hardware prefetchers
// stop at every page boundary and each page takes a TLB entry; with
// 2 MiB pages neither happens. On the Zen 4 measured (Linux, THP in
// madvise mode), one row by MobileNet V3's classifier weights in
// PackVecB's panels, cycled through 96 MB so that they came from
// memory, took 140-159 against 208-237 µs of CPU time (1024x1000) and
// 87-109 against 118-124 (576x1024); from the L3 cache, 48 against 50
// and the same.
package hugepages

// Size is the size of the huge pages asked for: 2 MiB, x86-64's.
const Size = 2 << 20

// Floats returns a zeroed slice of n float32 values, of capacity n. At
// least Size bytes of them start at a Size boundary, on Linux, and the
// whole pages of Size they cover are advised as candidates for huge
// pages (madvise MADV_HUGEPAGE): used from then on, they are backed by
// huge pages where the system has them to give. Smaller slices, and
// slices elsewhere, are plain allocations. The memory is the Go heap's,
// collected as any slice. Up to Size bytes before the slice are
// allocated with it, to align it, and never used: they take address
// space only, unless the heap gives memory it has used before, which it
// clears (then they may take up to Size bytes of resident memory).
func Floats(n int) []float32 {
	if n*4 < Size {
		return make([]float32, n)
	}
	return floats(n)
}
