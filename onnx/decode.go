package onnx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/fileio"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// MaxFileSize is the largest model or tensor file that ReadFile,
// ReadTensorFile and ReadValueFile read: protobuf's limit on a message,
// 2 GiB. A larger model keeps its tensors in external data files, which
// have no such limit.
const MaxFileSize = 1<<31 - 1

// ReadFile reads the model in the file at path. Tensors kept in external
// data files are looked up relative to the model's folder. Only a regular
// file of at most MaxFileSize bytes is read: a device, a FIFO or a
// directory is refused before it is opened.
func ReadFile(path string) (*graph.Model, error) {
	data, err := fileio.ReadRegular(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: path, dir: filepath.Dir(path), open: openData}
	return d.decodeBytes(data)
}

// Read reads a model from r. A model whose tensors keep their data in
// external files cannot be read this way: use ReadFile.
func Read(r io.Reader) (*graph.Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Unmarshal(data)
}

// Unmarshal decodes a serialized ModelProto. A model whose tensors keep
// their data in external files gives an UnsupportedError: use ReadFile.
func Unmarshal(data []byte) (*graph.Model, error) {
	d := &decoder{}
	return d.decodeBytes(data)
}

// ReadTensorFile reads a file holding one serialized TensorProto, as the
// input_N.pb and output_N.pb files of the ONNX backend test suite. Like
// ReadFile, it reads only a regular file of at most MaxFileSize bytes.
func ReadTensorFile(path string) (*graph.Tensor, error) {
	data, err := fileio.ReadRegular(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: path, dir: filepath.Dir(path), open: openData}
	return d.decodeTensorBytes(data)
}

// UnmarshalTensor decodes one serialized TensorProto.
func UnmarshalTensor(data []byte) (*graph.Tensor, error) {
	d := &decoder{}
	return d.decodeTensorBytes(data)
}

