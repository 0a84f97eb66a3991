package graph

import "slices"

// Every operator that the package infers and the native engine runs
// declares its attributes, with their kinds and defaults, once, in the
// table of attrspec_table.go. The shape functions and the engine's
// kernels read attributes through an AttrReader, which takes an absent
// attribute's value from that declaration, so that the two never
// disagree about a default; CheckAttrs rejects the attributes an
// operator does not have, as ONNX's checker does.

// AttrSpec declares one attribute of an operator over a range of opset
// versions.
type AttrSpec struct {
	Name string
	Kind AttrKind
	// Required says that a node must set the attribute.
	Required bool
	// Default is the value of an absent attribute; nil when the
	// attribute has none (it is required, or its absence means
	// something of its own, as kernel_shape's does for Conv).
	Default *Attr
	// Since and Until bound the opset versions of the operator's domain
	// that have the attribute: Since <= opset, and opset < Until unless
	// Until is 0.
	Since, Until int64
}

// at reports whether s applies at opset.
func (s *AttrSpec) at(opset int64) bool {
	return s.Since <= opset && (s.Until == 0 || opset < s.Until)
}

// from returns s, applying from opset v on.
func (s AttrSpec) from(v int64) AttrSpec { s.Since = v; return s }

// until returns s, applying before opset v only.
func (s AttrSpec) until(v int64) AttrSpec { s.Until = v; return s }

// The constructors of the table's declarations.

func aInt(name string, def int64) AttrSpec {
	return AttrSpec{Name: name, Kind: AttrInt, Default: IntAttr(name, def)}
}

func aFloat(name string, def float32) AttrSpec {
	return AttrSpec{Name: name, Kind: AttrFloat, Default: FloatAttr(name, def)}
}

func aString(name, def string) AttrSpec {
	return AttrSpec{Name: name, Kind: AttrString, Default: StringAttr(name, def)}
}

func aInts(name string, def ...int64) AttrSpec {
	return AttrSpec{Name: name, Kind: AttrInts, Default: IntsAttr(name, def...)}
}

func aFloats(name string, def ...float32) AttrSpec {
	return AttrSpec{Name: name, Kind: AttrFloats, Default: FloatsAttr(name, def...)}
}

func aStrings(name string, def ...string) AttrSpec {
	return AttrSpec{Name: name, Kind: AttrStrings, Default: StringsAttr(name, def...)}
}

// opt declares an optional attribute without a default.
func opt(name string, kind AttrKind) AttrSpec { return AttrSpec{Name: name, Kind: kind} }

// req declares a required attribute.
func req(name string, kind AttrKind) AttrSpec {
	return AttrSpec{Name: name, Kind: kind, Required: true}
}

// DeclaredAttrs returns the attributes that op of domain ("" or
// "ai.onnx" for the default one) has at the given opset version of the
// domain, and whether the table declares the operator at all.
func DeclaredAttrs(domain, op string, opset int64) ([]AttrSpec, bool) {
	specs, ok := attrSpecs[canonicalDomain(domain)][op]
	if !ok {
		return nil, false
	}
	var out []AttrSpec
	for i := range specs {
		if specs[i].at(opset) {
			out = append(out, specs[i])
		}
	}
	return out, true
}

// CheckAttrs returns a *NodeError for the first attribute of n that n's
// operator does not have at opset, the version n's domain is imported
// at: ONNX's checker rejects such a node. An operator the table does not
// declare (a custom one) passes.
func CheckAttrs(n *Node, opset int64) error {
	specs, ok := attrSpecs[canonicalDomain(n.Domain)][n.OpType]
	if !ok {
		return nil
	}
	for _, a := range n.Attrs {
		if !slices.ContainsFunc(specs, func(s AttrSpec) bool { return s.Name == a.Name && s.at(opset) }) {
			return n.errorf(a.Name, "is not an attribute of %s at opset %d", n.OpType, opset)
		}
	}
	return nil
}

