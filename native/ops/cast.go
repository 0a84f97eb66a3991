package ops

// Cast and CastLike: Y has X's shape and the type given by attribute to
// (Cast) or by the type of input target_type (CastLike).
//
// History: Cast opset 1 names the type as a string ("FLOAT", ...); 6
// names it by its TensorProto number; 9 added strings; 13 bfloat16; 19
// the 8-bit floats and attribute saturate (default 1); 21 int4 and
// uint4; 23 float4e2m1; 24 float8e8m0 and attribute round_mode ("up",
// "down" or "nearest", default "up"); 25 int2 and uint2. CastLike since
// 15 follows the same history from 19 on. Types: every integer and float
// of 2 to 64 bits, bool and string; complex numbers are refused with an
// error.
//
// Conversions: between numbers as Go converts them (floats to integers
// truncate toward zero; out-of-range values are undefined, as in the
// specification); float16 and bfloat16 go through float32, rounding to
// nearest even; to bool, nonzero is true; from bool, true is 1. Strings
// parse as decimal or scientific numbers, "NaN" and "INF", "+INF", "-INF"
// in any case; a string cast to an integer type that is not an integer
// literal is parsed as a float and truncated. Numbers format as the
// shortest decimal that reads back to the same value of their type, in
// plain notation from 1e-4 to 1e16 and scientific notation outside; NaN
// and infinities as "NaN", "INF", "-INF"; bools as "1" and "0".
//
// The small types (cast_small.go): to an 8- or 4-bit float, values round
// to nearest even, and saturate decides what becomes of infinities and
// values beyond the largest finite (graph.SmallFloatBits); to float8e8m0
// as graph.E8M0Bits with round_mode; to int4, uint4, int2 and uint2,
// floats truncate toward zero and integers keep their low bits (200 ->
// int4 8 -> -8), as the reference implementation does. From them, values
// convert exactly to the wider type, then on as above.

