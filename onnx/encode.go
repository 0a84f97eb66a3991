package onnx

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// maxProtoSize is the largest message protobuf can serialize: 2 GiB - 1.
const maxProtoSize = math.MaxInt32

// Marshal serializes m as a ModelProto. Tensors are written as raw_data,
// strings as string_data. A model whose serialization would pass
// protobuf's 2 GiB limit gives an error: WriteFile can move its
// initializers to an external data file.
func Marshal(m *graph.Model) ([]byte, error) {
	p, err := encodeModel(m, nil)
	if err != nil {
		return nil, err
	}
	return marshalLimited(p)
}

// Write writes m to w as Marshal serializes it.
func Write(w io.Writer, m *graph.Model) error {
	data, err := Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// MarshalTensor serializes t as a TensorProto.
func MarshalTensor(t *graph.Tensor) ([]byte, error) {
	p, err := encodeTensor(t, nil)
	if err != nil {
		return nil, err
	}
	return marshalLimited(p)
}

func marshalLimited(p proto.Message) ([]byte, error) {
	opts := proto.MarshalOptions{Deterministic: true}
	if size := opts.Size(p); size > maxProtoSize {
		return nil, &UnsupportedError{Msg: fmt.Sprintf("serialized message is %d bytes, past protobuf's 2 GiB limit (WriteFile moves initializers to an external data file)", size)}
	}
	return opts.Marshal(p)
}

// encoder holds the external data placement of initializers, if any.
type encoder struct {
	external map[*graph.Tensor]externalRef
}

func encodeModel(m *graph.Model, external map[*graph.Tensor]externalRef) (*onnxpb.ModelProto, error) {
	if m == nil {
		return nil, formatErr("nil model")
	}
	e := &encoder{external: external}
	p := &onnxpb.ModelProto{
		IrVersion:       optInt(m.IRVersion),
		OpsetImport:     encodeOpsets(m.Opsets),
		ProducerName:    optString(m.ProducerName),
		ProducerVersion: optString(m.ProducerVersion),
		Domain:          optString(m.Domain),
		ModelVersion:    optInt(m.ModelVersion),
		DocString:       optString(m.DocString),
		MetadataProps:   encodePairs(m.Metadata),
	}
	if m.Graph != nil {
		g, err := e.graph(m.Graph)
		if err != nil {
			return nil, err
		}
		p.Graph = g
	}
	for _, f := range m.Functions {
		fp, err := e.function(f)
		if err != nil {
			return nil, err
		}
		p.Functions = append(p.Functions, fp)
	}
	for i, ti := range m.TrainingInfo {
		tp, err := e.trainingInfo(ti)
		if err != nil {
			return nil, within(err, fmt.Sprintf("training_info[%d]", i))
		}
		p.TrainingInfo = append(p.TrainingInfo, tp)
	}
	return p, nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optInt(i int64) *int64 {
	if i == 0 {
		return nil
	}
	return &i
}

func encodeOpsets(ids []graph.OpsetID) []*onnxpb.OperatorSetIdProto {
	var out []*onnxpb.OperatorSetIdProto
	for _, o := range ids {
		out = append(out, &onnxpb.OperatorSetIdProto{Domain: optString(o.Domain), Version: proto.Int64(o.Version)})
	}
	return out
}

func encodePairs(ps []graph.StringPair) []*onnxpb.StringStringEntryProto {
	var out []*onnxpb.StringStringEntryProto
	for _, kv := range ps {
		out = append(out, &onnxpb.StringStringEntryProto{Key: optString(kv.Key), Value: optString(kv.Value)})
	}
	return out
}

func (e *encoder) trainingInfo(ti *graph.TrainingInfo) (*onnxpb.TrainingInfoProto, error) {
	if ti == nil {
		return nil, formatErr("nil training info")
	}
	p := &onnxpb.TrainingInfoProto{
		InitializationBinding: encodePairs(ti.InitializationBinding),
		UpdateBinding:         encodePairs(ti.UpdateBinding),
	}
	var err error
	if ti.Initialization != nil {
		if p.Initialization, err = e.graph(ti.Initialization); err != nil {
			return nil, within(err, "initialization")
		}
	}
	if ti.Algorithm != nil {
		if p.Algorithm, err = e.graph(ti.Algorithm); err != nil {
			return nil, within(err, "algorithm")
		}
	}
	return p, nil
}

func (e *encoder) graph(g *graph.Graph) (*onnxpb.GraphProto, error) {
	p := &onnxpb.GraphProto{
		Name:          optString(g.Name),
		DocString:     optString(g.DocString),
		MetadataProps: encodePairs(g.Metadata),
	}
	var err error
	if p.Input, err = encodeValues(g.Inputs, "input"); err != nil {
		return nil, err
	}
	if p.Output, err = encodeValues(g.Outputs, "output"); err != nil {
		return nil, err
	}
	if p.ValueInfo, err = encodeValues(g.ValueInfo, "value_info"); err != nil {
		return nil, err
	}
	for i, t := range g.Initializers {
		tp, err := encodeTensor(t, e.external)
		if err != nil {
			return nil, within(err, fmt.Sprintf("initializer %d", i))
		}
		p.Initializer = append(p.Initializer, tp)
	}
	for i, s := range g.SparseInitializers {
		sp, err := encodeSparse(s)
		if err != nil {
			return nil, within(err, fmt.Sprintf("sparse_initializer[%d]", i))
		}
		p.SparseInitializer = append(p.SparseInitializer, sp)
	}
	for _, n := range g.Nodes {
		np, err := e.node(n)
		if err != nil {
			return nil, err
		}
		p.Node = append(p.Node, np)
	}
	for _, qa := range g.QuantizationAnnotations {
		p.QuantizationAnnotation = append(p.QuantizationAnnotation, &onnxpb.TensorAnnotation{
			TensorName:                optString(qa.TensorName),
			QuantParameterTensorNames: encodePairs(qa.Parameters),
		})
	}
	return p, nil
}

func encodeValues(vs []*graph.Value, what string) ([]*onnxpb.ValueInfoProto, error) {
	var out []*onnxpb.ValueInfoProto
	for i, v := range vs {
		if v == nil {
			return nil, formatErr("%s %d is nil", what, i)
		}
		p := &onnxpb.ValueInfoProto{Name: optString(v.Name), DocString: optString(v.DocString), MetadataProps: encodePairs(v.Metadata)}
		if v.Type != nil {
			t, err := encodeType(v.Type)
			if err != nil {
				return nil, within(err, fmt.Sprintf("%s %q", what, v.Name))
			}
			p.Type = t
		}
		out = append(out, p)
	}
	return out, nil
}

func encodeType(t *graph.Type) (*onnxpb.TypeProto, error) {
	p := &onnxpb.TypeProto{Denotation: optString(t.Denotation)}
	elem := func() (*onnxpb.TypeProto, error) {
		if t.Elem == nil {
			return nil, nil
		}
		return encodeType(t.Elem)
	}
	switch t.Kind {
	case graph.UnknownKind:
	case graph.TensorKind:
		tt := &onnxpb.TypeProto_Tensor{ElemType: optDType(t.DType), Shape: encodeShape(t.Shape)}
		p.Value = &onnxpb.TypeProto_TensorType{TensorType: tt}
	case graph.SparseTensorKind:
		st := &onnxpb.TypeProto_SparseTensor{ElemType: optDType(t.DType), Shape: encodeShape(t.Shape)}
		p.Value = &onnxpb.TypeProto_SparseTensorType{SparseTensorType: st}
	case graph.SequenceKind:
		e, err := elem()
		if err != nil {
			return nil, err
		}
		p.Value = &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{ElemType: e}}
	case graph.OptionalKind:
		e, err := elem()
		if err != nil {
			return nil, err
		}
		p.Value = &onnxpb.TypeProto_OptionalType{OptionalType: &onnxpb.TypeProto_Optional{ElemType: e}}
	case graph.MapKind:
		e, err := elem()
		if err != nil {
			return nil, err
		}
		p.Value = &onnxpb.TypeProto_MapType{MapType: &onnxpb.TypeProto_Map{KeyType: optDType(t.Key), ValueType: e}}
	default:
		return nil, formatErr("unknown type kind %d", t.Kind)
	}
	return p, nil
}

func optDType(dt graph.DType) *int32 {
	if dt == graph.Undefined {
		return nil
	}
	return proto.Int32(int32(dt))
}

func encodeShape(s graph.Shape) *onnxpb.TensorShapeProto {
	if s == nil {
		return nil
	}
	p := &onnxpb.TensorShapeProto{}
	for _, d := range s {
		dp := &onnxpb.TensorShapeProto_Dimension{Denotation: optString(d.Denotation)}
		switch {
		case d.Known():
			dp.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Size}
		case d.Param != "":
			dp.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		}
		p.Dim = append(p.Dim, dp)
	}
	return p
}

