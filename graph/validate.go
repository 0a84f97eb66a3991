package graph

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ProblemKind classifies a Problem.
type ProblemKind int

// The kinds of problems Validate reports.
const (
	// NoGraph: the model has no main graph.
	NoGraph ProblemKind = iota + 1
	// NoOpsetImport: the model imports no operator set.
	NoOpsetImport
	// NoOutputs: a graph declares no outputs.
	NoOutputs
	// UndefinedInput: a node reads a name that no graph input, initializer,
	// node or enclosing graph defines.
	UndefinedInput
	// DuplicateName: two graph inputs, two initializers or two node
	// outputs share a name.
	DuplicateName
	// ShadowedName: a node output has the name of a graph input or an
	// initializer.
	ShadowedName
	// OutputNotProduced: a graph output names a value nothing defines.
	OutputNotProduced
	// MissingInitializer: an initializer the model relies on is not there:
	// one without data, or one that a training binding names but the main
	// graph lacks. A graph input without an initializer is not a problem:
	// the caller feeds it.
	MissingInitializer
	// BadInitializer: an initializer without a name, or whose data does not
	// match its element type and dimensions.
	BadInitializer
	// TypeMismatch: a declared type (graph input or output, value_info)
	// disagrees with an initializer's or with the inferred type.
	TypeMismatch
	// UnknownOp: a node's domain is not imported, or its operator does not
	// exist (or is deprecated) at the imported opset version.
	UnknownOp
	// Cycle: nodes depend on each other's outputs in a loop.
	Cycle
	// BadNode: a node's attributes or input types are wrong for its
	// operator, as found by type inference.
	BadNode
)

var problemKindNames = [...]string{
	NoGraph: "no graph", NoOpsetImport: "no opset import", NoOutputs: "no outputs",
	UndefinedInput: "undefined input", DuplicateName: "duplicate name",
	ShadowedName: "shadowed name", OutputNotProduced: "output not produced",
	MissingInitializer: "missing initializer", BadInitializer: "bad initializer",
	TypeMismatch: "type mismatch", UnknownOp: "unknown op", Cycle: "cycle",
	BadNode: "bad node",
}

// String returns the kind's name, such as "undefined input".
func (k ProblemKind) String() string {
	if k > 0 && int(k) < len(problemKindNames) {
		return problemKindNames[k]
	}
	return fmt.Sprintf("problem(%d)", int(k))
}

// Problem is one thing wrong with a model. Graph is the path of the graph
// it is in ("main", or "main/loop1.body" for a subgraph); Node and Op name
// the node at fault, and are empty for a problem of the graph as a whole.
type Problem struct {
	Kind     ProblemKind
	Graph    string
	Node, Op string
	Msg      string
}

// String writes the problem as `graph "main", node "conv1" (Conv): kind: message`.
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q", p.Graph)
	if p.Node != "" || p.Op != "" {
		fmt.Fprintf(&b, ", node %q (%s)", p.Node, p.Op)
	}
	fmt.Fprintf(&b, ": %s: %s", p.Kind, p.Msg)
	return b.String()
}

