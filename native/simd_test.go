package native

import (
	"errors"
	"strings"
	"testing"
)

// TestCompileRefusesBadCPULevel makes the start-up check of ONNXKIT_CPU
// fail, as an unknown level or one the CPU lacks does: Compile must
// refuse with that error rather than run at another level than the one
// asked for.
func TestCompileRefusesBadCPULevel(t *testing.T) {
	defer func(f func() error) { cpuLevelError = f }(cpuLevelError)
	bad := errors.New(`simd: ONNXKIT_CPU="sse4": unknown CPU level`)
	cpuLevelError = func() error { return bad }
	if _, err := Compile(reluChain(3)); !errors.Is(err, bad) || !strings.Contains(err.Error(), "ONNXKIT_CPU") {
		t.Fatalf("Compile with a bad CPU level: %v, want %v", err, bad)
	}
	cpuLevelError = func() error { return nil }
	if _, err := Compile(reluChain(3)); err != nil {
		t.Fatalf("Compile with the level detected: %v", err)
	}
}