func (e *encoder) node(n *graph.Node) (*onnxpb.NodeProto, error) {
	if n == nil {
		return nil, formatErr("nil node")
	}
	p := &onnxpb.NodeProto{
		Input:         n.Inputs,
		Output:        n.Outputs,
		Name:          optString(n.Name),
		OpType:        optString(n.OpType),
		Domain:        optString(n.Domain),
		Overload:      optString(n.Overload),
		DocString:     optString(n.DocString),
		MetadataProps: encodePairs(n.Metadata),
	}
	for _, a := range n.Attrs {
		ap, err := e.attr(a)
		if err != nil {
			name := ""
			if a != nil {
				name = a.Name
			}
			return nil, locate(err, "", n.Name, n.OpType, name)
		}
		p.Attribute = append(p.Attribute, ap)
	}
	return p, nil
}

func (e *encoder) attr(a *graph.Attr) (*onnxpb.AttributeProto, error) {
	if a == nil {
		return nil, formatErr("nil attribute")
	}
	p := &onnxpb.AttributeProto{
		Name:        proto.String(a.Name),
		RefAttrName: optString(a.RefAttrName),
		DocString:   optString(a.DocString),
		Type:        onnxpb.AttributeProto_AttributeType(a.Kind).Enum(),
	}
	if a.Kind < graph.AttrFloat || a.Kind > graph.AttrTypes {
		return nil, formatErr("unknown attribute kind %d", int32(a.Kind))
	}
	if a.RefAttrName != "" {
		return p, nil // the value comes from the calling node
	}
	var err error
	switch a.Kind {
	case graph.AttrFloat:
		p.F = proto.Float32(a.Float)
	case graph.AttrInt:
		p.I = proto.Int64(a.Int)
	case graph.AttrString:
		p.S = []byte(a.String)
	case graph.AttrFloats:
		p.Floats = a.Floats
	case graph.AttrInts:
		p.Ints = a.Ints
	case graph.AttrStrings:
		for _, s := range a.Strings {
			p.Strings = append(p.Strings, []byte(s))
		}
	case graph.AttrTensor:
		if a.Tensor == nil {
			return nil, formatErr("tensor attribute has no tensor")
		}
		if p.T, err = encodeTensor(a.Tensor, nil); err != nil {
			return nil, err
		}
	case graph.AttrTensors:
		for i, t := range a.Tensors {
			tp, err := encodeTensor(t, nil)
			if err != nil {
				return nil, within(err, fmt.Sprintf("tensor %d", i))
			}
			p.Tensors = append(p.Tensors, tp)
		}
	case graph.AttrGraph:
		if a.Graph == nil {
			return nil, formatErr("graph attribute has no graph")
		}
		if p.G, err = e.graph(a.Graph); err != nil {
			return nil, err
		}
	case graph.AttrGraphs:
		for _, g := range a.Graphs {
			if g == nil {
				return nil, formatErr("nil graph")
			}
			gp, err := e.graph(g)
			if err != nil {
				return nil, err
			}
			p.Graphs = append(p.Graphs, gp)
		}
	case graph.AttrSparseTensor:
		if a.SparseTensor == nil {
			return nil, formatErr("sparse tensor attribute has no sparse tensor")
		}
		if p.SparseTensor, err = encodeSparse(a.SparseTensor); err != nil {
			return nil, err
		}
	case graph.AttrSparseTensors:
		for _, s := range a.SparseTensors {
			sp, err := encodeSparse(s)
			if err != nil {
				return nil, err
			}
			p.SparseTensors = append(p.SparseTensors, sp)
		}
	case graph.AttrType:
		if a.Type == nil {
			return nil, formatErr("type attribute has no type")
		}
		if p.Tp, err = encodeType(a.Type); err != nil {
			return nil, err
		}
	case graph.AttrTypes:
		for _, t := range a.Types {
			if t == nil {
				return nil, formatErr("nil type")
			}
			tp, err := encodeType(t)
			if err != nil {
				return nil, err
			}
			p.TypeProtos = append(p.TypeProtos, tp)
		}
	}
	return p, nil
}

