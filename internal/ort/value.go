package ort

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// passedByBytes are the element types whose Go slices (see tensor.Tensor)
// hold the elements exactly as ONNX Runtime does, one element after the
// other at the size that graph.DType.WireSize gives, so that values are
// copied as bytes. Go's bool is one byte holding 0 or 1, as C++'s is.
var passedByBytes = map[graph.DType]bool{
	graph.Float32: true, graph.Float64: true, graph.Float16: true, graph.BFloat16: true,
	graph.Int8: true, graph.Int16: true, graph.Int32: true, graph.Int64: true,
	graph.Uint8: true, graph.Uint16: true, graph.Uint32: true, graph.Uint64: true,
	graph.Bool: true, graph.Complex64: true, graph.Complex128: true,
	graph.Float8E4M3FN: true, graph.Float8E4M3FNUZ: true, graph.Float8E5M2: true, graph.Float8E5M2FNUZ: true,
}

// newValue copies t into a new OrtValue in memory that ONNX Runtime
// allocates, and returns it; the caller releases it.
func newValue(t *tensor.Tensor) (uintptr, error) {
	if t.Kind != tensor.Dense {
		return 0, fmt.Errorf("%v values are not passed to ONNX Runtime", t.Kind)
	}
	if t.DType != graph.String && !passedByBytes[t.DType] {
		return 0, fmt.Errorf("%v tensors are not passed to ONNX Runtime", t.DType)
	}
	n := t.Len()
	if reflect.ValueOf(t.Data).Len() != n {
		return 0, fmt.Errorf("%v tensor of shape %v holds %d elements", t.DType, t.Shape, reflect.ValueOf(t.Data).Len())
	}
	// shape always has an element, so that a rank-0 tensor passes a valid
	// pointer with length 0.
	shape := make([]int64, len(t.Shape)+1)
	for i, d := range t.Shape {
		shape[i] = int64(d)
	}
	var v uintptr
	if err := call(fnCreateTensorAsOrtValue, rt.allocator, uintptr(unsafe.Pointer(&shape[0])), uintptr(len(t.Shape)), uintptr(t.DType), uintptr(unsafe.Pointer(&v))); err != nil {
		return 0, err
	}
	var err error
	if t.DType == graph.String {
		err = fillStrings(v, t.Data.([]string))
	} else {
		err = fillBytes(v, sliceBytes(t.Data))
	}
	if err != nil {
		release(fnReleaseValue, v)
		return 0, err
	}
	return v, nil
}

// fillBytes copies b into the tensor v's elements.
func fillBytes(v uintptr, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var p uintptr
	if err := call(fnGetTensorMutableData, v, uintptr(unsafe.Pointer(&p))); err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(cPointer(p)), len(b)), b)
	return nil
}

// fillStrings sets the string tensor v's elements to s.
func fillStrings(v uintptr, s []string) error {
	if len(s) == 0 {
		return nil
	}
	chars := make([][]byte, len(s))
	ptrs := make([]uintptr, len(s))
	for i, e := range s {
		b, err := cString(e)
		if err != nil {
			return err
		}
		chars[i] = b
		ptrs[i] = uintptr(unsafe.Pointer(&b[0]))
	}
	err := call(fnFillStringTensor, v, uintptr(unsafe.Pointer(&ptrs[0])), uintptr(len(s)))
	runtime.KeepAlive(chars)
	return err
}

// sliceBytes returns the bytes of the elements of the slice data.
func sliceBytes(data any) []byte {
	s := reflect.ValueOf(data)
	if s.Len() == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(s.UnsafePointer()), s.Len()*int(s.Type().Elem().Size()))
}

// valueTensor copies the OrtValue v, which must be a tensor, into a new
// tensor.
func valueTensor(v uintptr) (*tensor.Tensor, error) {
	if v == 0 {
		return nil, errors.New("ONNX Runtime returned no value")
	}
	var kind int32
	if err := call(fnGetValueType, v, uintptr(unsafe.Pointer(&kind))); err != nil {
		return nil, err
	}
	if kind != onnxTypeTensor {
		return nil, fmt.Errorf("ONNX Runtime returned a %s, which is not converted", onnxTypeNames[kind])
	}
	var info uintptr
	if err := call(fnGetTensorTypeAndShape, v, uintptr(unsafe.Pointer(&info))); err != nil {
		return nil, err
	}
	dtype, dims, err := tensorTypeAndShape(info)
	release(fnReleaseTensorTypeAndShapeInfo, info)
	if err != nil {
		return nil, err
	}
	if dtype != graph.String && !passedByBytes[dtype] {
		return nil, fmt.Errorf("ONNX Runtime returned a %v tensor, which is not converted", dtype)
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		shape[i] = int(d)
	}
	t := tensor.New(dtype, shape...)
	if dtype == graph.String {
		err = readStrings(v, t.Data.([]string))
	} else {
		err = readBytes(v, sliceBytes(t.Data))
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// readBytes copies the tensor v's elements into b.
func readBytes(v uintptr, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var p uintptr
	if err := call(fnGetTensorMutableData, v, uintptr(unsafe.Pointer(&p))); err != nil {
		return err
	}
	copy(b, unsafe.Slice((*byte)(cPointer(p)), len(b)))
	return nil
}

// readStrings copies the string tensor v's elements into s.
func readStrings(v uintptr, s []string) error {
	if len(s) == 0 {
		return nil
	}
	var size uintptr
	if err := call(fnGetStringTensorDataLength, v, uintptr(unsafe.Pointer(&size))); err != nil {
		return err
	}
	chars := make([]byte, size+1) // +1: a valid pointer when every string is empty
	offsets := make([]uintptr, len(s))
	if err := call(fnGetStringTensorContent, v, uintptr(unsafe.Pointer(&chars[0])), size, uintptr(unsafe.Pointer(&offsets[0])), uintptr(len(s))); err != nil {
		return err
	}
	for i := range s {
		end := size
		if i+1 < len(s) {
			end = offsets[i+1]
		}
		s[i] = string(chars[offsets[i]:end])
	}
	return nil
}
