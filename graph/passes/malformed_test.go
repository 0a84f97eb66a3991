package passes

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// Malformed models make no pass panic: each either leaves the bad node
// alone, for the engine or Validate to report, or returns an error.
func TestPassesOnMalformedModels(t *testing.T) {
	passes := map[string]func(*graph.Model) (*graph.Model, error){
		"StripDropout": StripDropout, "StripIdentity": StripIdentity,
		"FoldPad": FoldPad, "FoldBatchNorm": FoldBatchNorm, "EliminateDeadCode": EliminateDeadCode,
	}
	for _, tc := range passtest.MalformedModels() {
		for name, pass := range passes {
			t.Run(tc.Name+"/"+name, func(t *testing.T) {
				before := passtest.TakeSnapshot(tc.Model)
				if _, err := pass(tc.Model); err != nil {
					t.Logf("%s: %v", name, err)
				}
				before.CheckUnchanged(t, tc.Model)
				FuseActivations(tc.Model, tc.Model.Graph, fakeCaps)
			})
		}
	}
	for name, pass := range passes {
		if _, err := pass(nil); err == nil {
			t.Errorf("%s(nil): no error", name)
		}
	}
}
