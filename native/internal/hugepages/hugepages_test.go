package hugepages

import (
	"runtime"
	"testing"
	"unsafe"
)

// TestFloats checks the slices Floats returns: n zeroed values of
// capacity n, writable throughout, starting at a huge page's boundary
// on Linux from Size bytes up.
func TestFloats(t *testing.T) {
	for _, n := range []int{0, 1, 1000, Size/4 - 1, Size / 4, Size/4 + 3, 3*Size/4 + 1000} {
		s := Floats(n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Floats(%d): len %d, cap %d", n, len(s), cap(s))
		}
		for i, v := range s {
			if v != 0 {
				t.Fatalf("Floats(%d)[%d] = %g, want 0", n, i, v)
			}
			s[i] = float32(i)
		}
		for i, v := range s {
			if v != float32(i) {
				t.Fatalf("Floats(%d)[%d] = %g after writing %d", n, i, v, i)
			}
		}
		if runtime.GOOS == "linux" && n*4 >= Size {
			if at := uintptr(unsafe.Pointer(&s[0])); at%Size != 0 {
				t.Errorf("Floats(%d) starts at %#x, not at a multiple of %d", n, at, Size)
			}
		}
	}
}
