package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/fileio"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// prepareInputs loads the input files o names, one per graph input in
// order, or makes random inputs when there are none.
func prepareInputs(o *options, m *graph.Model) (map[string]*tensor.Tensor, error) {
	want := graphInputs(m.Graph)
	if len(o.inputs) == 0 {
		return randomInputs(want, o.batch, o.seed)
	}
	if len(o.inputs) != len(want) {
		names := make([]string, len(want))
		for i, v := range want {
			names[i] = v.Name
		}
		return nil, usagef("%s takes %d input(s) (%s), %d given", o.model, len(want), strings.Join(names, ", "), len(o.inputs))
	}
	out := map[string]*tensor.Tensor{}
	for i, v := range want {
		t, err := loadInput(o, m, v, o.inputs[i])
		if err != nil {
			return nil, err
		}
		if err := checkDeclared(v, t); err != nil {
			return nil, fmt.Errorf("%s: %w", o.inputs[i], err)
		}
		out[v.Name] = t
	}
	return out, nil
}

// inputFileLimit is the largest input file read: the largest tensor the
// native engine's budget allows, plus room for a header.
func inputFileLimit() int64 {
	limit := ops.DefaultBudget.MaxTensorBytes
	if limit <= 0 {
		limit = ops.DefaultMaxTensorBytes
	}
	return limit + 1<<20
}

// loadInput reads one input file by its extension. Only a regular file of
// at most inputFileLimit bytes is read: /dev/zero or a FIFO is refused
// before it is opened.
func loadInput(o *options, m *graph.Model, v *graph.Value, path string) (*tensor.Tensor, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if !slices.Contains([]string{".pb", ".npy", ".jpg", ".jpeg", ".png"}, ext) {
		return nil, usagef("input %s: unknown kind of file (want .pb, .npy, .jpg, .jpeg or .png)", path)
	}
	f, _, err := fileio.OpenRegular(path, inputFileLimit())
	if err != nil {
		return nil, err
	}
	f.Close()
	switch ext {
	case ".pb":
		// A TensorProto, or a SequenceProto or OptionalProto when the
		// model declares the input a sequence or an optional.
		d, err := onnx.ReadValueFile(path, v.Type)
		if err != nil {
			return nil, err
		}
		t, err := tensor.FromDatum(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if v.Type != nil && v.Type.Kind == graph.TensorKind && v.Type.DType == graph.BFloat16 && t.DType == graph.Uint16 {
			// ONNX 1.12's backend tests store bfloat16 data as uint16:
			// the same bits, which the model's declaration names.
			t.DType = graph.BFloat16
		}
		return t, nil
	case ".npy":
		return readNPYFile(path)
	case ".jpg", ".jpeg", ".png":
		p, err := imagePreprocessing(o, m, v)
		if err != nil {
			return nil, fmt.Errorf("%s: input %q: %w", path, v.Name, err)
		}
		return p.Load(path)
	}
	return nil, usagef("input %s: unknown kind of file (want .pb, .npy, .jpg, .jpeg or .png)", path)
}

// checkDeclared checks t against the declared type of input v: element
// type, rank and fixed dimensions.
func checkDeclared(v *graph.Value, t *tensor.Tensor) error {
	if v.Type == nil || v.Type.Kind != graph.TensorKind {
		return nil
	}
	if v.Type.DType != t.DType {
		return fmt.Errorf("input %q: the file holds %v, the model declares %v", v.Name, t, v.Type)
	}
	s := v.Type.Shape
	if s == nil {
		return nil
	}
	bad := len(s) != len(t.Shape)
	for i := 0; !bad && i < len(s); i++ {
		bad = s[i].Known() && s[i].Size != int64(t.Shape[i])
	}
	if bad {
		return fmt.Errorf("input %q: the file holds %v, the model declares %v", v.Name, t, v.Type)
	}
	return nil
}

// maxRandomElements bounds a random input, so that a bad --batch or a
// huge declared shape gives an error rather than exhaust memory.
const maxRandomElements = 1 << 28

// randomInputs makes one tensor per input of its declared type and shape,
// with symbolic and unknown dimensions set to batch. Input i draws from a
// PCG source seeded with (seed, i): floats uniform in [-1, 1) (rounded to
// the 8- and 4-bit floats), integers uniform in [0, 10) (the 4- and 2-bit
// ones over their whole range), booleans fair coins.
func randomInputs(inputs []*graph.Value, batch int, seed uint64) (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	for i, v := range inputs {
		if v.Type == nil || v.Type.Kind != graph.TensorKind || v.Type.Shape == nil {
			return nil, fmt.Errorf("input %q has type %v: random inputs need a tensor of known rank; give an input file", v.Name, v.Type)
		}
		// The whole shape first, so that an error shows all of it; the
		// count in float64, which cannot overflow.
		shape := make([]int64, len(v.Type.Shape))
		n := 1.0
		for j, d := range v.Type.Shape {
			shape[j] = int64(batch)
			if d.Known() {
				shape[j] = d.Size
			}
			n *= float64(shape[j])
		}
		if n > maxRandomElements {
			return nil, fmt.Errorf("input %q: shape %v (%.4g elements) is too large for a random input (at most %d); give an input file",
				v.Name, shape, n, maxRandomElements)
		}
		dims := make([]int, len(shape))
		for j, d := range shape {
			dims[j] = int(d)
		}
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		t, err := randomTensor(r, v.Type.DType, dims)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", v.Name, err)
		}
		out[v.Name] = t
	}
	return out, nil
}