// ValidationError lists every problem Validate found.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one a line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph: invalid model, %d problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Validate checks m and returns nil or a *ValidationError with every
// problem found; see ProblemKind for what is checked. Subgraphs are checked
// too, with the values of their enclosing graphs in scope. Nodes read
// values by name in any order: a name produced only by a later node is
// not undefined, the sort is TopoSort's business, and only a cycle is an
// error.
func Validate(m *Model) error {
	v := &validator{m: m}
	v.model()
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

type validator struct {
	m        *Model
	problems []Problem
}

func (v *validator) add(kind ProblemKind, graph string, n *Node, format string, args ...any) {
	p := Problem{Kind: kind, Graph: graph, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Node, p.Op = n.Name, n.OpType
	}
	v.problems = append(v.problems, p)
}

func (v *validator) model() {
	m := v.m
	if m == nil || m.Graph == nil {
		v.add(NoGraph, "", nil, "the model has no graph")
		return
	}
	if len(m.Opsets) == 0 {
		v.add(NoOpsetImport, "main", nil, "the model imports no operator set")
	}
	v.graph(m.Graph, "main", nil)
	for i, ti := range m.TrainingInfo {
		for _, bs := range [][]StringPair{ti.InitializationBinding, ti.UpdateBinding} {
			for _, b := range bs {
				if m.Graph.Initializer(b.Key) == nil {
					v.add(MissingInitializer, "main", nil,
						"training_info %d binds %q, which is not an initializer of the main graph", i, b.Key)
				}
			}
		}
	}
}

// graph checks g, whose enclosing graphs define the names in outer.
func (v *validator) graph(g *Graph, path string, outer map[string]bool) {
	if len(g.Outputs) == 0 {
		v.add(NoOutputs, path, nil, "the graph declares no outputs")
	}

	// Names defined in g, and by what.
	defined := make(map[string]string)
	inputs := make(map[string]*Value)
	for _, in := range g.Inputs {
		if _, dup := inputs[in.Name]; dup {
			v.add(DuplicateName, path, nil, "graph input %q is declared twice", in.Name)
		}
		inputs[in.Name] = in
		defined[in.Name] = "a graph input"
	}
	inits := make(map[string]*Tensor)
	for i, t := range g.Initializers {
		if t.Name == "" {
			v.add(BadInitializer, path, nil, "initializer %d has no name", i)
			continue
		}
		if _, dup := inits[t.Name]; dup {
			v.add(DuplicateName, path, nil, "initializer %q appears twice", t.Name)
		}
		inits[t.Name] = t
		defined[t.Name] = "an initializer"
		v.tensorData(t, path)
		if in := inputs[t.Name]; in != nil && in.Type != nil {
			if msg := typeClash(in.Type, initializerType(t)); msg != "" {
				v.add(TypeMismatch, path, nil, "graph input %q is declared %s but its initializer is %s%s",
					t.Name, in.Type, initializerType(t), msg)
			}
		}
	}
	for _, s := range g.SparseInitializers {
		if s.Values != nil && s.Values.Name != "" {
			defined[s.Values.Name] = "a sparse initializer"
		}
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if by, dup := defined[o]; dup {
				kind := DuplicateName
				if !strings.HasPrefix(by, "node") {
					kind = ShadowedName
				}
				v.add(kind, path, n, "output %q is already defined by %s", o, by)
				continue
			}
			defined[o] = fmt.Sprintf("node %q (%s)", n.Name, n.OpType)
		}
	}
	inScope := func(name string) bool { _, ok := defined[name]; return ok || outer[name] }

	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in != "" && !inScope(in) {
				v.add(UndefinedInput, path, n, "input %d %q is not defined", i, in)
			}
		}
		v.op(n, path)
	}
	for _, out := range g.Outputs {
		if !inScope(out.Name) {
			v.add(OutputNotProduced, path, nil, "graph output %q is produced by no node", out.Name)
		}
	}
	for _, vi := range g.ValueInfo {
		if t := inits[vi.Name]; t != nil && vi.Type != nil {
			if msg := typeClash(vi.Type, initializerType(t)); msg != "" {
				v.add(TypeMismatch, path, nil, "value_info gives %q as %s but its initializer is %s%s",
					vi.Name, vi.Type, initializerType(t), msg)
			}
		}
	}

	types, errs, err := inferGraph(v.m, g, nil)
	var cycle *CycleError
	if errors.As(err, &cycle) {
		var first *Node
		if len(cycle.Nodes) > 0 {
			first = cycle.Nodes[0]
		}
		v.add(Cycle, path, first, "%s", cycle.path())
	}
	for _, e := range errs {
		var ne *NodeError
		if errors.As(e, &ne) {
			msg := fmt.Sprint(ne.Err)
			if ne.Attr != "" {
				msg = fmt.Sprintf("attribute %q: %v", ne.Attr, ne.Err)
			}
			v.problems = append(v.problems, Problem{Kind: BadNode, Graph: path, Node: ne.Node, Op: ne.Op, Msg: msg})
		}
	}
	for _, vs := range [][]*Value{g.ValueInfo, g.Outputs} {
		for _, val := range vs {
			got := types[val.Name]
			if val.Type == nil || got == nil || got == val.Type {
				continue
			}
			if msg := typeClash(val.Type, got); msg != "" {
				v.add(TypeMismatch, path, nil, "%q is declared %s but inferred %s%s", val.Name, val.Type, got, msg)
			}
		}
	}

	// Subgraphs see every name of g and of its enclosing graphs.
	var scope map[string]bool
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			for i, sub := range attrGraphs(a) {
				if scope == nil {
					scope = make(map[string]bool, len(outer)+len(defined))
					for name := range outer {
						scope[name] = true
					}
					for name := range defined {
						scope[name] = true
					}
				}
				subPath := path + "/" + n.Name + "." + a.Name
				if a.Kind == AttrGraphs {
					subPath += fmt.Sprintf("[%d]", i)
				}
				v.graph(sub, subPath, scope)
			}
		}
	}
}

