package onnx

import (
	"encoding/binary"
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
)

// littleEndianHost reports whether the machine stores numbers with the
// least significant byte first, as TensorProto's raw data does.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// rawView allocates the Data slice of n elements of type dt and returns
// it with a view of its memory as bytes, when that memory is exactly the
// raw little-endian encoding of the elements: every fixed-width number
// type (float16 and bfloat16 as uint16 bits, the 8-bit floats as uint8)
// on a little-endian machine. Otherwise, it returns nil, nil: bool must be
// normalised, 4-bit types unpacked, and a big-endian machine swaps bytes.
func rawView(dt graph.DType, n int64) (any, []byte) {
	if !littleEndianHost {
		return nil, nil
	}
	switch dt {
	case graph.Float32:
		return view(make([]float32, n))
	case graph.Float64:
		return view(make([]float64, n))
	case graph.Int8:
		return view(make([]int8, n))
	case graph.Uint8, graph.Float8E4M3FN, graph.Float8E4M3FNUZ, graph.Float8E5M2, graph.Float8E5M2FNUZ:
		return view(make([]uint8, n))
	case graph.Int16:
		return view(make([]int16, n))
	case graph.Uint16, graph.Float16, graph.BFloat16:
		return view(make([]uint16, n))
	case graph.Int32:
		return view(make([]int32, n))
	case graph.Uint32:
		return view(make([]uint32, n))
	case graph.Int64:
		return view(make([]int64, n))
	case graph.Uint64:
		return view(make([]uint64, n))
	case graph.Complex64:
		return view(make([]complex64, n))
	case graph.Complex128:
		return view(make([]complex128, n))
	}
	return nil, nil
}

// view returns s and its elements' memory as bytes.
func view[T any](s []T) (any, []byte) {
	if len(s) == 0 {
		return s, []byte{}
	}
	var z T
	return s, unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}