func (e *encoder) function(f *graph.Function) (*onnxpb.FunctionProto, error) {
	if f == nil {
		return nil, formatErr("nil function")
	}
	p := &onnxpb.FunctionProto{
		Name:          optString(f.Name),
		Input:         f.Inputs,
		Output:        f.Outputs,
		Attribute:     f.Attrs,
		DocString:     optString(f.DocString),
		OpsetImport:   encodeOpsets(f.Opsets),
		Domain:        optString(f.Domain),
		Overload:      optString(f.Overload),
		MetadataProps: encodePairs(f.Metadata),
	}
	fail := func(err error) error { return within(err, fmt.Sprintf("function %q", f.Name)) }
	for _, a := range f.AttrDefaults {
		ap, err := e.attr(a)
		if err != nil {
			return nil, fail(err)
		}
		p.AttributeProto = append(p.AttributeProto, ap)
	}
	for _, n := range f.Nodes {
		np, err := e.node(n)
		if err != nil {
			return nil, fail(err)
		}
		p.Node = append(p.Node, np)
	}
	var err error
	if p.ValueInfo, err = encodeValues(f.ValueInfo, "value_info"); err != nil {
		return nil, fail(err)
	}
	return p, nil
}

func encodeSparse(s *graph.SparseTensor) (*onnxpb.SparseTensorProto, error) {
	if s == nil || s.Values == nil || s.Indices == nil {
		return nil, formatErr("sparse tensor lacks its values or its indices")
	}
	values, err := encodeTensor(s.Values, nil)
	if err != nil {
		return nil, within(err, "sparse values")
	}
	indices, err := encodeTensor(s.Indices, nil)
	if err != nil {
		return nil, within(err, "sparse indices")
	}
	return &onnxpb.SparseTensorProto{Values: values, Indices: indices, Dims: s.Dims}, nil
}

