package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/train"
)

// TestEpochTicksAreWholeEpochs checks that the curves' x axis labels only
// whole epochs: 1 and 2 for a 2-epoch run (not 1.0, 1.5, 2.0), and a
// round step for long runs.
func TestEpochTicksAreWholeEpochs(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range (epochTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := labels(0.8, 2.2); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("2 epochs: labels %v, want [1 2]", got)
	}
	if got := labels(0.8, 60.2); !reflect.DeepEqual(got, []string{"1", "10", "20", "30", "40", "50", "60"}) {
		t.Errorf("60 epochs: labels %v", got)
	}
	if got := labels(1, 3); !reflect.DeepEqual(got, []string{"1", "2", "3"}) {
		t.Errorf("3 epochs: labels %v", got)
	}
}

// TestReportWithoutValidationOrTest writes the report of a run without
// validation and test splits: the pictures that apply are valid PNGs,
// and the metrics record no validation or test accuracy (null, empty
// CSV cells) instead of zeros.
func TestReportWithoutValidationOrTest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m.report")
	cfg := train.DefaultConfig()
	cfg.ValFrac, cfg.TestFrac = 0, 0
	res := &train.Result{Model: &graph.Model{Graph: &graph.Graph{}}, Config: cfg, Classes: []string{"a", "b"},
		History: []train.EpochMetrics{{Epoch: 1, TrainLoss: 2, TrainAcc: 0.5}, {Epoch: 2, TrainLoss: 1, TrainAcc: 0.75}}}
	if err := writeReport(dir, res, nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "curves.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("curves.png: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "confusion.png")); err == nil {
		t.Error("confusion.png written for a run without a test split")
	}
	js, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		History []map[string]any `json:"history"`
		Test    any              `json:"test"`
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if m.Test != nil || m.History[0]["val_acc"] != nil || m.History[1]["train_acc"] != 0.75 {
		t.Errorf("metrics.json: %s", js)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csv), "\n1,0,2,0.5,,,0,0\n") {
		t.Errorf("metrics.csv has no empty validation cells:\n%s", csv)
	}
}

// TestConfusionPicture draws a test split's confusion matrix: a valid PNG
// is written beside confusion.txt, whose rows are the counts.
func TestConfusionPicture(t *testing.T) {
	dir := t.TempDir()
	res := &train.Result{Model: &graph.Model{Graph: &graph.Graph{}}, Config: train.DefaultConfig(),
		Classes: []string{"daisy", "iris", "tulip"},
		Test:    &train.Evaluation{Accuracy: 0.5, Confusion: [][]int{{2, 1, 0}, {0, 1, 0}, {3, 0, 1}}}}
	if err := writeConfusion(dir, res); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "confusion.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("confusion.png: %v", err)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "confusion.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(txt), " 2 tulip          3   0   1") {
		t.Errorf("confusion.txt:\n%s", txt)
	}
}