import (
	"fmt"
	"math"
	"strconv"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// castOps is the operator table of cast.go (see registry.go).
var castOps = []Entry{
	{OpType: "Cast", Since: []int64{1, 6, 19, 24}, Build: newCast},
	{OpType: "CastLike", Since: []int64{15, 19, 24}, Build: newCastLike},
}

// castTypeNames are the names Cast opset 1 gives the types.
var castTypeNames = map[string]graph.DType{
	"FLOAT": graph.Float32, "UINT8": graph.Uint8, "INT8": graph.Int8, "UINT16": graph.Uint16,
	"INT16": graph.Int16, "INT32": graph.Int32, "INT64": graph.Int64, "STRING": graph.String,
	"BOOL": graph.Bool, "FLOAT16": graph.Float16, "DOUBLE": graph.Float64, "UINT32": graph.Uint32,
	"UINT64": graph.Uint64, "BFLOAT16": graph.BFloat16,
}

// castOp is Cast.
type castOp struct {
	to   graph.DType
	opts castOptions
}

func newCast(n *graph.Node, opset int64) (Op, error) {
	if !n.HasAttr("to") {
		return nil, attrError(n, "to", "is missing")
	}
	if opset < 6 {
		name, err := n.Declared().String("to")
		if err != nil {
			return nil, err
		}
		to, ok := castTypeNames[name]
		if !ok {
			return nil, attrError(n, "to", "names no supported type: %q", name)
		}
		return &castOp{to: to}, nil
	}
	to, err := n.Declared().Int("to")
	if err != nil {
		return nil, err
	}
	if !castable(graph.DType(to)) {
		return nil, attrError(n, "to", "type %v is not supported", graph.DType(to))
	}
	if since := smallTypeSince(graph.DType(to)); opset < since {
		return nil, attrError(n, "to", "type %v needs Cast opset %d or later, the model has %d", graph.DType(to), since, opset)
	}
	opts, err := newCastOptions(n, opset)
	if err != nil {
		return nil, err
	}
	return &castOp{to: graph.DType(to), opts: opts}, nil
}

// Forward converts X to the type of attribute to.
func (op *castOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	y, err := castTensor(in[0], op.to, op.opts)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{y}, nil
}

// castLikeOp is CastLike.
type castLikeOp struct{ opts castOptions }

func newCastLike(n *graph.Node, opset int64) (Op, error) {
	opts, err := newCastOptions(n, opset)
	if err != nil {
		return nil, err
	}
	return &castLikeOp{opts: opts}, nil
}

// Forward converts input to the type of target_type.
func (op *castLikeOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	y, err := castTensor(in[0], in[1].DType, op.opts)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{y}, nil
}

// castable reports whether Cast converts to and from dt.
func castable(dt graph.DType) bool {
	return isRealDType(dt) || dt == graph.Bool || dt == graph.String || isSmallDType(dt)
}

// castTensor returns x converted to type to.
func castTensor(x *tensor.Tensor, to graph.DType, opts castOptions) (*tensor.Tensor, error) {
	if !castable(x.DType) || !castable(to) {
		return nil, fmt.Errorf("cast from %v to %v is not supported", x.DType, to)
	}
	if x.DType == to {
		return x.Clone(), nil
	}
	if isSmallDType(x.DType) {
		x = widenSmall(x)
		if x.DType == to {
			return x.Clone(), nil
		}
	}
	if isSmallDType(to) {
		return castToSmall(x, to, opts)
	}
	src := widenHalf(x)
	mid := to
	if isHalfFloat(to) {
		mid = graph.Float32
	}
	out := tensor.New(mid, x.Shape...)
	switch {
	case src.DType == graph.String:
		if err := parseStrings(src.Data.([]string), out); err != nil {
			return nil, err
		}
	case mid == graph.String:
		formatNumbers(src, out.Data.([]string))
	case src.DType == graph.Bool:
		vals := src.Data.([]bool)
		bytes := make([]uint8, len(vals))
		for i, v := range vals {
			if v {
				bytes[i] = 1
			}
		}
		castReal(bytes, out.Data)
	default:
		castReal(src.Data, out.Data)
	}
	return narrowHalf(out, to), nil
}

// castReal converts the elements of src, a slice of a real type, into
// dst, a slice of a real type or of bool, of the same length.
func castReal(src, dst any) {
	switch s := src.(type) {
	case []float32:
		castFrom(s, dst)
	case []float64:
		castFrom(s, dst)
	case []int8:
		castFrom(s, dst)
	case []int16:
		castFrom(s, dst)
	case []int32:
		castFrom(s, dst)
	case []int64:
		castFrom(s, dst)
	case []uint8:
		castFrom(s, dst)
	case []uint16:
		castFrom(s, dst)
	case []uint32:
		castFrom(s, dst)
	case []uint64:
		castFrom(s, dst)
	default:
		panic(fmt.Sprintf("ops: castReal from %T", src))
	}
}

func castFrom[S ewReal](s []S, dst any) {
	switch d := dst.(type) {
	case []float32:
		convertElems(s, d)
	case []float64:
		convertElems(s, d)
	case []int8:
		convertElems(s, d)
	case []int16:
		convertElems(s, d)
	case []int32:
		convertElems(s, d)
	case []int64:
		convertElems(s, d)
	case []uint8:
		convertElems(s, d)
	case []uint16:
		convertElems(s, d)
	case []uint32:
		convertElems(s, d)
	case []uint64:
		convertElems(s, d)
	case []bool:
		for i, v := range s {
			d[i] = v != 0
		}
	default:
		panic(fmt.Sprintf("ops: castFrom to %T", dst))
	}
}

func convertElems[S, D ewReal](s []S, d []D) {
	for i, v := range s {
		d[i] = D(v)
	}
}

// parseStrings parses strs into out, a tensor of a real type or bool.
func parseStrings(strs []string, out *tensor.Tensor) error {
	switch out.DType {
	case graph.Int8, graph.Int16, graph.Int32, graph.Int64:
		vals := make([]int64, len(strs))
		for i, s := range strs {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				f, ferr := parseFloatString(s, 64)
				if ferr != nil {
					return ferr
				}
				v = int64(f)
			}
			vals[i] = v
		}
		castReal(vals, out.Data)
	case graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64:
		vals := make([]uint64, len(strs))
		for i, s := range strs {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				f, ferr := parseFloatString(s, 64)
				if ferr != nil {
					return ferr
				}
				v = uint64(f)
			}
			vals[i] = v
		}
		castReal(vals, out.Data)
	default:
		// Parse at the precision of the result, so that the decimal is
		// rounded once.
		bits := 64
		if out.DType == graph.Float32 {
			bits = 32
		}
		vals := make([]float64, len(strs))
		for i, s := range strs {
			f, err := parseFloatString(s, bits)
			if err != nil {
				return err
			}
			vals[i] = f
		}
		castReal(vals, out.Data)
	}
	return nil
}

// parseFloatString parses a decimal or scientific number, rounded to a
// float of the given bits, or one of the special values NaN, INF, +INF
// and -INF in any case. Numbers beyond the range become infinities.
func parseFloatString(s string, bits int) (float64, error) {
	f, err := strconv.ParseFloat(s, bits)
	if err != nil && !isRangeError(err) {
		return 0, fmt.Errorf("cannot cast string %q to a number", s)
	}
	return f, nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// formatNumbers formats the elements of src, a real or bool tensor.
func formatNumbers(src *tensor.Tensor, dst []string) {
	switch s := src.Data.(type) {
	case []float32:
		for i, v := range s {
			dst[i] = formatFloat(float64(v), 32)
		}
	case []float64:
		for i, v := range s {
			dst[i] = formatFloat(v, 64)
		}
	case []bool:
		for i, v := range s {
			dst[i] = "0"
			if v {
				dst[i] = "1"
			}
		}
	case []uint64:
		for i, v := range s {
			dst[i] = strconv.FormatUint(v, 10)
		}
	case []int64:
		for i, v := range s {
			dst[i] = strconv.FormatInt(v, 10)
		}
	default:
		vals, _ := src.Float64s() // the narrower integers are exact in float64
		for i, v := range vals {
			dst[i] = strconv.FormatInt(int64(v), 10)
		}
	}
}

// formatFloat formats v, a value of a float type of the given bits, as
// the shortest decimal that reads back to it.
func formatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "INF"
	case math.IsInf(v, -1):
		return "-INF"
	}
	if a := math.Abs(v); a == 0 || a >= 1e-4 && a < 1e16 {
		return strconv.FormatFloat(v, 'f', -1, bits)
	}
	return strconv.FormatFloat(v, 'e', -1, bits)
}
