package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// This file converts tensor data between the IR's Go slices and the wire
// format: raw_data, the typed fields, and the checks on claimed sizes.

// numElements returns the product of dims, checking that no dimension is
// negative and that the product does not overflow.
func numElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, formatErr("negative dimension in %v", dims)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, formatErr("dimensions %v overflow int64", dims)
		}
		n *= d
	}
	return n, nil
}

// packedLen is the number of bytes that n elements of a 4- or 2-bit type
// take packed, two or four to a byte.
func packedLen(dt graph.DType, n int64) int64 {
	per := int64(8 / dt.Bits())
	return (n + per - 1) / per
}

// byteSize returns the number of bytes n elements of dt take in raw data,
// and false if that overflows or dt has no fixed-size representation.
func byteSize(dt graph.DType, n int64) (int64, bool) {
	switch dt {
	case graph.Int4, graph.Uint4, graph.Float4E2M1, graph.Int2, graph.Uint2:
		return packedLen(dt, n), true
	case graph.String:
		return 0, false
	}
	w := int64(dt.WireSize())
	if n > math.MaxInt64/w {
		return 0, false
	}
	return n * w, true
}

func (d *decoder) tensor(p *onnxpb.TensorProto) (*graph.Tensor, error) {
	if p.Segment != nil {
		return nil, &UnsupportedError{Msg: "tensor segments"}
	}
	dt, err := tensorDType(p.GetDataType())
	if err != nil {
		return nil, err
	}
	n, err := numElements(p.GetDims())
	if err != nil {
		return nil, err
	}
	t := &graph.Tensor{
		Name:      p.GetName(),
		DType:     dt,
		Dims:      p.GetDims(),
		DocString: p.GetDocString(),
		Metadata:  pairs(p.GetMetadataProps()),
	}
	if loc := p.GetDataLocation(); loc != onnxpb.TensorProto_DEFAULT && loc != onnxpb.TensorProto_EXTERNAL {
		return nil, formatErr("unknown data_location %d", int32(loc))
	}
	switch {
	case p.GetDataLocation() == onnxpb.TensorProto_EXTERNAL:
		if err := checkNoTyped(p, dt, 0); err != nil {
			return nil, err
		}
		if p.RawData != nil {
			return nil, formatErr("tensor has both external data and raw_data")
		}
		size, ok := byteSize(dt, n)
		if !ok {
			return nil, formatErr("%v tensor of %d elements cannot be stored as external data", dt, n)
		}
		if t.Data, err = d.external(p, dt, n, size); err != nil {
			return nil, err
		}
	case len(p.GetExternalData()) > 0:
		return nil, formatErr("tensor has external_data entries but its data_location is not EXTERNAL")
	case p.RawData != nil:
		if err := checkNoTyped(p, dt, 0); err != nil {
			return nil, err
		}
		size, ok := byteSize(dt, n)
		if !ok {
			if dt == graph.String {
				return nil, formatErr("string tensor stored in raw_data")
			}
			return nil, formatErr("%v tensor of %d elements is too large", dt, n)
		}
		if int64(len(p.RawData)) != size {
			return nil, formatErr("raw_data has %d bytes, but %d elements of %v need %d", len(p.RawData), n, dt, size)
		}
		t.Data = fromRaw(dt, n, p.RawData)
	default:
		if t.Data, err = fromTyped(p, dt, n); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// typedField says which typed data field of TensorProto holds dtype dt.
type typedField int

const (
	floatData typedField = iota + 1
	int32Data
	stringData
	int64Data
	doubleData
	uint64Data
)

var typedFieldNames = [...]string{
	floatData: "float_data", int32Data: "int32_data", stringData: "string_data",
	int64Data: "int64_data", doubleData: "double_data", uint64Data: "uint64_data",
}

func fieldOf(dt graph.DType) typedField {
	switch dt {
	case graph.Float32, graph.Complex64:
		return floatData
	case graph.String:
		return stringData
	case graph.Int64:
		return int64Data
	case graph.Float64, graph.Complex128:
		return doubleData
	case graph.Uint32, graph.Uint64:
		return uint64Data
	}
	return int32Data
}

func typedLen(p *onnxpb.TensorProto, f typedField) int {
	switch f {
	case floatData:
		return len(p.FloatData)
	case int32Data:
		return len(p.Int32Data)
	case stringData:
		return len(p.StringData)
	case int64Data:
		return len(p.Int64Data)
	case doubleData:
		return len(p.DoubleData)
	}
	return len(p.Uint64Data)
}

// checkNoTyped reports an error if a typed data field other than allowed
// (0 for none) holds values.
func checkNoTyped(p *onnxpb.TensorProto, dt graph.DType, allowed typedField) error {
	for f := floatData; f <= uint64Data; f++ {
		if f != allowed && typedLen(p, f) > 0 {
			if allowed == 0 {
				return formatErr("%v tensor has both %s and raw or external data", dt, typedFieldNames[f])
			}
			return formatErr("%v tensor has values in %s, which is for other types", dt, typedFieldNames[f])
		}
	}
	return nil
}

// fromRaw converts n little-endian elements of dt; raw holds exactly the
// bytes that byteSize gives.
func fromRaw(dt graph.DType, n int64, raw []byte) any {
	le := binary.LittleEndian
	switch dt {
	case graph.Float32:
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return s
	case graph.Float64:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return s
	case graph.Int8:
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(raw[i])
		}
		return s
	case graph.Uint8, graph.Float8E4M3FN, graph.Float8E4M3FNUZ, graph.Float8E5M2, graph.Float8E5M2FNUZ, graph.Float8E8M0:
		return append([]uint8(nil), raw...)
	case graph.Bool:
		s := make([]bool, n)
		for i := range s {
			s[i] = raw[i] != 0
		}
		return s
	case graph.Int16:
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(le.Uint16(raw[2*i:]))
		}
		return s
	case graph.Uint16, graph.Float16, graph.BFloat16:
		s := make([]uint16, n)
		for i := range s {
			s[i] = le.Uint16(raw[2*i:])
		}
		return s
	case graph.Int32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(le.Uint32(raw[4*i:]))
		}
		return s
	case graph.Uint32:
		s := make([]uint32, n)
		for i := range s {
			s[i] = le.Uint32(raw[4*i:])
		}
		return s
	case graph.Int64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(le.Uint64(raw[8*i:]))
		}
		return s
	case graph.Uint64:
		s := make([]uint64, n)
		for i := range s {
			s[i] = le.Uint64(raw[8*i:])
		}
		return s
	case graph.Complex64:
		s := make([]complex64, n)
		for i := range s {
			re := math.Float32frombits(le.Uint32(raw[8*i:]))
			im := math.Float32frombits(le.Uint32(raw[8*i+4:]))
			s[i] = complex(re, im)
		}
		return s
	case graph.Complex128:
		s := make([]complex128, n)
		for i := range s {
			re := math.Float64frombits(le.Uint64(raw[16*i:]))
			im := math.Float64frombits(le.Uint64(raw[16*i+8:]))
			s[i] = complex(re, im)
		}
		return s
	case graph.Int4, graph.Int2:
		bits := dt.Bits()
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(subByte(raw, i, bits)<<(8-bits)) >> (8 - bits) // sign-extend the top bit
		}
		return s
	case graph.Uint4, graph.Float4E2M1, graph.Uint2:
		bits := dt.Bits()
		s := make([]uint8, n)
		for i := range s {
			s[i] = subByte(raw, i, bits)
		}
		return s
	}
	panic("onnx: fromRaw called for " + dt.String())
}

