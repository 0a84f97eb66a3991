package graph

// AttrKind is the type of an attribute's value. Its values are the ONNX
// AttributeProto.AttributeType numbers.
type AttrKind int32

// The attribute kinds of the ONNX specification.
const (
	AttrUndefined     AttrKind = 0
	AttrFloat         AttrKind = 1
	AttrInt           AttrKind = 2
	AttrString        AttrKind = 3
	AttrTensor        AttrKind = 4
	AttrGraph         AttrKind = 5
	AttrFloats        AttrKind = 6
	AttrInts          AttrKind = 7
	AttrStrings       AttrKind = 8
	AttrTensors       AttrKind = 9
	AttrGraphs        AttrKind = 10
	AttrSparseTensor  AttrKind = 11
	AttrSparseTensors AttrKind = 12
	AttrType          AttrKind = 13
	AttrTypes         AttrKind = 14
)

var attrKindNames = [...]string{
	"undefined", "float", "int", "string", "tensor", "graph", "floats", "ints",
	"strings", "tensors", "graphs", "sparse_tensor", "sparse_tensors",
	"type_proto", "type_protos",
}

func (k AttrKind) String() string {
	if k >= 0 && int(k) < len(attrKindNames) {
		return attrKindNames[k]
	}
	return "attrkind(?)"
}

// Attr is one named attribute of a node. Kind says which value field
// holds its value; the others are zero.
type Attr struct {
	Name string
	Kind AttrKind
	// RefAttrName, inside a function body, names the caller's attribute
	// that supplies this value.
	RefAttrName string
	DocString   string

	Float        float32
	Int          int64
	String       string
	Tensor       *Tensor
	Graph        *Graph
	SparseTensor *SparseTensor
	Type         *Type

	Floats        []float32
	Ints          []int64
	Strings       []string
	Tensors       []*Tensor
	Graphs        []*Graph
	SparseTensors []*SparseTensor
	Types         []*Type
}

// Attr returns the node's attribute named name, or nil.
func (n *Node) Attr(name string) *Attr {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}
