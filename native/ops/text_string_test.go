package ops

import (
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestStringSplit checks StringSplit against Python's str.split, whose
// results (CPython 3.11) the table records.
func TestStringSplit(t *testing.T) {
	for _, c := range []struct {
		in        string
		delimiter string
		maxSplit  int64 // -1: attribute absent
		want      []string
	}{
		{"a  b  c  ", "", -1, []string{"a", "b", "c"}},
		{"a  b  c  ", "", 1, []string{"a", "b  c  "}},
		{"  ", "", 0, nil},
		{" x ", "", 0, []string{"x "}},
		{"", "", -1, nil},
		{"\tone\ntwo three", "", 2, []string{"one", "two", "three"}},
		{"one", "", 5, []string{"one"}},
		{"a,,b,", ",", -1, []string{"a", "", "b", ""}},
		{"a,,b,", ",", 1, []string{"a", ",b,"}},
		{"", ",", -1, []string{""}},
		{"a::b::c", "::", 1, []string{"a", "b::c"}},
	} {
		attrs := []*graph.Attr{graph.StringAttr("delimiter", c.delimiter)}
		if c.maxSplit >= 0 {
			attrs = append(attrs, graph.IntAttr("maxsplit", c.maxSplit))
		}
		out := runNode(t, testNode("StringSplit", attrs...), 20, trStrings([]int{1}, c.in))
		y, z := out[0], out[1]
		if !slices.Equal(y.Shape, []int{1, len(c.want)}) || !slices.Equal(y.Data.([]string), c.want) && len(c.want) > 0 ||
			z.Data.([]int64)[0] != int64(len(c.want)) {
			t.Errorf("split %q at %q, maxsplit %d: got %v %q count %v, want %q", c.in, c.delimiter, c.maxSplit, y.Shape, y.Data, z.Data, c.want)
		}
	}
	// Shorter rows are padded with empty strings.
	out := runNode(t, testNode("StringSplit", graph.StringAttr("delimiter", "-")), 20, trStrings([]int{2}, "a-b-c", "d"))
	if want := []string{"a", "b", "c", "d", "", ""}; !slices.Equal(out[0].Data.([]string), want) || !slices.Equal(out[1].Data.([]int64), []int64{3, 1}) {
		t.Errorf("padding: got %q %v, want %q [3 1]", out[0].Data, out[1].Data, want)
	}
	wantErr(t, "negative maxsplit", runNodeErr(t, testNode("StringSplit", graph.IntAttr("maxsplit", -2)), 20, trStrings([]int{1}, "a")), "maxsplit")
}

// TestRegexFullMatch checks that the whole string must match, in RE2
// syntax, and that a bad pattern names the attribute.
func TestRegexFullMatch(t *testing.T) {
	x := trStrings([]int{4}, "www.google.com", "www.google.com.au", "google.com", "")
	got := runNode(t, testNode("RegexFullMatch", graph.StringAttr("pattern", `www\.[\w.-]+\.\bcom\b`)), 20, x)[0]
	if want := []bool{true, false, false, false}; !slices.Equal(got.Data.([]bool), want) {
		t.Errorf("got %v, want %v", got.Data, want)
	}
	// An alternation is anchored as a whole, not per branch.
	got = runNode(t, testNode("RegexFullMatch", graph.StringAttr("pattern", `a|ab`)), 20, trStrings([]int{2}, "ab", "abc"))[0]
	if want := []bool{true, false}; !slices.Equal(got.Data.([]bool), want) {
		t.Errorf("alternation: got %v, want %v", got.Data, want)
	}
	wantErr(t, "bad pattern", runNodeErr(t, testNode("RegexFullMatch", graph.StringAttr("pattern", `(a`)), 20, x), "pattern")
}

// TestStringConcat checks broadcasting of a scalar suffix.
func TestStringConcat(t *testing.T) {
	got := runNode(t, testNode("StringConcat"), 20, trStrings([]int{2}, "a", "é"), trStrings(nil, "!"))[0]
	if want := []string{"a!", "é!"}; !slices.Equal(got.Shape, []int{2}) || !slices.Equal(got.Data.([]string), want) {
		t.Errorf("got %v %q, want %q", got.Shape, got.Data, want)
	}
	wantErr(t, "numbers", runNodeErr(t, testNode("StringConcat"), 20, float32s([]int{1}, 1), trStrings([]int{1}, "a")), "string")
}
