package graph

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// Builder constructs a Model in Go code. Each method returns the names of
// the values it defines, to pass on to later nodes:
//
//	b := graph.NewBuilder("mlp", graph.OpsetID{Version: 17})
//	x := b.Input("input", graph.Float32, graph.Symbol("N"), graph.Fixed(784))
//	w := b.Param("fc1.weight", graph.Float32, 100, 784)
//	y := b.Node("Gemm", "fc1", []string{x, w}, graph.IntAttr("transB", 1))
//	b.Output(y, nil)
//	m, err := b.Model()
//
// A node's first output is named after the node ("fc1"), its others
// "fc1.1", "fc1.2" and so on. Mistakes (a name defined twice, a
// negative dimension) are remembered and returned by Model together with
// Validate's findings.
type Builder struct {
	m     *Model
	names map[string]bool // value names defined so far
	nodes map[string]bool // node names used so far
	auto  map[string]int  // per op type, the count of generated node names
	errs  []error
}

// NewBuilder starts a model whose main graph is called name and that
// imports opsets; the default domain with an empty Domain.
func NewBuilder(name string, opsets ...OpsetID) *Builder {
	return &Builder{
		m: &Model{
			IRVersion:    irVersionFor(opsets),
			Opsets:       append([]OpsetID(nil), opsets...),
			ProducerName: "onnxkit",
			Graph:        &Graph{Name: name},
		},
		names: make(map[string]bool),
		nodes: make(map[string]bool),
		auto:  make(map[string]int),
	}
}

// irVersionFor picks the IR version that goes with the default-domain
// opset: 13 for opset 25, 12 for 24, 11 for 23, 10 for 21 and 22, 9 for
// 19 and 20, 8 below.
func irVersionFor(opsets []OpsetID) int64 {
	v, _ := opsetVersion(opsets, DefaultDomain)
	switch {
	case v >= 25:
		return 13
	case v >= 24:
		return 12
	case v >= 23:
		return 11
	case v >= 21:
		return 10
	case v >= 19:
		return 9
	}
	return 8
}

func (b *Builder) errorf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("graph builder: "+format, args...))
}

// define records a new value name.
func (b *Builder) define(name string) string {
	if name == "" {
		b.errorf("empty value name")
	} else if b.names[name] {
		b.errorf("value %q defined twice", name)
	}
	b.names[name] = true
	return name
}

// Input declares a graph input of element type d and the given shape, and
// returns its name.
func (b *Builder) Input(name string, d DType, shape ...Dim) string {
	b.m.Graph.Inputs = append(b.m.Graph.Inputs, &Value{Name: name, Type: TensorType(d, append(Shape{}, shape...))})
	return b.define(name)
}

// Initializer adds t to the graph's initializers under name, which it
// writes into t.Name, and returns the name.
func (b *Builder) Initializer(name string, t *Tensor) string {
	if t == nil {
		b.errorf("initializer %q is nil", name)
		return name
	}
	t.Name = name
	b.m.Graph.Initializers = append(b.m.Graph.Initializers, t)
	return b.define(name)
}

// Param adds a zero-filled initializer of element type d and dimensions
// dims, such as a layer's weights before initialisation, and returns its
// name ("conv1.weight").
func (b *Builder) Param(name string, d DType, dims ...int64) string {
	t, err := NewTensor(d, dims...)
	if err != nil {
		b.errorf("parameter %q: %v", name, err)
		return name
	}
	return b.Initializer(name, t)
}

// Node adds a node with one output, named after the node, and returns the
// output's name. An empty name is replaced by the op type and a count
// ("Relu_2"). Empty input names are absent optional inputs.
func (b *Builder) Node(op, name string, inputs []string, attrs ...*Attr) string {
	return b.NodeN(op, name, inputs, 1, attrs...)[0]
}

// NodeN is Node for a node with nout outputs (at least 1).
func (b *Builder) NodeN(op, name string, inputs []string, nout int, attrs ...*Attr) []string {
	if name == "" {
		for name == "" || b.nodes[name] || b.names[name] {
			b.auto[op]++
			name = op + "_" + strconv.Itoa(b.auto[op])
		}
	}
	if b.nodes[name] {
		b.errorf("node %q added twice", name)
	}
	b.nodes[name] = true
	nout = max(nout, 1)
	outs := make([]string, nout)
	for i := range outs {
		outs[i] = name
		if i > 0 {
			outs[i] += "." + strconv.Itoa(i)
		}
		b.define(outs[i])
	}
	b.m.Graph.Nodes = append(b.m.Graph.Nodes, &Node{
		Name:    name,
		OpType:  op,
		Inputs:  append([]string(nil), inputs...),
		Outputs: outs,
		Attrs:   attrs,
	})
	return outs
}

// Output declares the value name a graph output of type t. A nil t is
// filled in by Model from type inference.
func (b *Builder) Output(name string, t *Type) {
	b.m.Graph.Outputs = append(b.m.Graph.Outputs, &Value{Name: name, Type: t})
}

// Model returns the model built so far, after filling in the types of
// outputs declared without one and validating it. The error joins the
// builder's own complaints and Validate's *ValidationError; the model is
// returned even then, for inspection.
func (b *Builder) Model() (*Model, error) {
	errs := append([]error(nil), b.errs...)
	if types, err := InferTypes(b.m); err == nil {
		for _, out := range b.m.Graph.Outputs {
			if out.Type == nil {
				out.Type = types[out.Name]
			}
		}
	}
	if err := Validate(b.m); err != nil {
		errs = append(errs, err)
	}
	return b.m, errors.Join(errs...)
}

// maxNewTensorElements bounds the size NewTensor allocates.
const maxNewTensorElements = 1 << 31

// NewTensor returns a zero-filled tensor of element type d and dimensions
// dims, its Data a slice of the Go type Tensor documents for d. It refuses
// more than 2^31 elements.
func NewTensor(d DType, dims ...int64) (*Tensor, error) {
	n := int64(1)
	for _, v := range dims {
		if v < 0 {
			return nil, fmt.Errorf("negative dimension in %v", dims)
		}
		if v > 0 && n > maxNewTensorElements/v {
			return nil, fmt.Errorf("dimensions %v exceed %d elements", dims, maxNewTensorElements)
		}
		n *= v
	}
	elem := goElemType(d)
	if elem == nil {
		return nil, fmt.Errorf("no Go element type for %s", d)
	}
	return &Tensor{
		DType: d,
		Dims:  append([]int64(nil), dims...),
		Data:  reflect.MakeSlice(reflect.SliceOf(elem), int(n), int(n)).Interface(),
	}, nil
}
