package leveltest

import (
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/native/simd"
)

// TestRunVisitsEveryLevel checks that Run calls its function once at
// each level the CPU supports, with that level in force, and restores
// the level afterwards.
func TestRunVisitsEveryLevel(t *testing.T) {
	start := simd.Current()
	var seen []simd.Level
	Run(t, func(t *testing.T) { seen = append(seen, simd.Current()) })
	if !slices.Equal(seen, simd.Levels()) {
		t.Errorf("ran at %v, want %v", seen, simd.Levels())
	}
	if simd.Current() != start {
		t.Errorf("level after Run: %s, want %s", simd.Current(), start)
	}
}
