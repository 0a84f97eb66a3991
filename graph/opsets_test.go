package graph

import (
	"slices"
	"testing"
)

func TestOpVersion(t *testing.T) {
	for _, c := range []struct {
		domain, op string
		opset      int64
		since      int64
		ok         bool
	}{
		{"", "Softmax", 1, 1, true},
		{"", "Softmax", 12, 11, true},
		{"", "Softmax", 13, 13, true},
		{"ai.onnx", "Softmax", 22, 13, true},
		{"", "Conv", 21, 11, true},
		{"", "Conv", 22, 22, true},
		{"", "Conv", 30, 22, true}, // newer than the table: the newest known
		{"", "Reshape", 20, 19, true},
		{"", "Reshape", 21, 21, true},
		{"", "Gelu", 19, 0, false}, // first defined in 20
		{"", "Gelu", 20, 20, true},
		{"", "Upsample", 9, 9, true},
		{"", "Upsample", 10, 10, false}, // deprecated in 10
		{"", "NoSuchOp", 17, 0, false},
		{"ai.onnx.preview.training", "Adam", 1, 1, true},
		{"ai.onnx.ml", "TreeEnsembleClassifier", 3, 3, true},
		{"com.example", "Conv", 17, 0, false},
	} {
		since, ok := OpVersion(c.domain, c.op, c.opset)
		if since != c.since || ok != c.ok {
			t.Errorf("OpVersion(%q, %q, %d) = %d, %v; want %d, %v", c.domain, c.op, c.opset, since, ok, c.since, c.ok)
		}
	}
}

func TestOpVersionsAndKnownOps(t *testing.T) {
	if got := OpVersions("", "Softmax"); !slices.Equal(got, []int64{1, 11, 13}) {
		t.Errorf("OpVersions(Softmax) = %v, want [1 11 13]", got)
	}
	if got := OpVersions("", "BatchNormalization"); !slices.Equal(got, []int64{1, 6, 7, 9, 14, 15}) {
		t.Errorf("OpVersions(BatchNormalization) = %v", got)
	}
	if got := OpVersions("", "Nope"); got != nil {
		t.Errorf("OpVersions(Nope) = %v, want nil", got)
	}
	ops := KnownOps("")
	if !slices.IsSorted(ops) {
		t.Error("KnownOps not sorted")
	}
	for _, op := range []string{"Conv", "Gemm", "LRN", "Softmax", "Gelu", "BitwiseAnd"} {
		if _, found := slices.BinarySearch(ops, op); !found {
			t.Errorf("KnownOps lacks %s", op)
		}
	}
	if latest, ok := KnownDomain("ai.onnx"); !ok || latest != 22 {
		t.Errorf("KnownDomain(ai.onnx) = %d, %v; want 22, true", latest, ok)
	}
	if _, ok := KnownDomain("com.example"); ok {
		t.Error("KnownDomain(com.example) is true")
	}
	if dep, ok := OpDeprecated("", "Scatter", 11); !ok || dep != 11 {
		t.Errorf("OpDeprecated(Scatter, 11) = %d, %v", dep, ok)
	}
	// Every version list is ascending and within the domain's range.
	for domain := range opsetTable {
		latest, _ := KnownDomain(domain)
		for _, op := range KnownOps(domain) {
			vs := OpVersions(domain, op)
			if !slices.IsSorted(vs) || vs[0] < 1 || vs[len(vs)-1] > latest {
				t.Errorf("%s %s: versions %v", domain, op, vs)
			}
		}
	}
}
