package ops

// Operators of the ai.onnx.ml domain:
//
//	Binarizer (1)              X -> Y, X's shape and type: 1 where X > threshold (default 0), else 0
//	ArrayFeatureExtractor (1)  X [..., N], Y int64 indices [K] -> Z [..., K] ([1, K] for a 1-D X)
//	LabelEncoder (2, 4)        X -> Y, X's shape: each key mapped to its value, others to the default
//
// LabelEncoder's keys come from keys_tensor (opset 4) or keys_strings,
// keys_int64s, keys_floats; its values from values_tensor or
// values_strings, values_int64s, values_floats; the default from
// default_tensor or default_string ("_Unused"), default_int64 (-1),
// default_float (-0.0), whichever matches the values' type. A NaN key
// matches NaN.

import (
	"fmt"
	"strconv"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mlDomain is the domain of the classical machine-learning operators.
const mlDomain = "ai.onnx.ml"

// mlOps is the operator table of ml.go (see registry.go).
var mlOps = []Entry{
	{Domain: graph.MLDomain, OpType: "Binarizer", Since: []int64{1}, Build: newBinarizer},
	{Domain: graph.MLDomain, OpType: "ArrayFeatureExtractor", Since: []int64{1}, Build: func(*graph.Node, int64) (Op, error) { return arrayFeatureExtractor{}, nil }},
	{Domain: graph.MLDomain, OpType: "LabelEncoder", Since: []int64{2}, Build: newLabelEncoder},
}

// binarizer is Binarizer.
type binarizer struct{ threshold float64 }

func newBinarizer(n *graph.Node, _ int64) (Op, error) {
	th, err := n.Declared().Float("threshold")
	if err != nil {
		return nil, err
	}
	return &binarizer{threshold: float64(th)}, nil
}

// Forward thresholds X.
func (o *binarizer) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if !isRealDType(x.DType) {
		return nil, fmt.Errorf("input X is %v, want a numeric type", x.DType)
	}
	vals, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	y := make([]float64, len(vals))
	for i, v := range vals {
		if v > o.threshold {
			y[i] = 1
		}
	}
	return []*tensor.Tensor{float64sAs(y, x.DType, x.Shape)}, nil
}

// arrayFeatureExtractor is ArrayFeatureExtractor.
type arrayFeatureExtractor struct{}

// Forward selects the indexed elements of X's last axis.
func (arrayFeatureExtractor) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	x := in[0]
	idx, err := intValues(in[1], "input Y")
	if err != nil {
		return nil, err
	}
	if x.Rank() == 0 {
		return nil, fmt.Errorf("input X is a scalar, want at least one axis")
	}
	last := x.Shape[x.Rank()-1]
	outer := tensor.NumElements(x.Shape[:x.Rank()-1])
	src := make([]int, 0, outer*len(idx))
	for o := range outer {
		for _, v := range idx {
			if v < 0 || v >= int64(last) {
				return nil, fmt.Errorf("index %d is out of range for X %v", v, x.Shape)
			}
			src = append(src, o*last+int(v))
		}
	}
	shape := append(append([]int(nil), x.Shape[:x.Rank()-1]...), len(idx))
	if x.Rank() == 1 {
		shape = []int{1, len(idx)}
	}
	out := newOutput(ctx, x.DType, shape)
	mvElems(out).take(mvElems(x), src)
	return []*tensor.Tensor{out}, nil
}

// labelEncoder is LabelEncoder.
type labelEncoder struct {
	keyType graph.DType
	index   map[string]int // key -> position in values; len(values) is the default
	values  *tensor.Tensor // the values, then the default
}

// mlListAttr returns the tensor an attribute list of the given kind
// holds, or nil when the node has none of name+"_strings", "_int64s",
// "_floats" and name+"_tensor".
func mlListAttr(n *graph.Node, name string) (*tensor.Tensor, error) {
	if n.HasAttr(name + "_tensor") {
		g, err := n.Declared().Tensor(name + "_tensor")
		if err != nil {
			return nil, err
		}
		t, err := tensor.FromGraph(g)
		if err != nil {
			return nil, attrError(n, name+"_tensor", "%v", err)
		}
		return t, nil
	}
	switch {
	case n.HasAttr(name + "_strings"):
		s, err := n.Declared().Strings(name + "_strings")
		return &tensor.Tensor{DType: graph.String, Shape: []int{len(s)}, Data: s}, err
	case n.HasAttr(name + "_int64s"):
		v, err := n.Declared().Ints(name + "_int64s")
		return &tensor.Tensor{DType: graph.Int64, Shape: []int{len(v)}, Data: v}, err
	case n.HasAttr(name + "_floats"):
		v, err := n.Declared().Floats(name + "_floats")
		return &tensor.Tensor{DType: graph.Float32, Shape: []int{len(v)}, Data: v}, err
	}
	return nil, nil
}