// subByte returns element i of packed data of bits-wide elements (4 or
// 2), the first element of each byte in its least significant bits: for
// 4 bits the low nibble of byte i/2 for even i, the high one for odd i;
// for 2 bits, bits 2*(i%4) and up of byte i/4.
func subByte(packed []byte, i, bits int) uint8 {
	per := 8 / bits
	return packed[i/per] >> (bits * (i % per)) & (1<<bits - 1)
}

// fromTyped converts the values of a tensor stored in its typed field,
// after checking their count (and, for types narrower than the field,
// their range) so that nothing is allocated for a false claim.
func fromTyped(p *onnxpb.TensorProto, dt graph.DType, n int64) (any, error) {
	field := fieldOf(dt)
	if err := checkNoTyped(p, dt, field); err != nil {
		return nil, err
	}
	want := n
	switch dt {
	case graph.Complex64, graph.Complex128:
		if n > math.MaxInt64/2 {
			return nil, formatErr("%v tensor of %d elements is too large", dt, n)
		}
		want = 2 * n // real and imaginary parts
	case graph.Int4, graph.Uint4, graph.Float4E2M1, graph.Int2, graph.Uint2:
		want = packedLen(dt, n) // int32_data holds the packed bytes
	}
	if got := int64(typedLen(p, field)); got != want {
		return nil, formatErr("%s has %d values, but %d elements of %v need %d", typedFieldNames[field], got, n, dt, want)
	}
	switch dt {
	case graph.Float32:
		return p.FloatData, nil
	case graph.Complex64:
		s := make([]complex64, n)
		for i := range s {
			s[i] = complex(p.FloatData[2*i], p.FloatData[2*i+1])
		}
		return s, nil
	case graph.Float64:
		return p.DoubleData, nil
	case graph.Complex128:
		s := make([]complex128, n)
		for i := range s {
			s[i] = complex(p.DoubleData[2*i], p.DoubleData[2*i+1])
		}
		return s, nil
	case graph.Int64:
		return p.Int64Data, nil
	case graph.Uint64:
		return p.Uint64Data, nil
	case graph.Uint32:
		s := make([]uint32, n)
		for i, v := range p.Uint64Data {
			if v > math.MaxUint32 {
				return nil, formatErr("uint64_data value %d at %d is out of range for uint32", v, i)
			}
			s[i] = uint32(v)
		}
		return s, nil
	case graph.String:
		s := make([]string, n)
		for i, v := range p.StringData {
			s[i] = string(v)
		}
		return s, nil
	case graph.Int32:
		return p.Int32Data, nil
	}
	// The remaining types are narrower than int32_data's entries.
	lo, hi := int32Range(dt)
	for i, v := range p.Int32Data {
		if v < lo || v > hi {
			return nil, formatErr("int32_data value %d at %d is out of range for %v", v, i, dt)
		}
	}
	switch dt {
	case graph.Int4, graph.Uint4, graph.Float4E2M1, graph.Int2, graph.Uint2:
		packed := make([]byte, len(p.Int32Data))
		for i, v := range p.Int32Data {
			packed[i] = byte(v)
		}
		return fromRaw(dt, n, packed), nil
	case graph.Int8:
		return convert[int8](p.Int32Data), nil
	case graph.Int16:
		return convert[int16](p.Int32Data), nil
	case graph.Uint16, graph.Float16, graph.BFloat16:
		return convert[uint16](p.Int32Data), nil
	case graph.Bool:
		s := make([]bool, n)
		for i, v := range p.Int32Data {
			s[i] = v != 0
		}
		return s, nil
	}
	// Uint8 and the 8-bit floats, Float8E8M0 included.
	return convert[uint8](p.Int32Data), nil
}

