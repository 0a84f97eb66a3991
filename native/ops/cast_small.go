package ops

// Cast to and from the small types: the 8- and 4-bit floats, float8e8m0,
// and the 4- and 2-bit integers (see cast.go for the rules). Tensors hold
// the small floats as bit patterns in []uint8, int4 and int2 in []int8 and
// uint4 and uint2 in []uint8, one element a byte.

import (
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// castOptions are the attributes of Cast and CastLike that steer
// conversions to the small floats.
type castOptions struct {
	// saturate clamps infinities and out-of-range values to the largest
	// finite value (opset 19 on; always before).
	saturate bool
	// round is how values round to float8e8m0 (opset 24 on).
	round graph.E8M0Rounding
}

// newCastOptions decodes saturate (opset 19 on, default 1) and round_mode
// (opset 24 on, default "up").
func newCastOptions(n *graph.Node, opset int64) (castOptions, error) {
	opts := castOptions{saturate: true, round: graph.RoundUp}
	if opset >= 19 {
		sat, err := n.Declared().Int("saturate")
		if err != nil {
			return opts, err
		}
		opts.saturate = sat != 0
	}
	if opset >= 24 {
		mode, err := n.Declared().String("round_mode")
		if err != nil {
			return opts, err
		}
		if opts.round, err = graph.ParseE8M0Rounding(mode); err != nil {
			return opts, attrError(n, "round_mode", "%v", err)
		}
	}
	return opts, nil
}

// isSmallDType reports whether dt is a small float or a 4- or 2-bit
// integer.
func isSmallDType(dt graph.DType) bool {
	return dt.IsSmallFloat() || isSubByteInt(dt)
}

// smallTypeSince is the Cast opset that introduced dt: 19 for the 8-bit
// floats, 21 int4 and uint4, 23 float4e2m1, 24 float8e8m0, 25 int2 and
// uint2; 0 for the types that were there before.
func smallTypeSince(dt graph.DType) int64 {
	switch dt {
	case graph.Float8E4M3FN, graph.Float8E4M3FNUZ, graph.Float8E5M2, graph.Float8E5M2FNUZ:
		return 19
	case graph.Int4, graph.Uint4:
		return 21
	case graph.Float4E2M1:
		return 23
	case graph.Float8E8M0:
		return 24
	case graph.Int2, graph.Uint2:
		return 25
	}
	return 0
}

// isSubByteInt reports whether dt is int4, uint4, int2 or uint2.
func isSubByteInt(dt graph.DType) bool {
	switch dt {
	case graph.Int4, graph.Uint4, graph.Int2, graph.Uint2:
		return true
	}
	return false
}

// widenSmall returns x, of a small type, as a tensor of the type that
// holds its values exactly: small floats decoded to float32, int4 and
// int2 as int8 and uint4 and uint2 as uint8 (sharing x's data). A tensor
// of another type is returned as it is.
func widenSmall(x *tensor.Tensor) *tensor.Tensor {
	switch x.DType {
	case graph.Int4, graph.Int2:
		return &tensor.Tensor{DType: graph.Int8, Shape: x.Shape, Data: x.Data}
	case graph.Uint4, graph.Uint2:
		return &tensor.Tensor{DType: graph.Uint8, Shape: x.Shape, Data: x.Data}
	}
	if !x.DType.IsSmallFloat() {
		return x
	}
	bits := x.Data.([]uint8)
	out := make([]float32, len(bits))
	for i, b := range bits {
		out[i] = graph.SmallFloatValue(x.DType, b)
	}
	return &tensor.Tensor{DType: graph.Float32, Shape: x.Shape, Data: out}
}

// castToSmall converts x, of a type other than the small ones, to the
// small type to.
func castToSmall(x *tensor.Tensor, to graph.DType, opts castOptions) (*tensor.Tensor, error) {
	if x.DType == graph.String {
		var err error
		if x, err = castTensor(x, graph.Float64, opts); err != nil {
			return nil, err
		}
	}
	out := tensor.New(to, x.Shape...)
	if isSubByteInt(to) {
		ints := truncatedInts(x)
		bits := to.Bits()
		switch d := out.Data.(type) {
		case []int8:
			for i, v := range ints {
				d[i] = int8(v << (64 - bits) >> (64 - bits)) // low bits, sign-extended
			}
		case []uint8:
			for i, v := range ints {
				d[i] = uint8(v) & (1<<bits - 1)
			}
		}
		return out, nil
	}
	vals, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	d := out.Data.([]uint8)
	for i, v := range vals {
		if to == graph.Float8E8M0 {
			d[i] = graph.E8M0Bits(float32(v), opts.saturate, opts.round)
		} else {
			d[i] = graph.SmallFloatBits(to, v, opts.saturate)
		}
	}
	return out, nil
}

// truncatedInts returns the elements of a real or bool tensor as int64:
// integers exactly (uint64 by its bits), floats truncated toward zero,
// NaN as 0 and floats beyond int64 clamped, bools as 0 and 1.
func truncatedInts(x *tensor.Tensor) []int64 {
	out := make([]int64, x.Len())
	switch d := computeData(x).(type) {
	case []int64:
		copy(out, d)
	case []uint64:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int32:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []uint32:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int16:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []uint16:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int8:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []uint8:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	case []float32:
		for i, v := range d {
			out[i] = truncFloat(float64(v))
		}
	case []float64:
		for i, v := range d {
			out[i] = truncFloat(v)
		}
	}
	return out
}

// truncFloat truncates v toward zero to an int64; NaN gives 0 and values
// beyond int64 the nearest end.
func truncFloat(v float64) int64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(v)
}
