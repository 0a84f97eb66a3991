package graph

import "slices"

// Every operator that the package infers and the native engine runs
// declares its attributes, with their kinds and defaults, once, in the
// table of attrspec_table.go. The shape functions and the engine's
// kernels read attributes through an AttrReader, which takes an absent
// attribute's value from that declaration, so that the two never
// disagree about a default. CheckAttrs finds the attributes an operator
// does not have, which ONNX's checker rejects: InferTypes, and so
// Validate, reports them; the engine ignores them, as it always did.

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

// AtOpset returns a copy of n that knows the version its domain is
// imported at, so that Declared reads its attributes as its operator
// declares them there. The engine builds, and InferTypes infers, every
// node through such a copy.
func (n *Node) AtOpset(opset int64) *Node {
	c := *n
	c.opset = opset
	return &c
}

// Declared returns the reader of n's attributes at the opset that
// AtOpset gave n. Without one, every read is an error.
func (n *Node) Declared() AttrReader { return ReadAttrs(n, n.opset) }

// AttrReader reads a node's attributes as its operator declares them at
// an opset version: an absent attribute takes its declared default, and
// an absent required one is an error. An attribute that the operator
// declares only at other versions, which a node of this version cannot
// have (CheckAttrs), reads as the default of its nearest declaration
// (the newest before, else the oldest after): what the operator did
// without it; a value the node sets anyway is read as it is. The Or methods are for the attributes without a default,
// whose absence the caller gives a meaning of its own (Conv's strides
// are ones of the input's rank).
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

// Declares reports whether the operator has the attribute at any
// version: a reader shared by several operators asks before reading one
// that only some of them have.
func (r AttrReader) Declares(name string) bool {
	_, err := r.spec(name)
	return err == nil
}

// HasDefault reports whether the operator declares a default for the
// attribute at the reader's opset (or, when it lacks the attribute
// there, at the nearest version that has it).
func (r AttrReader) HasDefault(name string) bool {
	s, err := r.spec(name)
	return err == nil && s.Default != nil
}

// spec returns the declaration of name that applies at the reader's
// opset, or the nearest one when none does; an error when the operator
// never declares name, a mistake of the caller's.
func (r AttrReader) spec(name string) (*AttrSpec, error) {
	if r.opset == 0 {
		return nil, r.n.errorf(name, "is read without the opset of its domain (Node.AtOpset)")
	}
	var before, after *AttrSpec
	for i := range r.specs {
		s := &r.specs[i]
		switch {
		case s.Name != name:
		case s.at(r.opset):
			return s, nil
		case s.Until != 0 && s.Until <= r.opset:
			if before == nil || s.Since > before.Since {
				before = s
			}
		case after == nil || s.Since < after.Since:
			after = s
		}
	}
	if before != nil {
		return before, nil
	}
	if after != nil {
		return after, nil
	}
	return nil, r.n.errorf(name, "is not declared for %s (graph/attrspec_table.go)", r.n.OpType)
}

// value returns the node's attribute name, checked to be of kind, else
// its declared default; nil when it has neither. orElse says the caller
// has a value of its own for an absent attribute, which is wrong for one
// with a declared default.
func (r AttrReader) value(name string, kind AttrKind, orElse bool) (*Attr, error) {
	spec, err := r.spec(name)
	if err != nil {
		return nil, err
	}
	if spec.Kind != kind {
		return nil, r.n.errorf(name, "is read as %s but declared %s", kind, spec.Kind)
	}
	if orElse && spec.Default != nil {
		return nil, r.n.errorf(name, "has a declared default; read it without a value of the caller's")
	}
	a, err := r.n.attrOfKind(name, kind)
	switch {
	case err != nil || a != nil:
		return a, err
	case spec.Required && spec.at(r.opset):
		return nil, r.n.errorf(name, "is required")
	}
	return spec.Default, nil
}

// Int returns the int attribute name.
func (r AttrReader) Int(name string) (int64, error) {
	a, err := r.value(name, AttrInt, false)
	if a == nil {
		return 0, err
	}
	return a.Int, nil
}

// IntOr returns the int attribute name, which has no declared default,
// or def when it is absent.
func (r AttrReader) IntOr(name string, def int64) (int64, error) {
	a, err := r.value(name, AttrInt, true)
	if a == nil {
		if err != nil {
			return 0, err
		}
		return def, nil
	}
	return a.Int, nil
}

// IntList returns the int attributes names, in order.
func (r AttrReader) IntList(names ...string) ([]int64, error) {
	v := make([]int64, len(names))
	for i, name := range names {
		var err error
		if v[i], err = r.Int(name); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// FloatList returns the float attributes names, in order.
func (r AttrReader) FloatList(names ...string) ([]float32, error) {
	v := make([]float32, len(names))
	for i, name := range names {
		var err error
		if v[i], err = r.Float(name); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Float returns the float attribute name.
func (r AttrReader) Float(name string) (float32, error) {
	a, err := r.value(name, AttrFloat, false)
	if a == nil {
		return 0, err
	}
	return a.Float, nil
}

// FloatOr returns the float attribute name, which has no declared
// default, or def when it is absent.
func (r AttrReader) FloatOr(name string, def float32) (float32, error) {
	a, err := r.value(name, AttrFloat, true)
	if a == nil {
		if err != nil {
			return 0, err
		}
		return def, nil
	}
	return a.Float, nil
}

// String returns the string attribute name.
func (r AttrReader) String(name string) (string, error) {
	a, err := r.value(name, AttrString, false)
	if a == nil {
		return "", err
	}
	return a.String, nil
}

// Ints returns a copy of the ints attribute name; nil when it is absent
// and has no default.
func (r AttrReader) Ints(name string) ([]int64, error) {
	a, err := r.value(name, AttrInts, false)
	if a == nil {
		return nil, err
	}
	return slices.Clone(a.Ints), nil
}

// IntsOr returns a copy of the ints attribute name, which has no
// declared default, or def when it is absent.
func (r AttrReader) IntsOr(name string, def []int64) ([]int64, error) {
	a, err := r.value(name, AttrInts, true)
	if a == nil {
		if err != nil {
			return nil, err
		}
		return def, nil
	}
	return slices.Clone(a.Ints), nil
}

// Floats returns a copy of the floats attribute name; nil when it is
// absent and has no default.
func (r AttrReader) Floats(name string) ([]float32, error) {
	a, err := r.value(name, AttrFloats, false)
	if a == nil {
		return nil, err
	}
	return slices.Clone(a.Floats), nil
}

// Strings returns a copy of the strings attribute name; nil when it is
// absent and has no default.
func (r AttrReader) Strings(name string) ([]string, error) {
	a, err := r.value(name, AttrStrings, false)
	if a == nil {
		return nil, err
	}
	return slices.Clone(a.Strings), nil
}

// Tensor returns the tensor attribute name, the node's own (callers must
// not modify it); nil when it is absent.
func (r AttrReader) Tensor(name string) (*Tensor, error) {
	a, err := r.value(name, AttrTensor, false)
	if a == nil {
		return nil, err
	}
	return a.Tensor, nil
}

// Graph returns the graph attribute name; nil when it is absent.
func (r AttrReader) Graph(name string) (*Graph, error) {
	a, err := r.value(name, AttrGraph, false)
	if a == nil {
		return nil, err
	}
	return a.Graph, nil
}
