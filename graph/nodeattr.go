package graph

import "slices"

// The typed attribute getters below return the caller's default when the
// node has no attribute of that name, and a *NodeError when it has one of
// another kind. Slices are returned as copies, so the node is never
// changed through them.

// HasAttr reports whether the node has an attribute named name.
func (n *Node) HasAttr(name string) bool { return n.Attr(name) != nil }

// attrOfKind returns the attribute named name, nil when it is absent, and
// an error when it is not of kind want.
func (n *Node) attrOfKind(name string, want AttrKind) (*Attr, error) {
	a := n.Attr(name)
	if a == nil {
		return nil, nil
	}
	if a.Kind != want {
		return nil, n.errorf(name, "is of kind %s, want %s", a.Kind, want)
	}
	return a, nil
}

// AttrInt returns the int attribute name, or def when absent.
func (n *Node) AttrInt(name string, def int64) (int64, error) {
	a, err := n.attrOfKind(name, AttrInt)
	if a == nil {
		return def, err
	}
	return a.Int, nil
}

// AttrFloat returns the float attribute name, or def when absent.
func (n *Node) AttrFloat(name string, def float32) (float32, error) {
	a, err := n.attrOfKind(name, AttrFloat)
	if a == nil {
		return def, err
	}
	return a.Float, nil
}

// AttrString returns the string attribute name, or def when absent.
func (n *Node) AttrString(name, def string) (string, error) {
	a, err := n.attrOfKind(name, AttrString)
	if a == nil {
		return def, err
	}
	return a.String, nil
}

// AttrInts returns a copy of the ints attribute name, or def (which may be
// nil) when absent.
func (n *Node) AttrInts(name string, def []int64) ([]int64, error) {
	a, err := n.attrOfKind(name, AttrInts)
	if a == nil {
		return def, err
	}
	return slices.Clone(a.Ints), nil
}

// AttrFloats returns a copy of the floats attribute name, or def when
// absent.
func (n *Node) AttrFloats(name string, def []float32) ([]float32, error) {
	a, err := n.attrOfKind(name, AttrFloats)
	if a == nil {
		return def, err
	}
	return slices.Clone(a.Floats), nil
}

// AttrStrings returns a copy of the strings attribute name, or def when
// absent.
func (n *Node) AttrStrings(name string, def []string) ([]string, error) {
	a, err := n.attrOfKind(name, AttrStrings)
	if a == nil {
		return def, err
	}
	return slices.Clone(a.Strings), nil
}

// AttrTensor returns the tensor attribute name, or nil when absent. The
// tensor is the node's own; callers must not modify it.
func (n *Node) AttrTensor(name string) (*Tensor, error) {
	a, err := n.attrOfKind(name, AttrTensor)
	if a == nil {
		return nil, err
	}
	return a.Tensor, nil
}

// AttrGraph returns the graph attribute name (a subgraph such as If's
// then_branch), or nil when absent.
func (n *Node) AttrGraph(name string) (*Graph, error) {
	a, err := n.attrOfKind(name, AttrGraph)
	if a == nil {
		return nil, err
	}
	return a.Graph, nil
}

// IntAttr returns an int attribute.
func IntAttr(name string, v int64) *Attr { return &Attr{Name: name, Kind: AttrInt, Int: v} }

// IntsAttr returns an ints attribute holding a copy of v.
func IntsAttr(name string, v ...int64) *Attr {
	return &Attr{Name: name, Kind: AttrInts, Ints: slices.Clone(v)}
}

// FloatAttr returns a float attribute.
func FloatAttr(name string, v float32) *Attr { return &Attr{Name: name, Kind: AttrFloat, Float: v} }

// FloatsAttr returns a floats attribute holding a copy of v.
func FloatsAttr(name string, v ...float32) *Attr {
	return &Attr{Name: name, Kind: AttrFloats, Floats: slices.Clone(v)}
}

// StringAttr returns a string attribute.
func StringAttr(name, v string) *Attr { return &Attr{Name: name, Kind: AttrString, String: v} }

// StringsAttr returns a strings attribute holding a copy of v.
func StringsAttr(name string, v ...string) *Attr {
	return &Attr{Name: name, Kind: AttrStrings, Strings: slices.Clone(v)}
}

// TensorAttr returns a tensor attribute.
func TensorAttr(name string, t *Tensor) *Attr { return &Attr{Name: name, Kind: AttrTensor, Tensor: t} }

// GraphAttr returns a graph (subgraph) attribute.
func GraphAttr(name string, g *Graph) *Attr { return &Attr{Name: name, Kind: AttrGraph, Graph: g} }
