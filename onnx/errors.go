package onnx

import (
	"fmt"
	"strconv"
	"strings"
)

// A FormatError reports malformed input: a file that is not valid ONNX
// (broken protobuf, sizes that do not add up, fields that contradict each
// other), or a model given to an encoder that cannot be written as ONNX.
type FormatError struct {
	File string // the file being read, when known
	Node string // the node's name, when the problem is inside a node
	Op   string // the node's op type
	Attr string // the attribute's name, when the problem is inside one
	Msg  string
	Err  error // the underlying error, if any
}

// Error reads like `onnx: FILE: node "NAME" (OP), attribute "ATTR": MSG`.
func (e *FormatError) Error() string { return describe(e.File, e.Node, e.Op, e.Attr, e.Msg, e.Err) }

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// An UnsupportedError reports that the input is valid ONNX but uses a
// feature that this package does not handle, such as a tensor segment.
type UnsupportedError struct {
	File string
	Node string
	Op   string
	Attr string
	Msg  string
	Err  error
}

// Error reads like FormatError's, with "unsupported: " before the message.
func (e *UnsupportedError) Error() string {
	return describe(e.File, e.Node, e.Op, e.Attr, "unsupported: "+e.Msg, e.Err)
}

// Unwrap returns the underlying error.
func (e *UnsupportedError) Unwrap() error { return e.Err }

// describe writes `onnx: FILE: node "NAME" (OP), attribute "ATTR": MSG: ERR`,
// leaving out the parts that are empty.
func describe(file, node, op, attr, msg string, err error) string {
	var b strings.Builder
	b.WriteString("onnx: ")
	if file != "" {
		b.WriteString(file)
		b.WriteString(": ")
	}
	if node != "" || op != "" {
		b.WriteString("node ")
		if node != "" {
			b.WriteString(quote(node))
			if op != "" {
				b.WriteString(" ")
			}
		}
		if op != "" {
			b.WriteString("(" + op + ")")
		}
		b.WriteString(", ")
	}
	if attr != "" {
		b.WriteString("attribute " + quote(attr) + ": ")
	}
	b.WriteString(msg)
	if err != nil {
		b.WriteString(": ")
		b.WriteString(err.Error())
	}
	return b.String()
}

func quote(s string) string { return strconv.Quote(s) }

// located is an error that can be told where it happened.
type located interface {
	error
	locate(file, node, op, attr string)
}

func (e *FormatError) locate(file, node, op, attr string) {
	setIfEmpty(&e.File, file)
	setIfEmpty(&e.Node, node)
	setIfEmpty(&e.Op, op)
	setIfEmpty(&e.Attr, attr)
}

func (e *UnsupportedError) locate(file, node, op, attr string) {
	setIfEmpty(&e.File, file)
	setIfEmpty(&e.Node, node)
	setIfEmpty(&e.Op, op)
	setIfEmpty(&e.Attr, attr)
}

func setIfEmpty(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// locate fills in the parts of err's location that an inner step did not
// know; the innermost node and attribute win. Errors of other types pass
// through unchanged.
func locate(err error, file, node, op, attr string) error {
	if l, ok := err.(located); ok {
		l.locate(file, node, op, attr)
	}
	return err
}

func formatErr(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

// within prefixes the message of err with what, such as `initializer "w"`,
// to say which part of a graph the problem is in.
func within(err error, what string) error {
	switch e := err.(type) {
	case *FormatError:
		e.Msg = what + ": " + e.Msg
	case *UnsupportedError:
		e.Msg = what + ": " + e.Msg
	}
	return err
}
