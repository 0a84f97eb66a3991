package hugepages

import (
	"syscall"
	"unsafe"
)

// floats is Floats for slices of at least Size bytes.
func floats(n int) []float32 {
	s := make([]float32, n+Size/4)
	off := int(-uintptr(unsafe.Pointer(&s[0]))&(Size-1)) / 4
	s = s[off : off+n : off+n]
	whole := n * 4 / Size * Size
	// Advice is only advice: where it is refused (THP disabled, an old
	// kernel), the pages stay small and nothing else changes.
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), whole), madvHugepage)
	return s
}

// madvHugepage is Linux's MADV_HUGEPAGE.
const madvHugepage = 14
