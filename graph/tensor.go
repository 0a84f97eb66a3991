package graph

// Tensor is a constant tensor: an initializer, the value of a Constant
// node or a tensor attribute.
//
// Data holds the elements in row-major order as a Go slice whose type
// follows DType:
//
//	Float32 []float32       Float64 []float64
//	Float16, BFloat16 []uint16 (bit patterns; see Float16Bits and friends)
//	Int8 []int8   Int16 []int16   Int32 []int32   Int64 []int64
//	Uint8 []uint8 Uint16 []uint16 Uint32 []uint32 Uint64 []uint64
//	Bool []bool   String []string (arbitrary bytes)
//	Complex64 []complex64   Complex128 []complex128
//	8-bit floats, Float8E8M0 included, []uint8 (bit patterns)
//	Int4, Int2 []int8; Uint4, Uint2 []uint8; Float4E2M1 []uint8 (one element a byte)
type Tensor struct {
	Name      string
	DType     DType
	Dims      []int64
	Data      any
	DocString string
	Metadata  []StringPair
}

// NumElements is the product of the tensor's dimensions.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// SparseTensor is a tensor stored as its non-default values and their
// indices: Indices is either [NNZ, rank] coordinates or [NNZ] linear
// indices into a tensor of shape Dims.
type SparseTensor struct {
	Values  *Tensor
	Indices *Tensor
	Dims    []int64
}