// int32Range is the range of int32_data entries for a narrow dtype: its
// values, its bit patterns, or for 4- and 2-bit types a packed byte.
func int32Range(dt graph.DType) (lo, hi int32) {
	switch dt {
	case graph.Int8:
		return math.MinInt8, math.MaxInt8
	case graph.Int16:
		return math.MinInt16, math.MaxInt16
	case graph.Uint16, graph.Float16, graph.BFloat16:
		return 0, math.MaxUint16
	case graph.Bool:
		return 0, 1
	}
	return 0, math.MaxUint8
}

func convert[T int8 | int16 | uint8 | uint16](in []int32) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}

// tensorData returns t.Data as a []T of NumElements elements; nil Data
// stands for an empty tensor.
func tensorData[T any](t *graph.Tensor) ([]T, error) {
	n, err := numElements(t.Dims)
	if err != nil {
		return nil, within(err, fmt.Sprintf("tensor %q", t.Name))
	}
	s, ok := t.Data.([]T)
	if !ok && !(t.Data == nil && n == 0) {
		return nil, formatErr("%v tensor %q holds %T, want %T", t.DType, t.Name, t.Data, s)
	}
	if int64(len(s)) != n {
		return nil, formatErr("tensor %q has %d elements, but its dimensions %v need %d", t.Name, len(s), t.Dims, n)
	}
	return s, nil
}