func newLabelEncoder(n *graph.Node, _ int64) (Op, error) {
	keys, err := mlListAttr(n, "keys")
	if err != nil {
		return nil, err
	}
	values, err := mlListAttr(n, "values")
	if err != nil {
		return nil, err
	}
	if keys == nil || values == nil {
		return nil, attrError(n, "keys", "keys and values are required")
	}
	if keys.Len() != values.Len() {
		return nil, attrError(n, "values", "%d values for %d keys", values.Len(), keys.Len())
	}
	def, err := labelDefault(n, values.DType)
	if err != nil {
		return nil, err
	}
	keyNames, err := keyStrings(keys)
	if err != nil {
		return nil, attrError(n, "keys", "%v", err)
	}
	o := &labelEncoder{keyType: keys.DType, index: map[string]int{}}
	for i, k := range keyNames {
		if _, dup := o.index[k]; !dup {
			o.index[k] = i
		}
	}
	// values followed by the default, so that a lookup is one take.
	all := tensor.New(values.DType, values.Len()+1)
	mvElems(all).copyFrom(0, mvElems(values), 0, values.Len())
	mvElems(all).copyFrom(values.Len(), mvElems(def), 0, 1)
	o.values = all
	return o, nil
}

// labelDefault returns LabelEncoder's default value, of type dt.
func labelDefault(n *graph.Node, dt graph.DType) (*tensor.Tensor, error) {
	if n.HasAttr("default_tensor") {
		g, err := n.Declared().Tensor("default_tensor")
		if err != nil {
			return nil, err
		}
		t, err := tensor.FromGraph(g)
		if err != nil || t.Len() != 1 || t.DType != dt {
			return nil, attrError(n, "default_tensor", "want one %v value", dt)
		}
		return t, nil
	}
	switch dt {
	case graph.String:
		s, err := n.Declared().String("default_string")
		return &tensor.Tensor{DType: dt, Shape: []int{1}, Data: []string{s}}, err
	case graph.Int64:
		v, err := n.Declared().Int("default_int64")
		return &tensor.Tensor{DType: dt, Shape: []int{1}, Data: []int64{v}}, err
	case graph.Float32:
		v, err := n.Declared().Float("default_float")
		return &tensor.Tensor{DType: dt, Shape: []int{1}, Data: []float32{v}}, err
	}
	return tensor.New(dt, 1), nil
}

// keyStrings returns the elements of t as map keys: strings as they are,
// numbers in their shortest exact decimal form.
func keyStrings(t *tensor.Tensor) ([]string, error) {
	switch d := t.Data.(type) {
	case []string:
		return d, nil
	case []int64:
		out := make([]string, len(d))
		for i, v := range d {
			out[i] = strconv.FormatInt(v, 10)
		}
		return out, nil
	case []int32:
		out := make([]string, len(d))
		for i, v := range d {
			out[i] = strconv.FormatInt(int64(v), 10)
		}
		return out, nil
	case []int16:
		out := make([]string, len(d))
		for i, v := range d {
			out[i] = strconv.FormatInt(int64(v), 10)
		}
		return out, nil
	case []float32:
		out := make([]string, len(d))
		for i, v := range d {
			out[i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		return out, nil
	case []float64:
		out := make([]string, len(d))
		for i, v := range d {
			out[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		return out, nil
	}
	return nil, fmt.Errorf("keys of type %v are not supported", t.DType)
}

// Forward maps every element of X.
func (o *labelEncoder) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != o.keyType {
		return nil, fmt.Errorf("input X is %v, the keys are %v", x.DType, o.keyType)
	}
	keys, err := keyStrings(x)
	if err != nil {
		return nil, err
	}
	src := make([]int, len(keys))
	for i, k := range keys {
		j, ok := o.index[k]
		if !ok {
			j = o.values.Len() - 1
		}
		src[i] = j
	}
	out := newOutput(ctx, o.values.DType, x.Shape)
	mvElems(out).take(mvElems(o.values), src)
	return []*tensor.Tensor{out}, nil
}