// encodeTensor converts t, with its data in raw_data, in string_data for
// strings, or in an external file when external places it there.
func encodeTensor(t *graph.Tensor, external map[*graph.Tensor]externalRef) (*onnxpb.TensorProto, error) {
	if t == nil {
		return nil, formatErr("nil tensor")
	}
	if !t.DType.Valid() {
		return nil, formatErr("tensor %q has data type %v", t.Name, t.DType)
	}
	p := &onnxpb.TensorProto{
		Dims:          t.Dims,
		DataType:      proto.Int32(int32(t.DType)),
		Name:          optString(t.Name),
		DocString:     optString(t.DocString),
		MetadataProps: encodePairs(t.Metadata),
	}
	if ref, ok := external[t]; ok {
		p.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		p.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String(keyLocation), Value: proto.String(ref.location)},
			{Key: proto.String(keyOffset), Value: proto.String(fmt.Sprint(ref.offset))},
			{Key: proto.String(keyLength), Value: proto.String(fmt.Sprint(ref.length))},
		}
		return p, nil
	}
	if t.DType == graph.String {
		s, err := tensorData[string](t)
		if err != nil {
			return nil, err
		}
		p.StringData = make([][]byte, len(s))
		for i, v := range s {
			p.StringData[i] = []byte(v)
		}
		return p, nil
	}
	raw, err := tensorBytes(t)
	if err != nil {
		return nil, err
	}
	p.RawData = raw
	return p, nil
}

// WriteOptions says how WriteFile lays out a model.
type WriteOptions struct {
	// ExternalDataThreshold moves every initializer whose data takes at
	// least this many bytes to the external data file. 0 keeps them all
	// inline, unless the model would otherwise pass protobuf's 2 GiB
	// limit: then the largest initializers move out until it fits.
	ExternalDataThreshold int64
	// ExternalDataFile is the external data file's path relative to the
	// model's folder; "" means the model file's base name + ".data".
	ExternalDataFile string
}

// WriteFile writes m to the file at path, replacing it atomically: the
// data goes to a temporary file in the same folder, which is synced and
// then renamed over path, so that a failure leaves the old file, if any,
// untouched and nothing behind. The external data file, when initializers
// move out of the model, is written the same way and offsets in it are
// aligned to 4096 bytes. opts may be nil.
func WriteFile(path string, m *graph.Model, opts *WriteOptions) error {
	return writeFile(path, m, opts, maxProtoSize)
}

// WriteTensorFile writes t as a serialized TensorProto to the file at
// path, atomically as WriteFile does.
func WriteTensorFile(path string, t *graph.Tensor) error {
	data, err := MarshalTensor(t)
	if err != nil {
		return err
	}
	return writeAtomic(path, data)
}

// writeFile is WriteFile with the size limit, above which initializers
// must move out, as a parameter.
func writeFile(path string, m *graph.Model, opts *WriteOptions, limit int64) error {
	if m == nil {
		return formatErr("nil model")
	}
	var o WriteOptions
	if opts != nil {
		o = *opts
	}
	if o.ExternalDataFile == "" {
		o.ExternalDataFile = filepath.Base(path) + ".data"
	}
	if err := checkLocation(o.ExternalDataFile); err != nil {
		return err
	}
	if filepath.Clean(filepath.FromSlash(o.ExternalDataFile)) == filepath.Base(path) {
		return formatErr("external data file %q is the model file itself", o.ExternalDataFile)
	}
	p, moved, err := planExternal(m, o, limit)
	if err != nil {
		return err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return err
	}
	if len(moved) == 0 {
		return writeAtomic(path, data)
	}
	side, err := createAtomic(filepath.Join(filepath.Dir(path), filepath.FromSlash(o.ExternalDataFile)))
	if err != nil {
		return err
	}
	if err := writeExternal(side, moved); err != nil {
		side.abort()
		return err
	}
	model, err := createAtomic(path)
	if err != nil {
		side.abort()
		return err
	}
	_, err = model.Write(data)
	if err == nil {
		err = model.flush()
	}
	if err == nil {
		err = side.commit()
	}
	if err != nil {
		side.abort()
		model.abort()
		return err
	}
	if err := model.commit(); err != nil {
		model.abort()
		os.Remove(side.final)
		return err
	}
	return syncDir(filepath.Dir(path))
}
