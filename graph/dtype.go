package graph

import "fmt"

// DType is the element type of a tensor. Its values are the ONNX
// TensorProto.DataType numbers, so a DType converts to and from the wire
// format without a table.
type DType int32

// The element types of the ONNX specification.
const (
	Undefined    DType = 0
	Float32      DType = 1
	Uint8        DType = 2
	Int8         DType = 3
	Uint16       DType = 4
	Int16        DType = 5
	Int32        DType = 6
	Int64        DType = 7
	String       DType = 8
	Bool         DType = 9
	Float16      DType = 10
	Float64      DType = 11
	Uint32       DType = 12
	Uint64       DType = 13
	Complex64    DType = 14
	Complex128   DType = 15
	BFloat16     DType = 16
	Float8E4M3FN DType = 17
	// Float8E4M3FNUZ and the other 8-bit floats are held as their bit
	// patterns in []uint8.
	Float8E4M3FNUZ DType = 18
	Float8E5M2     DType = 19
	Float8E5M2FNUZ DType = 20
	// Uint4 and Int4 are held unpacked, one element per byte.
	Uint4 DType = 21
	Int4  DType = 22
	// Float4E2M1 is held unpacked as bit patterns, one element per byte.
	Float4E2M1 DType = 23
	// Float8E8M0 is the power-of-two scale of the microscaling formats,
	// held as its bit pattern in []uint8.
	Float8E8M0 DType = 24
	// Uint2 and Int2 are held unpacked, one element per byte, like the
	// 4-bit types; the wire packs four to a byte.
	Uint2 DType = 25
	Int2  DType = 26
)

var dtypeNames = [...]string{
	Undefined: "undefined", Float32: "float32", Uint8: "uint8", Int8: "int8",
	Uint16: "uint16", Int16: "int16", Int32: "int32", Int64: "int64",
	String: "string", Bool: "bool", Float16: "float16", Float64: "float64",
	Uint32: "uint32", Uint64: "uint64", Complex64: "complex64",
	Complex128: "complex128", BFloat16: "bfloat16",
	Float8E4M3FN: "float8e4m3fn", Float8E4M3FNUZ: "float8e4m3fnuz",
	Float8E5M2: "float8e5m2", Float8E5M2FNUZ: "float8e5m2fnuz",
	Uint4: "uint4", Int4: "int4", Float4E2M1: "float4e2m1",
	Float8E8M0: "float8e8m0", Uint2: "uint2", Int2: "int2",
}

// Valid reports whether d is one of the defined element types other than
// Undefined.
func (d DType) Valid() bool { return d > Undefined && int(d) < len(dtypeNames) }

// String returns the lower-case name of the type, such as "float32".
func (d DType) String() string {
	if d >= 0 && int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// WireSize is the number of bytes one element takes in a tensor's raw
// data: 0 for String, whose elements have no fixed size, and for the
// 4- and 2-bit types, which pack two or four elements in a byte (see
// Bits).
func (d DType) WireSize() int {
	switch d {
	case Uint8, Int8, Bool, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float8E8M0:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64, Complex64:
		return 8
	case Complex128:
		return 16
	}
	return 0
}

// Bits is the number of bits one element takes in a tensor's raw data:
// 4 for Int4, Uint4 and Float4E2M1, 2 for Int2 and Uint2, 8 times
// WireSize otherwise (0 for String and Undefined).
func (d DType) Bits() int {
	switch d {
	case Int4, Uint4, Float4E2M1:
		return 4
	case Int2, Uint2:
		return 2
	}
	return 8 * d.WireSize()
}

// IsFloat reports whether d is a floating-point type of any width.
func (d DType) IsFloat() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16, Float8E4M3FN, Float8E4M3FNUZ,
		Float8E5M2, Float8E5M2FNUZ, Float4E2M1, Float8E8M0:
		return true
	}
	return false
}