// randomTensor fills a tensor of dtype d from r.
func randomTensor(r *rand.Rand, d graph.DType, shape []int) (*tensor.Tensor, error) {
	if d == graph.String || !d.Valid() || d == graph.Complex64 || d == graph.Complex128 || d == graph.BFloat16 {
		return nil, fmt.Errorf("random %v inputs are not made; give an input file", d)
	}
	t := tensor.New(d, shape...)
	uniform := func() float64 { return 2*r.Float64() - 1 }
	digit := func() int { return r.IntN(10) }
	switch d {
	case graph.Int4, graph.Int2, graph.Uint4, graph.Uint2:
		// Uniform over the type's range.
		span := 1 << d.Bits()
		lo := 0
		if d == graph.Int4 || d == graph.Int2 {
			lo = -span / 2
		}
		digit = func() int { return lo + r.IntN(span) }
	}
	if d.IsSmallFloat() {
		// Uniform in [-1, 1), rounded to the type (float8e8m0, which has
		// no sign, takes the magnitude).
		x := t.Data.([]uint8)
		for i := range x {
			x[i] = graph.SmallFloatBits(d, uniform(), true)
		}
		return t, nil
	}
	switch x := t.Data.(type) {
	case []float32:
		for i := range x {
			x[i] = float32(uniform())
		}
	case []float64:
		for i := range x {
			x[i] = uniform()
		}
	case []uint16:
		for i := range x {
			if d == graph.Float16 {
				x[i] = graph.Float16Bits(float32(uniform()))
			} else {
				x[i] = uint16(digit())
			}
		}
	case []int8:
		fill(x, digit)
	case []int16:
		fill(x, digit)
	case []int32:
		fill(x, digit)
	case []int64:
		fill(x, digit)
	case []uint8:
		fill(x, digit)
	case []uint32:
		fill(x, digit)
	case []uint64:
		fill(x, digit)
	case []bool:
		for i := range x {
			x[i] = r.IntN(2) == 1
		}
	default:
		return nil, fmt.Errorf("random %v inputs are not made; give an input file", d)
	}
	return t, nil
}

func fill[T int8 | int16 | int32 | int64 | uint8 | uint32 | uint64](x []T, next func() int) {
	for i := range x {
		x[i] = T(next())
	}
}
