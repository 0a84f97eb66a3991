package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/internal/testenv"
)

// zooCounts are the parameters and multiply-accumulates per 224x224 image
// that torchvision publishes for its models (the "Params" and "GFLOPS"
// columns of its model table, which count MACs), and, for the two models
// built by conformance/zoo/build.py, counts worked out by hand from their
// layers. A zero is a count not checked: a published figure rounded to
// one or two digits cannot be checked to 2%.
var zooCounts = map[string]struct{ params, macs float64 }{
	"resnet18":           {11_689_512, 1.81e9},
	"resnet50":           {25_557_032, 4.09e9},
	"mobilenet_v2":       {3_504_872, 0.30e9},
	"mobilenet_v3_small": {2_542_856, 0},
	"squeezenet1_1":      {1_235_496, 0.35e9},
	"shufflenet_v2_x1_0": {2_278_604, 0},
	"densenet121":        {7_978_856, 2.83e9},
	"googlenet":          {6_624_904, 1.50e9},
	"vgg16":              {138_357_544, 15.47e9},
	"vit_b_16":           {86_567_656, 17.56e9},
	// Two stacked LSTM layers over 64 frames, hidden 256, 4 gates: per
	// frame 4*256*(40+256) and 4*256*(256+256) MACs; then Linear(256, 12).
	"lstm": {0, 64*4*256*(40+256) + 64*4*256*(256+256) + 256*12},
	// Four encoder layers over 128 tokens, width 256, 4 heads of 64, FFN
	// 1024: per layer the QKV projection 128*256*768, Q*K' and A*V
	// 2*4*128*128*64, the output projection 128*256*256, the FFN
	// 2*128*256*1024 and two LayerNorms 2*128*256; then the input
	// LayerNorm 128*256 and the pooler Linear(256, 256) on one token.
	// (Its parameters are not checked: the exporter stores the four
	// layers' weights, identical at initialization, once.)
	"text_encoder": {0, 4*(128*256*768+2*4*128*128*64+128*256*256+2*128*256*1024+2*128*256) + 128*256 + 256*256},
}

// TestSummaryZoo checks `run --summary` on every model of the zoo: every
// value has a shape, and the parameters and MACs are within 2% of the
// published or hand-worked counts.
func TestSummaryZoo(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the zoo's 400 MB of models")
	}
	dir := testenv.Zoo(t)
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "--summary", "--json", filepath.Join(dir, name+".onnx"))
			if code != exitOK {
				t.Fatalf("exit status %d\n%s", code, stderr)
			}
			var r summaryReport
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatal(err)
			}
			for _, n := range r.Nodes {
				if strings.Contains(n.Output, "?") || strings.Contains(n.Output, "*]") {
					t.Errorf("node %s (%s) has output %s", n.Name, n.Op, n.Output)
				}
			}
			if r.Memory.Unknown != 0 {
				t.Errorf("%d values of unknown shape", r.Memory.Unknown)
			}
			want, ok := zooCounts[name]
			if !ok {
				t.Fatalf("no counts for %s", name)
			}
			check := func(what string, got int64, want float64) {
				if want == 0 {
					return
				}
				if d := math.Abs(float64(got)-want) / want; d > 0.02 {
					t.Errorf("%s %d, want %.4g within 2%% (off by %.1f%%)", what, got, want, 100*d)
				} else {
					t.Logf("%s %d, want %.4g (off by %.2f%%)", what, got, want, 100*d)
				}
			}
			check("parameters", r.Parameters, want.params)
			check("MACs", r.MACs, want.macs)
		})
	}
}
