package graph

import (
	"fmt"
	"strings"
)

// NodeError is a problem with one node: a wrong or missing attribute, input
// shapes the operator cannot take, and the like. Node and Op name the node;
// Attr, when set, names the attribute at fault.
type NodeError struct {
	Node, Op string
	Attr     string
	Err      error
}

// Error reads, for example,
// `node "conv1" (Conv), attribute "pads": want 4 values, got 3`.
func (e *NodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node %q (%s)", e.Node, e.Op)
	if e.Attr != "" {
		fmt.Fprintf(&b, ", attribute %q", e.Attr)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unknown error")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *NodeError) Unwrap() error { return e.Err }

// errorf returns a NodeError about n, and about its attribute attr when attr
// is not empty.
func (n *Node) errorf(attr, format string, args ...any) *NodeError {
	return &NodeError{Node: n.Name, Op: n.OpType, Attr: attr, Err: fmt.Errorf(format, args...)}
}