// AttrReader reads a node's attributes as its operator declares them at
// an opset version: an absent attribute takes its declared default, and
// an absent required one is an error. Reading an attribute that the
// operator declares only at other versions gives its zero value, as for
// an absent attribute without a default: a node at this version cannot
// have it (CheckAttrs).
type AttrReader struct {
	n     *Node
	opset int64
	specs []AttrSpec
}

// ReadAttrs returns the reader of n's attributes at opset, the version
// n's domain is imported at.
func ReadAttrs(n *Node, opset int64) AttrReader {
	return AttrReader{n: n, opset: opset, specs: attrSpecs[canonicalDomain(n.Domain)][n.OpType]}
}

// Has reports whether the node sets the attribute.
func (r AttrReader) Has(name string) bool { return r.n.HasAttr(name) }

// value returns the node's attribute name, checked to be of kind, else
// its declared default; nil when it has neither. Reading an attribute
// the operator never declares is a mistake of the caller's, reported as
// an error.
func (r AttrReader) value(name string, kind AttrKind) (*Attr, error) {
	var spec *AttrSpec
	known := false
	for i := range r.specs {
		if r.specs[i].Name != name {
			continue
		}
		known = true
		if r.specs[i].at(r.opset) {
			spec = &r.specs[i]
			break
		}
	}
	if !known {
		return nil, r.n.errorf(name, "is not declared for %s (graph/attrspec_table.go)", r.n.OpType)
	}
	if spec != nil && spec.Kind != kind {
		return nil, r.n.errorf(name, "is read as %s but declared %s", kind, spec.Kind)
	}
	a, err := r.n.attrOfKind(name, kind)
	switch {
	case err != nil || a != nil:
		return a, err
	case spec == nil:
		return nil, nil
	case spec.Required:
		return nil, r.n.errorf(name, "is required")
	}
	return spec.Default, nil
}

// Int returns the int attribute name.
func (r AttrReader) Int(name string) (int64, error) {
	a, err := r.value(name, AttrInt)
	if a == nil {
		return 0, err
	}
	return a.Int, nil
}

// Float returns the float attribute name.
func (r AttrReader) Float(name string) (float32, error) {
	a, err := r.value(name, AttrFloat)
	if a == nil {
		return 0, err
	}
	return a.Float, nil
}

// String returns the string attribute name.
func (r AttrReader) String(name string) (string, error) {
	a, err := r.value(name, AttrString)
	if a == nil {
		return "", err
	}
	return a.String, nil
}

// Ints returns a copy of the ints attribute name; nil when it is absent
// and has no default.
func (r AttrReader) Ints(name string) ([]int64, error) {
	a, err := r.value(name, AttrInts)
	if a == nil {
		return nil, err
	}
	return slices.Clone(a.Ints), nil
}

// Floats returns a copy of the floats attribute name; nil when it is
// absent and has no default.
func (r AttrReader) Floats(name string) ([]float32, error) {
	a, err := r.value(name, AttrFloats)
	if a == nil {
		return nil, err
	}
	return slices.Clone(a.Floats), nil
}

// Strings returns a copy of the strings attribute name; nil when it is
// absent and has no default.
func (r AttrReader) Strings(name string) ([]string, error) {
	a, err := r.value(name, AttrStrings)
	if a == nil {
		return nil, err
	}
	return slices.Clone(a.Strings), nil
}

// Tensor returns the tensor attribute name, the node's own (callers must
// not modify it); nil when it is absent.
func (r AttrReader) Tensor(name string) (*Tensor, error) {
	a, err := r.value(name, AttrTensor)
	if a == nil {
		return nil, err
	}
	return a.Tensor, nil
}

// Graph returns the graph attribute name; nil when it is absent.
func (r AttrReader) Graph(name string) (*Graph, error) {
	a, err := r.value(name, AttrGraph)
	if a == nil {
		return nil, err
	}
	return a.Graph, nil
}
