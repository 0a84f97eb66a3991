package ops

// String operators of opset 20:
//
//	StringConcat(X, Y)  -> Z, X + Y elementwise with numpy broadcasting
//	RegexFullMatch(X)   -> Y bool, X's shape: whether all of each string
//	                       matches attribute pattern (RE2 syntax, which
//	                       Go's regexp implements)
//	StringSplit(X)      -> Y string [X..., M], Z int64 [X...]
//
// StringSplit splits each string at attribute delimiter, at most maxsplit
// times when that is set, as Python's str.split does: with a delimiter,
// adjacent delimiters give empty strings; without one (or an empty one),
// runs of whitespace separate and leading and trailing whitespace is
// dropped. Z counts each string's parts; Y holds them, padded with empty
// strings to M, the largest count.

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// textStringOps is the operator table of text_string.go (see registry.go).
var textStringOps = []Entry{
	{OpType: "StringConcat", Since: []int64{20}, Build: func(*graph.Node, int64) (Op, error) { return stringConcat{}, nil }},
	{OpType: "RegexFullMatch", Since: []int64{20}, Build: newRegexFullMatch},
	{OpType: "StringSplit", Since: []int64{20}, Build: newStringSplit},
}

// stringInput returns input i as strings, or an error naming it.
func stringInput(in []*tensor.Tensor, i int, name string) ([]string, error) {
	s, ok := in[i].Data.([]string)
	if !ok || in[i].DType != graph.String {
		return nil, fmt.Errorf("input %s is %v, want string", name, in[i].DType)
	}
	return s, nil
}

// stringConcat is StringConcat.
type stringConcat struct{}

// Forward concatenates X and Y.
func (stringConcat) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	x, err := stringInput(in, 0, "X")
	if err != nil {
		return nil, err
	}
	y, err := stringInput(in, 1, "Y")
	if err != nil {
		return nil, err
	}
	shape, err := ewBroadcastShape(ctx, graph.String, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	out := tensor.New(graph.String, shape...)
	ewMap2(newEWPlan(shape, in[0].Shape, in[1].Shape), x, y, out.Data.([]string), func(a, b string) string { return a + b })
	return []*tensor.Tensor{out}, nil
}

// regexFullMatch is RegexFullMatch.
type regexFullMatch struct {
	re *regexp.Regexp
}

func newRegexFullMatch(n *graph.Node, _ int64) (Op, error) {
	pattern, err := n.Declared().String("pattern")
	if err != nil {
		return nil, err
	}
	// Anchored at both ends, the pattern must match the whole string.
	re, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
	if err != nil {
		return nil, attrError(n, "pattern", "is not an RE2 expression: %v", err)
	}
	return &regexFullMatch{re: re}, nil
}

// Forward matches every string of X.
func (o *regexFullMatch) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x, err := stringInput(in, 0, "X")
	if err != nil {
		return nil, err
	}
	out := tensor.New(graph.Bool, in[0].Shape...)
	y := out.Data.([]bool)
	for i, s := range x {
		y[i] = o.re.MatchString(s)
	}
	return []*tensor.Tensor{out}, nil
}

// stringSplit is StringSplit.
type stringSplit struct {
	delimiter string
	maxSplit  int // -1: unlimited
}

func newStringSplit(n *graph.Node, _ int64) (Op, error) {
	d, err := n.Declared().String("delimiter")
	if err != nil {
		return nil, err
	}
	o := &stringSplit{delimiter: d, maxSplit: -1}
	if n.HasAttr("maxsplit") {
		m, err := n.Declared().Int("maxsplit")
		if err != nil {
			return nil, err
		}
		if m < 0 {
			return nil, attrError(n, "maxsplit", "is %d, want at least 0", m)
		}
		o.maxSplit = int(m)
	}
	return o, nil
}

// Forward splits every string of X.
func (o *stringSplit) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x, err := stringInput(in, 0, "X")
	if err != nil {
		return nil, err
	}
	parts := make([][]string, len(x))
	width := 0
	for i, s := range x {
		if o.delimiter == "" {
			parts[i] = splitWhitespace(s, o.maxSplit)
		} else {
			parts[i] = strings.SplitN(s, o.delimiter, o.maxSplit+1)
			if o.maxSplit < 0 {
				parts[i] = strings.Split(s, o.delimiter)
			}
		}
		width = max(width, len(parts[i]))
	}
	y := tensor.New(graph.String, append(append([]int(nil), in[0].Shape...), width)...)
	z := tensor.New(graph.Int64, in[0].Shape...)
	ys, zs := y.Data.([]string), z.Data.([]int64)
	for i, p := range parts {
		copy(ys[i*width:], p)
		zs[i] = int64(len(p))
	}
	return []*tensor.Tensor{y, z}, nil
}

// splitWhitespace splits s at runs of whitespace, at most maxSplit times
// (-1: no limit), as Python's s.split(None, maxSplit): no empty parts,
// and when the limit stops the splitting the last part is the rest of s
// from its first non-space, trailing whitespace included.
func splitWhitespace(s string, maxSplit int) []string {
	var parts []string
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return parts
		}
		if maxSplit >= 0 && len(parts) == maxSplit {
			return append(parts, s)
		}
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:end])
		s = s[end:]
	}
}
