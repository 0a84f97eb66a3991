package native

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/simd"
)

// TestCompileRefusesBadCPULevel runs this test binary again with
// ONNXKIT_CPU naming a level that does not exist: the level is read once
// at start-up, and Compile must refuse, naming the variable, rather than
// run at another level than the one asked for.
func TestCompileRefusesBadCPULevel(t *testing.T) {
	if os.Getenv("ONNXKIT_NATIVE_CPU_CHILD") == "1" {
		_, err := Compile(reluChain(3))
		if err == nil || !strings.Contains(err.Error(), simd.EnvVar+"=sse4") {
			t.Fatalf("with %s=sse4: Compile returned %v, want an error naming the variable", simd.EnvVar, err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCompileRefusesBadCPULevel$")
	cmd.Env = append(os.Environ(), simd.EnvVar+"=sse4", "ONNXKIT_NATIVE_CPU_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if _, err := Compile(reluChain(3)); err != nil {
		t.Fatalf("with the level detected: %v", err)
	}
}
