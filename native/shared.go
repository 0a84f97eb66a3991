package native

import (
	"reflect"
	"slices"
	"sort"

	"github.com/onnxkit/onnxkit/native/tensor"
)

// sharedMemory is the memory a Program shares between its runs: the
// elements of its initializers and of the values compilation computed
// (precomputed), as address ranges sorted by start. A value that a run
// hands to its caller and that lies in it, the graph output being an
// initializer seen through Identity, Reshape or Flatten say, is handed
// out as a copy: writing to it must change neither the model nor the
// other runs.
type sharedMemory []addressRange

// addressRange is the bytes [lo, hi) of a tensor's elements.
type addressRange struct{ lo, hi uintptr }

// elementsOf returns the range of t's elements, false for a tensor
// without elements or whose data is not a slice.
func elementsOf(t *tensor.Tensor) (addressRange, bool) {
	if t == nil {
		return addressRange{}, false
	}
	v := reflect.ValueOf(t.Data)
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		return addressRange{}, false
	}
	lo := v.Pointer()
	return addressRange{lo, lo + uintptr(v.Cap())*v.Type().Elem().Size()}, true
}

// newSharedMemory returns the ranges of the values' elements.
func newSharedMemory(values []slotValue) sharedMemory {
	var m sharedMemory
	for _, v := range values {
		if r, ok := elementsOf(v.value); ok {
			m = append(m, r)
		}
	}
	slices.SortFunc(m, func(a, b addressRange) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	return m
}

// holds reports whether t's elements start inside the shared memory.
func (m sharedMemory) holds(t *tensor.Tensor) bool {
	r, ok := elementsOf(t)
	if !ok {
		return false
	}
	// The last range starting at or before r.lo.
	i := sort.Search(len(m), func(i int) bool { return m[i].lo > r.lo }) - 1
	return i >= 0 && r.lo < m[i].hi
}
