package main

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/preprocess"
)

// imagePreprocessing combines, for input v, the model's metadata with the
// flags, which win; what neither gives comes from v's declared shape (the
// crop size), or is the identity (see preprocess.Spec.Complete).
func imagePreprocessing(o *options, m *graph.Model, v *graph.Value) (*preprocess.Spec, error) {
	p, _, err := preprocess.FromMetadata(m)
	if err != nil {
		return nil, err
	}
	if o.size > 0 {
		p.InputSize = o.size
	}
	if o.resize > 0 {
		p.Resize = o.resize
	}
	if o.mean != nil {
		p.Mean = o.mean
	}
	if o.std != nil {
		p.Std = o.std
	}
	p.Complete(v)
	if v.Type != nil && v.Type.Kind == graph.TensorKind && v.Type.DType != graph.Float32 {
		return nil, fmt.Errorf("image inputs are float32; the model declares %v", v.Type)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w (flags --size, --resize, --mean and --std override the metadata)", err)
	}
	return &p, nil
}
