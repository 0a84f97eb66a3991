package tensor

import (
	"fmt"
	"reflect"

	"github.com/onnxkit/onnxkit/graph"
)

// makeSlice returns a zeroed slice of n elements of the Go type that
// holds dtype's elements.
func makeSlice(dtype graph.DType, n int) any {
	switch dtype {
	case graph.Float32:
		return make([]float32, n)
	case graph.Float64:
		return make([]float64, n)
	case graph.Float16, graph.BFloat16, graph.Uint16:
		return make([]uint16, n)
	case graph.Int8, graph.Int4, graph.Int2:
		return make([]int8, n)
	case graph.Int16:
		return make([]int16, n)
	case graph.Int32:
		return make([]int32, n)
	case graph.Int64:
		return make([]int64, n)
	case graph.Uint8, graph.Uint4, graph.Uint2, graph.Float8E4M3FN, graph.Float8E4M3FNUZ,
		graph.Float8E5M2, graph.Float8E5M2FNUZ, graph.Float4E2M1, graph.Float8E8M0:
		return make([]uint8, n)
	case graph.Uint32:
		return make([]uint32, n)
	case graph.Uint64:
		return make([]uint64, n)
	case graph.Bool:
		return make([]bool, n)
	case graph.String:
		return make([]string, n)
	case graph.Complex64:
		return make([]complex64, n)
	case graph.Complex128:
		return make([]complex128, n)
	}
	panic(fmt.Sprintf("tensor: no element type for %v", dtype))
}

// sliceLen returns the length of any slice.
func sliceLen(s any) int {
	if s == nil {
		return 0
	}
	return reflect.ValueOf(s).Len()
}

// copySlice copies src into dst, two slices of the same type.
func copySlice(dst, src any) {
	reflect.Copy(reflect.ValueOf(dst), reflect.ValueOf(src))
}
