package graph

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// refAttr is one line of testdata/attr_reference.txt.
type refAttr struct{ kind, def string }

// loadAttrReference reads testdata/attr_reference.txt (written by
// testdata/gen_attr_reference.py from the onnx package's schemas): by
// domain and operator, by since-version, the attributes.
func loadAttrReference(t *testing.T) map[[2]string]map[int64]map[string]refAttr {
	t.Helper()
	f, err := os.Open("testdata/attr_reference.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref := make(map[[2]string]map[int64]map[string]refAttr)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 6)
		if len(f) != 6 {
			t.Fatalf("bad line %q", line)
		}
		domain := f[0]
		if domain == "-" {
			domain = ""
		}
		since, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		k := [2]string{domain, f[1]}
		if ref[k] == nil {
			ref[k] = make(map[int64]map[string]refAttr)
		}
		if ref[k][since] == nil {
			ref[k][since] = make(map[string]refAttr)
		}
		if f[3] != "-" {
			ref[k][since][f[3]] = refAttr{kind: f[4], def: f[5]}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ref
}

// refDefault writes a declaration's default as the reference does.
func refDefault(s AttrSpec) string {
	switch {
	case s.Required:
		return "required"
	case s.Default == nil:
		return "-"
	}
	a := s.Default
	float := func(f float32) string { return fmt.Sprintf("%.9g", f) }
	quote := func(v string) string { return strconv.Quote(v) }
	list := func(n int, item func(int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item(i)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	switch a.Kind {
	case AttrInt:
		return strconv.FormatInt(a.Int, 10)
	case AttrFloat:
		return float(a.Float)
	case AttrString:
		return quote(a.String)
	case AttrInts:
		return list(len(a.Ints), func(i int) string { return strconv.FormatInt(a.Ints[i], 10) })
	case AttrFloats:
		return list(len(a.Floats), func(i int) string { return float(a.Floats[i]) })
	case AttrStrings:
		return list(len(a.Strings), func(i int) string { return quote(a.Strings[i]) })
	}
	return "tensor"
}

// TestDeclaredAttrsMatchONNX checks the declared attributes of every
// operator that ONNX 1.12 defines, at every version it (re)defined it
// up to opset 17, against the onnx package's schemas: the same names,
// kinds, required flags and defaults.
func TestDeclaredAttrsMatchONNX(t *testing.T) {
	ref := loadAttrReference(t)
	checked, versions := 0, 0
	for domain, ops := range attrSpecs {
		for op := range ops {
			byVersion, ok := ref[[2]string{domain, op}]
			if !ok {
				continue // newer than onnx 1.12
			}
			checked++
			for since, want := range byVersion {
				versions++
				got, _ := DeclaredAttrs(domain, op, since)
				seen := make(map[string]bool)
				for _, s := range got {
					w, ok := want[s.Name]
					switch {
					case !ok:
						t.Errorf("%s %s-%d: %s is declared but not in ONNX", domain, op, since, s.Name)
					case s.Kind.String() != w.kind:
						t.Errorf("%s %s-%d: %s is declared %s, ONNX says %s", domain, op, since, s.Name, s.Kind, w.kind)
					case refDefault(s) != w.def:
						t.Errorf("%s %s-%d: %s is declared with %s, ONNX says %s", domain, op, since, s.Name, refDefault(s), w.def)
					}
					if seen[s.Name] {
						t.Errorf("%s %s-%d: %s is declared twice", domain, op, since, s.Name)
					}
					seen[s.Name] = true
				}
				for name := range want {
					if !seen[name] {
						t.Errorf("%s %s-%d: ONNX's attribute %s is not declared", domain, op, since, name)
					}
				}
			}
		}
	}
	if checked < 150 {
		t.Errorf("only %d operators were compared with the reference", checked)
	}
	t.Logf("%d operators at %d versions match ONNX 1.12", checked, versions)
}

// TestDeclaredAttrsOverlapNowhere checks that no two declarations of an
// attribute of one operator apply at the same version.
func TestDeclaredAttrsOverlapNowhere(t *testing.T) {
	for domain, ops := range attrSpecs {
		for op, specs := range ops {
			for i, a := range specs {
				for _, b := range specs[i+1:] {
					if a.Name != b.Name {
						continue
					}
					aEnd, bEnd := a.Until, b.Until
					if aEnd == 0 {
						aEnd = 1 << 62
					}
					if bEnd == 0 {
						bEnd = 1 << 62
					}
					if a.Since < bEnd && b.Since < aEnd {
						t.Errorf("%q %s: two declarations of %s overlap", domain, op, a.Name)
					}
				}
			}
		}
	}
}

func TestAttrReader(t *testing.T) {
	softmax := &Node{Name: "sm", OpType: "Softmax"}
	for _, c := range []struct {
		opset int64
		want  int64
	}{{11, 1}, {13, -1}} {
		got, err := ReadAttrs(softmax, c.opset).Int("axis")
		if err != nil || got != c.want {
			t.Errorf("Softmax-%d axis: got %d, %v, want %d", c.opset, got, err, c.want)
		}
	}
	gemm := &Node{Name: "fc", OpType: "Gemm", Attrs: []*Attr{IntAttr("transB", 1)}}
	r := ReadAttrs(gemm, 13)
	if v, err := r.Int("transB"); err != nil || v != 1 {
		t.Errorf("transB: got %d, %v, want 1", v, err)
	}
	if v, err := r.Float("alpha"); err != nil || v != 1 {
		t.Errorf("alpha: got %g, %v, want the default 1", v, err)
	}
	// broadcast left Gemm at opset 7: reading it later gives its zero.
	if v, err := r.Int("broadcast"); err != nil || v != 0 {
		t.Errorf("broadcast at opset 13: got %d, %v, want 0", v, err)
	}
	var ne *NodeError
	if _, err := r.Int("alpha"); !errors.As(err, &ne) || ne.Attr != "alpha" || ne.Node != "fc" {
		t.Errorf("alpha read as an int: got %v, want a NodeError naming fc and alpha", err)
	}
	if _, err := r.Int("no_such"); err == nil || !strings.Contains(err.Error(), "not declared for Gemm") {
		t.Errorf("an undeclared attribute: got %v", err)
	}
	cast := &Node{Name: "c", OpType: "Cast"}
	if _, err := ReadAttrs(cast, 13).Int("to"); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("Cast without to: got %v, want an error that it is required", err)
	}
	// A default is the table's own: changing a read value leaves it.
	pool := &Node{OpType: "MaxPool", Attrs: []*Attr{IntsAttr("kernel_shape", 2, 2)}}
	unsqueeze := &Node{OpType: "Unsqueeze"}
	if d, err := ReadAttrs(unsqueeze, 13).Ints("axes"); err != nil || d != nil {
		t.Errorf("Unsqueeze-13 axes (an input since 13): got %v, %v, want nil", d, err)
	}
	if _, err := ReadAttrs(unsqueeze, 11).Ints("axes"); err == nil {
		t.Errorf("Unsqueeze-11 without axes, which it requires, passed")
	}
	k, _ := ReadAttrs(pool, 12).Ints("kernel_shape")
	k[0] = 9
	if k2, _ := ReadAttrs(pool, 12).Ints("kernel_shape"); k2[0] != 2 {
		t.Errorf("a read slice aliases the node's")
	}
}

func TestCheckAttrs(t *testing.T) {
	n := &Node{Name: "relu1", OpType: "LeakyRelu", Attrs: []*Attr{FloatAttr("alpha", 0.1), FloatAttr("slope", 2)}}
	err := CheckAttrs(n, 16)
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Node != "relu1" || ne.Op != "LeakyRelu" || ne.Attr != "slope" {
		t.Fatalf("got %v, want a NodeError naming relu1, LeakyRelu and slope", err)
	}
	if !strings.Contains(err.Error(), "not an attribute of LeakyRelu at opset 16") {
		t.Errorf("message %q does not say why", err)
	}
	// An attribute of another version of the operator.
	red := &Node{Name: "r", OpType: "ReduceMax", Attrs: []*Attr{IntsAttr("axes", 1)}}
	if err := CheckAttrs(red, 13); err != nil {
		t.Errorf("ReduceMax-13 with axes: %v", err)
	}
	if err := CheckAttrs(red, 18); err == nil {
		t.Errorf("ReduceMax-18 with the attribute axes (an input since 18) passed")
	}
	custom := &Node{Name: "x", Domain: "com.example", OpType: "Mine", Attrs: []*Attr{IntAttr("k", 1)}}
	if err := CheckAttrs(custom, 1); err != nil {
		t.Errorf("a custom operator: %v", err)
	}
}

// TestShapeFunctionsReadDeclaredAttrs runs every shape function, at
// several opsets, on a node without attributes whose inputs are float
// tensors of rank 4, and fails when one reads an attribute its operator
// does not declare (a shape function shared by several operators that
// reads one of the others' attributes).
func TestShapeFunctionsReadDeclaredAttrs(t *testing.T) {
	for _, domain := range []string{DefaultDomain, MLDomain, TrainingDomain, "ai.onnx.preview"} {
		for _, op := range ShapeOps(domain) {
			for _, opset := range []int64{1, 7, 11, 13, 17, 18, 21, 28} {
				x := &Value{Name: "x", Type: TensorType(Float32, Dims(2, 3, 4, 5))}
				m := &Model{
					Opsets: []OpsetID{{Domain: domain, Version: opset}},
					Graph: &Graph{
						Inputs:  []*Value{x, {Name: "y", Type: x.Type}, {Name: "z", Type: x.Type}},
						Nodes:   []*Node{{Name: "n", OpType: op, Domain: domain, Inputs: []string{"x", "y", "z"}, Outputs: []string{"a", "b", "c"}}},
						Outputs: []*Value{{Name: "a"}},
					},
				}
				if domain != DefaultDomain {
					m.Opsets = append(m.Opsets, OpsetID{Version: 17})
				}
				_, err := InferTypes(m)
				if err != nil && (strings.Contains(err.Error(), "is not declared for") || strings.Contains(err.Error(), "without the opset")) {
					t.Errorf("%s %s at opset %d: %v", domain, op, opset, err)
				}
			}
		}
	}
}
