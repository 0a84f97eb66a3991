package tensor

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
)

// Float64s returns the elements of a numeric or bool tensor as float64
// (float16, bfloat16 and the 8- and 4-bit floats decoded from their bits;
// bools as 0 and 1), in a new slice. Hot kernels work on the typed data
// instead.
func (t *Tensor) Float64s() ([]float64, error) {
	out := make([]float64, t.Len())
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []uint16:
		for i, v := range d {
			switch t.DType {
			case graph.Float16:
				out[i] = float64(graph.Float16FromBits(v))
			case graph.BFloat16:
				out[i] = float64(graph.BFloat16FromBits(v))
			default:
				out[i] = float64(v)
			}
		}
	case []int8:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int16:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int64:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint8:
		small := t.DType.IsSmallFloat()
		for i, v := range d {
			if small {
				out[i] = float64(graph.SmallFloatValue(t.DType, v))
			} else {
				out[i] = float64(v)
			}
		}
	case []uint32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint64:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("tensor: %v elements are not numbers", t.DType)
	}
	return out, nil
}