// tensorBytes returns the little-endian raw_data of a tensor of any type
// but String, with 4-bit types packed two to a byte, low nibble first,
// and 2-bit types four to a byte, from the low bits up.
func tensorBytes(t *graph.Tensor) ([]byte, error) {
	le := binary.LittleEndian
	switch t.DType {
	case graph.Float32:
		return putEach(t, 4, func(b []byte, v float32) { le.PutUint32(b, math.Float32bits(v)) })
	case graph.Float64:
		return putEach(t, 8, func(b []byte, v float64) { le.PutUint64(b, math.Float64bits(v)) })
	case graph.Int8:
		return putEach(t, 1, func(b []byte, v int8) { b[0] = byte(v) })
	case graph.Uint8, graph.Float8E4M3FN, graph.Float8E4M3FNUZ, graph.Float8E5M2, graph.Float8E5M2FNUZ, graph.Float8E8M0:
		return putEach(t, 1, func(b []byte, v uint8) { b[0] = v })
	case graph.Bool:
		return putEach(t, 1, func(b []byte, v bool) {
			if v {
				b[0] = 1
			}
		})
	case graph.Int16:
		return putEach(t, 2, func(b []byte, v int16) { le.PutUint16(b, uint16(v)) })
	case graph.Uint16, graph.Float16, graph.BFloat16:
		return putEach(t, 2, le.PutUint16)
	case graph.Int32:
		return putEach(t, 4, func(b []byte, v int32) { le.PutUint32(b, uint32(v)) })
	case graph.Uint32:
		return putEach(t, 4, le.PutUint32)
	case graph.Int64:
		return putEach(t, 8, func(b []byte, v int64) { le.PutUint64(b, uint64(v)) })
	case graph.Uint64:
		return putEach(t, 8, le.PutUint64)
	case graph.Complex64:
		return putEach(t, 8, func(b []byte, v complex64) {
			le.PutUint32(b, math.Float32bits(real(v)))
			le.PutUint32(b[4:], math.Float32bits(imag(v)))
		})
	case graph.Complex128:
		return putEach(t, 16, func(b []byte, v complex128) {
			le.PutUint64(b, math.Float64bits(real(v)))
			le.PutUint64(b[8:], math.Float64bits(imag(v)))
		})
	case graph.Int4, graph.Int2:
		s, err := tensorData[int8](t)
		if err != nil {
			return nil, err
		}
		bits := t.DType.Bits()
		lo, hi := int8(-1<<(bits-1)), int8(1<<(bits-1)-1)
		return packSubByte(t, len(s), func(i int) (uint8, bool) { return uint8(s[i]) & (1<<bits - 1), s[i] >= lo && s[i] <= hi })
	case graph.Uint4, graph.Float4E2M1, graph.Uint2:
		s, err := tensorData[uint8](t)
		if err != nil {
			return nil, err
		}
		hi := uint8(1<<t.DType.Bits() - 1)
		return packSubByte(t, len(s), func(i int) (uint8, bool) { return s[i], s[i] <= hi })
	}
	return nil, formatErr("tensor %q of type %v has no raw form", t.Name, t.DType)
}

// putEach writes each element of t's data with put into size-byte slots.
func putEach[T any](t *graph.Tensor, size int, put func([]byte, T)) ([]byte, error) {
	s, err := tensorData[T](t)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, len(s)*size)
	for i, v := range s {
		put(raw[i*size:], v)
	}
	return raw, nil
}

// packSubByte packs n elements of t's 4- or 2-bit type as subByte reads
// them. elem returns element i's bits and whether the element is in
// range.
func packSubByte(t *graph.Tensor, n int, elem func(i int) (uint8, bool)) ([]byte, error) {
	bits := t.DType.Bits()
	per := 8 / bits
	raw := make([]byte, packedLen(t.DType, int64(n)))
	for i := range n {
		v, ok := elem(i)
		if !ok {
			return nil, formatErr("%v tensor %q: element %d is out of range", t.DType, t.Name, i)
		}
		raw[i/per] |= v << (bits * (i % per))
	}
	return raw, nil
}