// openData opens an external data file, already checked to be regular,
// without blocking should it have become a FIFO since.
func openData(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// A decoder converts protobuf messages to the graph IR.
type decoder struct {
	file string // named in errors
	// dir is the folder that external data is read from; "" when the
	// input came from memory and external data cannot be found.
	dir  string
	open func(name string) (*os.File, error)
	// irVersion decides whether an attribute may leave its type unset.
	irVersion int64
}

func (d *decoder) decodeBytes(data []byte) (*graph.Model, error) {
	var p onnxpb.ModelProto
	if err := proto.Unmarshal(data, &p); err != nil {
		return nil, &FormatError{File: d.file, Msg: "not a valid ModelProto", Err: err}
	}
	if err := checkUnknown(p.ProtoReflect()); err != nil {
		return nil, locate(err, d.file, "", "", "")
	}
	m, err := d.model(&p)
	if err != nil {
		return nil, locate(err, d.file, "", "", "")
	}
	return m, nil
}

func (d *decoder) decodeTensorBytes(data []byte) (*graph.Tensor, error) {
	var p onnxpb.TensorProto
	if err := proto.Unmarshal(data, &p); err != nil {
		return nil, &FormatError{File: d.file, Msg: "not a valid TensorProto", Err: err}
	}
	if err := checkUnknown(p.ProtoReflect()); err != nil {
		return nil, locate(err, d.file, "", "", "")
	}
	t, err := d.tensor(&p)
	if err != nil {
		return nil, locate(err, d.file, "", "", "")
	}
	return t, nil
}

func (d *decoder) model(p *onnxpb.ModelProto) (*graph.Model, error) {
	d.irVersion = p.GetIrVersion()
	m := &graph.Model{
		IRVersion:       p.GetIrVersion(),
		Opsets:          opsets(p.GetOpsetImport()),
		ProducerName:    p.GetProducerName(),
		ProducerVersion: p.GetProducerVersion(),
		Domain:          p.GetDomain(),
		ModelVersion:    p.GetModelVersion(),
		DocString:       p.GetDocString(),
		Metadata:        pairs(p.GetMetadataProps()),
	}
	if p.Graph != nil {
		g, err := d.graph(p.Graph)
		if err != nil {
			return nil, err
		}
		m.Graph = g
	}
	for _, fp := range p.GetFunctions() {
		f, err := d.function(fp)
		if err != nil {
			return nil, within(err, fmt.Sprintf("function %q", fp.GetName()))
		}
		m.Functions = append(m.Functions, f)
	}
	for i, tp := range p.GetTrainingInfo() {
		ti, err := d.trainingInfo(tp)
		if err != nil {
			return nil, within(err, fmt.Sprintf("training_info[%d]", i))
		}
		m.TrainingInfo = append(m.TrainingInfo, ti)
	}
	return m, nil
}

func opsets(ps []*onnxpb.OperatorSetIdProto) []graph.OpsetID {
	var out []graph.OpsetID
	for _, o := range ps {
		out = append(out, graph.OpsetID{Domain: o.GetDomain(), Version: o.GetVersion()})
	}
	return out
}

func pairs(ps []*onnxpb.StringStringEntryProto) []graph.StringPair {
	var out []graph.StringPair
	for _, e := range ps {
		out = append(out, graph.StringPair{Key: e.GetKey(), Value: e.GetValue()})
	}
	return out
}

func (d *decoder) trainingInfo(p *onnxpb.TrainingInfoProto) (*graph.TrainingInfo, error) {
	ti := &graph.TrainingInfo{
		InitializationBinding: pairs(p.GetInitializationBinding()),
		UpdateBinding:         pairs(p.GetUpdateBinding()),
	}
	var err error
	if p.Initialization != nil {
		if ti.Initialization, err = d.graph(p.Initialization); err != nil {
			return nil, within(err, "initialization")
		}
	}
	if p.Algorithm != nil {
		if ti.Algorithm, err = d.graph(p.Algorithm); err != nil {
			return nil, within(err, "algorithm")
		}
	}
	return ti, nil
}

func (d *decoder) graph(p *onnxpb.GraphProto) (*graph.Graph, error) {
	g := &graph.Graph{
		Name:      p.GetName(),
		DocString: p.GetDocString(),
		Metadata:  pairs(p.GetMetadataProps()),
	}
	var err error
	if g.Inputs, err = d.values(p.GetInput(), "input"); err != nil {
		return nil, err
	}
	if g.Outputs, err = d.values(p.GetOutput(), "output"); err != nil {
		return nil, err
	}
	if g.ValueInfo, err = d.values(p.GetValueInfo(), "value_info"); err != nil {
		return nil, err
	}
	for _, tp := range p.GetInitializer() {
		t, err := d.tensor(tp)
		if err != nil {
			return nil, within(err, fmt.Sprintf("initializer %q", tp.GetName()))
		}
		g.Initializers = append(g.Initializers, t)
	}
	for i, sp := range p.GetSparseInitializer() {
		s, err := d.sparse(sp)
		if err != nil {
			return nil, within(err, fmt.Sprintf("sparse_initializer[%d]", i))
		}
		g.SparseInitializers = append(g.SparseInitializers, s)
	}
	for _, np := range p.GetNode() {
		n, err := d.node(np)
		if err != nil {
			return nil, err
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, qa := range p.GetQuantizationAnnotation() {
		g.QuantizationAnnotations = append(g.QuantizationAnnotations, graph.QuantizationAnnotation{
			TensorName: qa.GetTensorName(),
			Parameters: pairs(qa.GetQuantParameterTensorNames()),
		})
	}
	return g, nil
}

func (d *decoder) values(ps []*onnxpb.ValueInfoProto, what string) ([]*graph.Value, error) {
	var out []*graph.Value
	for _, p := range ps {
		v := &graph.Value{Name: p.GetName(), DocString: p.GetDocString(), Metadata: pairs(p.GetMetadataProps())}
		if p.Type != nil {
			t, err := d.typ(p.Type)
			if err != nil {
				return nil, within(err, fmt.Sprintf("%s %q", what, p.GetName()))
			}
			v.Type = t
		}
		out = append(out, v)
	}
	return out, nil
}

func (d *decoder) typ(p *onnxpb.TypeProto) (*graph.Type, error) {
	t := &graph.Type{Denotation: p.GetDenotation()}
	var err error
	switch v := p.Value.(type) {
	case nil:
		t.Kind = graph.UnknownKind
	case *onnxpb.TypeProto_TensorType:
		t.Kind = graph.TensorKind
		if t.DType, err = typeDType(v.TensorType.GetElemType()); err != nil {
			return nil, err
		}
		if t.Shape, err = shape(v.TensorType.GetShape()); err != nil {
			return nil, err
		}
	case *onnxpb.TypeProto_SparseTensorType:
		t.Kind = graph.SparseTensorKind
		if t.DType, err = typeDType(v.SparseTensorType.GetElemType()); err != nil {
			return nil, err
		}
		if t.Shape, err = shape(v.SparseTensorType.GetShape()); err != nil {
			return nil, err
		}
	case *onnxpb.TypeProto_SequenceType:
		t.Kind = graph.SequenceKind
		if e := v.SequenceType.GetElemType(); e != nil {
			if t.Elem, err = d.typ(e); err != nil {
				return nil, err
			}
		}
	case *onnxpb.TypeProto_OptionalType:
		t.Kind = graph.OptionalKind
		if e := v.OptionalType.GetElemType(); e != nil {
			if t.Elem, err = d.typ(e); err != nil {
				return nil, err
			}
		}
	case *onnxpb.TypeProto_MapType:
		t.Kind = graph.MapKind
		if t.Key, err = typeDType(v.MapType.GetKeyType()); err != nil {
			return nil, err
		}
		if e := v.MapType.GetValueType(); e != nil {
			if t.Elem, err = d.typ(e); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// typeDType converts the element type of a TypeProto, where 0 means the
// type is not known.
func typeDType(n int32) (graph.DType, error) {
	if n == 0 {
		return graph.Undefined, nil
	}
	return tensorDType(n)
}

// tensorDType converts the data type of a tensor, which must be set.
func tensorDType(n int32) (graph.DType, error) {
	dt := graph.DType(n)
	switch {
	case dt.Valid():
		return dt, nil
	case n == 0:
		return 0, formatErr("tensor has no data type")
	case n > 0:
		return 0, &UnsupportedError{Msg: fmt.Sprintf("unknown data type %d (newer than ONNX IR version 13?)", n)}
	}
	return 0, formatErr("unknown data type %d", n)
}

// shape converts a TypeProto shape; nil stays nil (rank unknown) and an
// empty shape becomes a non-nil empty Shape (a scalar).
func shape(p *onnxpb.TensorShapeProto) (graph.Shape, error) {
	if p == nil {
		return nil, nil
	}
	s := make(graph.Shape, 0, len(p.GetDim()))
	for i, dp := range p.GetDim() {
		dim := graph.UnknownDim()
		switch v := dp.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			if v.DimValue < 0 {
				return nil, formatErr("dimension %d is negative (%d)", i, v.DimValue)
			}
			dim.Size = v.DimValue
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			dim.Param = v.DimParam
		}
		dim.Denotation = dp.GetDenotation()
		s = append(s, dim)
	}
	return s, nil
}

func (d *decoder) node(p *onnxpb.NodeProto) (*graph.Node, error) {
	n := &graph.Node{
		Name:      p.GetName(),
		OpType:    p.GetOpType(),
		Domain:    p.GetDomain(),
		Overload:  p.GetOverload(),
		Inputs:    p.GetInput(),
		Outputs:   p.GetOutput(),
		DocString: p.GetDocString(),
		Metadata:  pairs(p.GetMetadataProps()),
	}
	for _, ap := range p.GetAttribute() {
		a, err := d.attr(ap)
		if err != nil {
			return nil, locate(err, "", n.Name, n.OpType, ap.GetName())
		}
		n.Attrs = append(n.Attrs, a)
	}
	return n, nil
}

// presentKinds lists the attribute kinds whose value field is set in p.
func presentKinds(p *onnxpb.AttributeProto) []graph.AttrKind {
	var ks []graph.AttrKind
	add := func(set bool, k graph.AttrKind) {
		if set {
			ks = append(ks, k)
		}
	}
	add(p.F != nil, graph.AttrFloat)
	add(p.I != nil, graph.AttrInt)
	add(p.S != nil, graph.AttrString)
	add(p.T != nil, graph.AttrTensor)
	add(p.G != nil, graph.AttrGraph)
	add(len(p.Floats) > 0, graph.AttrFloats)
	add(len(p.Ints) > 0, graph.AttrInts)
	add(len(p.Strings) > 0, graph.AttrStrings)
	add(len(p.Tensors) > 0, graph.AttrTensors)
	add(len(p.Graphs) > 0, graph.AttrGraphs)
	add(p.SparseTensor != nil, graph.AttrSparseTensor)
	add(len(p.SparseTensors) > 0, graph.AttrSparseTensors)
	add(p.Tp != nil, graph.AttrType)
	add(len(p.TypeProtos) > 0, graph.AttrTypes)
	return ks
}

func (d *decoder) attr(p *onnxpb.AttributeProto) (*graph.Attr, error) {
	kind := graph.AttrKind(p.GetType())
	present := presentKinds(p)
	if kind == graph.AttrUndefined {
		// IR version 1 had no type field: the set field says the type.
		if d.irVersion >= 2 {
			return nil, formatErr("attribute has no type")
		}
		if len(present) != 1 {
			return nil, formatErr("attribute has no type and %d value fields set, so its type cannot be inferred", len(present))
		}
		kind = present[0]
	}
	if kind < graph.AttrFloat || kind > graph.AttrTypes {
		return nil, formatErr("unknown attribute type %d", int32(kind))
	}
	for _, k := range present {
		if k != kind {
			return nil, formatErr("attribute type is %v but its %v field is set", kind, k)
		}
	}
	a := &graph.Attr{Name: p.GetName(), Kind: kind, RefAttrName: p.GetRefAttrName(), DocString: p.GetDocString()}
	if a.RefAttrName != "" {
		// The value comes from the calling node.
		if len(present) > 0 {
			return nil, formatErr("attribute refers to the caller's %q but also has a value", a.RefAttrName)
		}
		return a, nil
	}
	var err error
	switch kind {
	case graph.AttrFloat:
		a.Float = p.GetF()
	case graph.AttrInt:
		a.Int = p.GetI()
	case graph.AttrString:
		a.String = string(p.GetS())
	case graph.AttrFloats:
		a.Floats = p.GetFloats()
	case graph.AttrInts:
		a.Ints = p.GetInts()
	case graph.AttrStrings:
		for _, s := range p.GetStrings() {
			a.Strings = append(a.Strings, string(s))
		}
	case graph.AttrTensor:
		if p.T == nil {
			return nil, formatErr("tensor attribute has no tensor")
		}
		if a.Tensor, err = d.tensor(p.T); err != nil {
			return nil, err
		}
	case graph.AttrTensors:
		for i, tp := range p.GetTensors() {
			t, err := d.tensor(tp)
			if err != nil {
				return nil, within(err, fmt.Sprintf("tensor %d", i))
			}
			a.Tensors = append(a.Tensors, t)
		}
	case graph.AttrGraph:
		if p.G == nil {
			return nil, formatErr("graph attribute has no graph")
		}
		if a.Graph, err = d.graph(p.G); err != nil {
			return nil, err
		}
	case graph.AttrGraphs:
		for _, gp := range p.GetGraphs() {
			g, err := d.graph(gp)
			if err != nil {
				return nil, err
			}
			a.Graphs = append(a.Graphs, g)
		}
	case graph.AttrSparseTensor:
		if p.SparseTensor == nil {
			return nil, formatErr("sparse tensor attribute has no sparse tensor")
		}
		if a.SparseTensor, err = d.sparse(p.SparseTensor); err != nil {
			return nil, err
		}
	case graph.AttrSparseTensors:
		for _, sp := range p.GetSparseTensors() {
			s, err := d.sparse(sp)
			if err != nil {
				return nil, err
			}
			a.SparseTensors = append(a.SparseTensors, s)
		}
	case graph.AttrType:
		if p.Tp == nil {
			return nil, formatErr("type attribute has no type")
		}
		if a.Type, err = d.typ(p.Tp); err != nil {
			return nil, err
		}
	case graph.AttrTypes:
		for _, tp := range p.GetTypeProtos() {
			t, err := d.typ(tp)
			if err != nil {
				return nil, err
			}
			a.Types = append(a.Types, t)
		}
	}
	return a, nil
}

func (d *decoder) function(p *onnxpb.FunctionProto) (*graph.Function, error) {
	f := &graph.Function{
		Name:      p.GetName(),
		Domain:    p.GetDomain(),
		Overload:  p.GetOverload(),
		Inputs:    p.GetInput(),
		Outputs:   p.GetOutput(),
		Attrs:     p.GetAttribute(),
		DocString: p.GetDocString(),
		Opsets:    opsets(p.GetOpsetImport()),
		Metadata:  pairs(p.GetMetadataProps()),
	}
	for _, ap := range p.GetAttributeProto() {
		a, err := d.attr(ap)
		if err != nil {
			return nil, locate(err, "", "", "", ap.GetName())
		}
		f.AttrDefaults = append(f.AttrDefaults, a)
	}
	for _, np := range p.GetNode() {
		n, err := d.node(np)
		if err != nil {
			return nil, err
		}
		f.Nodes = append(f.Nodes, n)
	}
	var err error
	if f.ValueInfo, err = d.values(p.GetValueInfo(), "value_info"); err != nil {
		return nil, err
	}
	return f, nil
}

func (d *decoder) sparse(p *onnxpb.SparseTensorProto) (*graph.SparseTensor, error) {
	if _, err := numElements(p.GetDims()); err != nil {
		return nil, err
	}
	if p.Values == nil || p.Indices == nil {
		return nil, formatErr("sparse tensor lacks its values or its indices")
	}
	values, err := d.tensor(p.Values)
	if err != nil {
		return nil, within(err, "sparse values")
	}
	indices, err := d.tensor(p.Indices)
	if err != nil {
		return nil, within(err, "sparse indices")
	}
	if len(values.Dims) != 1 {
		return nil, formatErr("sparse values have shape %v, want [NNZ]", values.Dims)
	}
	nnz, rank := values.Dims[0], int64(len(p.GetDims()))
	if indices.DType != graph.Int64 ||
		!(len(indices.Dims) == 1 && indices.Dims[0] == nnz ||
			len(indices.Dims) == 2 && indices.Dims[0] == nnz && indices.Dims[1] == rank) {
		return nil, formatErr("sparse indices are %v%v, want int64[%d] or int64[%d,%d]", indices.DType, indices.Dims, nnz, nnz, rank)
	}
	return &graph.SparseTensor{Values: values, Indices: indices, Dims: p.GetDims()}, nil
}

// checkUnknown reports a field that protobuf set aside as unknown although
// the schema has its number: a value of the wrong wire type, or a value
// outside a closed enum. Fields of numbers the schema lacks, from newer
// versions of ONNX, are ignored.
func checkUnknown(m protoreflect.Message) error {
	fields := m.Descriptor().Fields()
	for u := m.GetUnknown(); len(u) > 0; {
		num, typ, n := protowire.ConsumeTag(u)
		if n < 0 {
			return formatErr("%s: malformed unknown field", m.Descriptor().Name())
		}
		if fd := fields.ByNumber(num); fd != nil {
			return formatErr("field %s.%s has the wrong wire type (%d) or an invalid value", m.Descriptor().Name(), fd.Name(), typ)
		}
		m := protowire.ConsumeFieldValue(num, typ, u[n:])
		if m < 0 {
			return formatErr("malformed unknown field %d", num)
		}
		u = u[n+m:]
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len() && err == nil; i++ {
				err = checkUnknown(v.List().Get(i).Message())
			}
		default:
			err = checkUnknown(v.Message())
		}
		return err == nil
	})
	return err
}
