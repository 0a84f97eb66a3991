package graph

// DefaultDomain is the operator-set domain of the standard ONNX operators,
// written as the empty string in a model.
const DefaultDomain = ""

// TrainingDomain is the domain of the ONNX training operators (Adam,
// Momentum, Adagrad, Gradient).
const TrainingDomain = "ai.onnx.preview.training"

// Model is a whole ONNX model: the main graph, the operator sets it
// imports, model-local functions and descriptive metadata.
type Model struct {
	IRVersion       int64
	Opsets          []OpsetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
	// Metadata holds the model's metadata_props in file order.
	Metadata     []StringPair
	Functions    []*Function
	TrainingInfo []*TrainingInfo
}

// OpsetID names an operator set and its version.
type OpsetID struct {
	Domain  string
	Version int64
}

// OpsetVersion returns the version of domain that m imports, with "ai.onnx"
// read as the default domain, and false when m does not import it.
func (m *Model) OpsetVersion(domain string) (int64, bool) {
	return opsetVersion(m.Opsets, domain)
}

func opsetVersion(opsets []OpsetID, domain string) (int64, bool) {
	if domain == "ai.onnx" {
		domain = DefaultDomain
	}
	for _, o := range opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = DefaultDomain
		}
		if d == domain {
			return o.Version, true
		}
	}
	return 0, false
}

// MetadataValue returns the value of the metadata entry key and whether it
// is present.
func (m *Model) MetadataValue(key string) (string, bool) {
	for _, p := range m.Metadata {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// StringPair is one entry of a string-to-string list such as metadata_props.
type StringPair struct {
	Key, Value string
}

// Graph is a list of nodes with the values they exchange. Nodes read
// graph inputs, initializers and the outputs of other nodes by name.
type Graph struct {
	Name      string
	DocString string
	// Inputs are the graph's declared inputs. Since IR version 4 an
	// initializer need not be listed here; one that is can be overridden
	// by the caller.
	Inputs  []*Value
	Outputs []*Value
	// ValueInfo gives types of intermediate values, when the file has them.
	ValueInfo          []*Value
	Initializers       []*Tensor
	SparseInitializers []*SparseTensor
	Nodes              []*Node
	// QuantizationAnnotations maps tensors to their quantisation
	// parameters, as the file gave them.
	QuantizationAnnotations []QuantizationAnnotation
	Metadata                []StringPair
}

// Initializer returns the initializer named name, or nil.
func (g *Graph) Initializer(name string) *Tensor {
	for _, t := range g.Initializers {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// QuantizationAnnotation names the quantisation parameter tensors of one
// tensor (keys such as "SCALE_TENSOR" and "ZERO_POINT_TENSOR").
type QuantizationAnnotation struct {
	TensorName string
	Parameters []StringPair
}

// Value is a named value with its type: a graph input or output or an
// intermediate value.
type Value struct {
	Name      string
	Type      *Type
	DocString string
	Metadata  []StringPair
}

// Node applies one operator to named inputs and produces named outputs.
type Node struct {
	Name   string
	OpType string
	// Domain is the operator set of OpType; DefaultDomain for standard ONNX.
	Domain   string
	Overload string
	// Inputs are value names in operator order. An empty name is an
	// optional input that is absent, and keeps the position of the ones
	// after it.
	Inputs []string
	// Outputs are value names in operator order; an empty name is an
	// optional output that is not produced.
	Outputs   []string
	Attrs     []*Attr
	DocString string
	Metadata  []StringPair
	// opset is the version of Domain that Declared reads attributes at
	// (AtOpset); 0 when unknown.
	opset int64
}

// Input returns the name of input i, or "" when it is absent or past the
// end of the list.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// Function is a model-local function: a subgraph that nodes whose domain
// and op type match Domain and Name expand to.
type Function struct {
	Name     string
	Domain   string
	Overload string
	Inputs   []string
	Outputs  []string
	// Attrs names the attributes a call may give without a default;
	// AttrDefaults are those with a default value.
	Attrs        []string
	AttrDefaults []*Attr
	Nodes        []*Node
	DocString    string
	Opsets       []OpsetID
	ValueInfo    []*Value
	Metadata     []StringPair
}

// TrainingInfo holds a model's initialisation and training-step graphs
// and how their outputs bind to initializers.
type TrainingInfo struct {
	Initialization        *Graph
	Algorithm             *Graph
	InitializationBinding []StringPair
	UpdateBinding         []StringPair
}