// op checks that n's operator exists at the opset version the model imports.
func (v *validator) op(n *Node, path string) {
	m := v.m
	for _, f := range m.Functions {
		if f.Name == n.OpType && canonicalDomain(f.Domain) == canonicalDomain(n.Domain) {
			return
		}
	}
	domain := canonicalDomain(n.Domain)
	version, imported := m.OpsetVersion(domain)
	if !imported {
		if len(m.Opsets) > 0 {
			v.add(UnknownOp, path, n, "domain %q is not imported by the model", n.Domain)
		}
		return
	}
	if _, known := KnownDomain(domain); !known {
		return // a custom domain: nothing to check against
	}
	versions := OpVersions(domain, n.OpType)
	if versions == nil {
		v.add(UnknownOp, path, n, "no operator %q in domain %q", n.OpType, domainName(domain))
		return
	}
	if _, ok := OpVersion(domain, n.OpType, version); !ok {
		if dep, deprecated := OpDeprecated(domain, n.OpType, version); deprecated {
			v.add(UnknownOp, path, n, "%s is deprecated since opset %d; the model imports %s opset %d",
				n.OpType, dep, domainName(domain), version)
		} else {
			v.add(UnknownOp, path, n, "%s first appears in opset %d; the model imports %s opset %d",
				n.OpType, versions[0], domainName(domain), version)
		}
	}
}

func domainName(d string) string {
	if d == DefaultDomain {
		return "ai.onnx"
	}
	return d
}

// tensorData checks that an initializer's data matches its type and dims.
func (v *validator) tensorData(t *Tensor, path string) {
	for _, d := range t.Dims {
		if d < 0 {
			v.add(BadInitializer, path, nil, "initializer %q has negative dimension in %v", t.Name, t.Dims)
			return
		}
	}
	if t.Data == nil {
		if t.NumElements() > 0 {
			v.add(MissingInitializer, path, nil, "initializer %q %v has no data", t.Name, t.Dims)
		}
		return
	}
	rv := reflect.ValueOf(t.Data)
	if rv.Kind() != reflect.Slice {
		v.add(BadInitializer, path, nil, "initializer %q holds %T, not a slice", t.Name, t.Data)
		return
	}
	if want := goElemType(t.DType); want != nil && rv.Type().Elem() != want {
		v.add(BadInitializer, path, nil, "initializer %q is %s but holds %T", t.Name, t.DType, t.Data)
		return
	}
	if int64(rv.Len()) != t.NumElements() {
		v.add(BadInitializer, path, nil, "initializer %q %v needs %d elements, has %d", t.Name, t.Dims, t.NumElements(), rv.Len())
	}
}

// goElemType is the Go element type of a Tensor's Data for d (see Tensor).
func goElemType(d DType) reflect.Type {
	switch d {
	case Float32:
		return reflect.TypeFor[float32]()
	case Float64:
		return reflect.TypeFor[float64]()
	case Float16, BFloat16, Uint16:
		return reflect.TypeFor[uint16]()
	case Int8, Int4, Int2:
		return reflect.TypeFor[int8]()
	case Int16:
		return reflect.TypeFor[int16]()
	case Int32:
		return reflect.TypeFor[int32]()
	case Int64:
		return reflect.TypeFor[int64]()
	case Uint8, Uint4, Uint2, Float4E2M1, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float8E8M0:
		return reflect.TypeFor[uint8]()
	case Uint32:
		return reflect.TypeFor[uint32]()
	case Uint64:
		return reflect.TypeFor[uint64]()
	case Bool:
		return reflect.TypeFor[bool]()
	case String:
		return reflect.TypeFor[string]()
	case Complex64:
		return reflect.TypeFor[complex64]()
	case Complex128:
		return reflect.TypeFor[complex128]()
	}
	return nil
}

// typeClash describes how two tensor types certainly differ (", element
// types differ" and so on), or returns "" when they may be the same.
func typeClash(a, b *Type) string {
	if a.Kind != b.Kind && a.Kind != UnknownKind && b.Kind != UnknownKind {
		return ": kinds differ"
	}
	if a.Kind != TensorKind || b.Kind != TensorKind {
		return ""
	}
	if a.DType != Undefined && b.DType != Undefined && a.DType != b.DType {
		return ": element types differ"
	}
	if a.Shape == nil || b.Shape == nil {
		return ""
	}
	if len(a.Shape) != len(b.Shape) {
		return ": ranks differ"
	}
	for i := range a.Shape {
		if conflict(a.Shape[i], b.Shape[i]) {
			return fmt.Sprintf(": dimension %d differs", i)
		}
	}
	return ""
}
