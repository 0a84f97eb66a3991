package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/internal/flowerstest"
	"github.com/onnxkit/onnxkit/onnx"
)

// TestEmptySplitIsAUsageError checks that a split fraction that leaves
// no image in its split (34 images, 2 per class, at --val 0.15) stops the
// run before training with exit status 2, naming the flags to change.
func TestEmptySplitIsAUsageError(t *testing.T) {
	images := flowerstest.Prepare(t, t.TempDir(), 2)
	var stdout, stderr bytes.Buffer
	out := filepath.Join(t.TempDir(), "m.onnx")
	code := run(context.Background(), []string{"--data", images, "--epochs", "1", "-q", "-o", out}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--val 0.15 leaves the validation split empty") ||
		!strings.Contains(stderr.String(), "--max-images") {
		t.Fatalf("exit %d, stderr %q; want 2 naming --val and --max-images", code, stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was written", out)
	}
}

// TestRunMakesFoldersAndRecordsOnlyMeasuredAccuracy trains one epoch on
// 17 images into folders that do not exist yet, with --resume and a
// checkpoint that does not exist either, and without validation and test
// splits. The folders are made, the run says it starts anew, and the
// model's metadata records no validation or test accuracy.
func TestRunMakesFoldersAndRecordsOnlyMeasuredAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains AlexNet for a step and writes the report (about 15 s); run without -short")
	}
	images := flowerstest.Prepare(t, t.TempDir(), 1)
	root := t.TempDir()
	out := filepath.Join(root, "runs", "a", "m.onnx")
	ckpt := filepath.Join(root, "ckpt", "b", "m.ckpt")
	var stdout, stderr bytes.Buffer
	args := []string{"--data", images, "--epochs", "1", "--batch", "17", "--val", "0", "--test", "0",
		"--threads", "2", "-o", out, "--checkpoint", ckpt, "--resume"}
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"no checkpoint at " + ckpt + " yet; starting a new run", "no validation split",
		"no test split", "wrote " + out} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout does not say %q:\n%s", want, stdout.String())
		}
	}
	// stderr is not a terminal here: plain progress lines ending at 100%.
	if strings.Contains(stderr.String(), "\r") || !strings.Contains(stderr.String(), "step 1/1 (100%)") {
		t.Errorf("progress on a non-terminal: %q; want plain lines ending at step 1/1 (100%%)", stderr.String())
	}
	for _, f := range []string{out, ckpt, filepath.Join(root, "runs", "a", "m.report", "metrics.json"),
		filepath.Join(root, "runs", "a", "m.report", "curves.png")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	m, err := onnx.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m.MetadataValue(metaTraining)
	if !ok {
		t.Fatalf("no %s metadata", metaTraining)
	}
	var training map[string]any
	if err := json.Unmarshal([]byte(s), &training); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"validation_accuracy", "test_accuracy"} {
		if v, ok := training[absent]; ok {
			t.Errorf("%s records %s = %v for a run without that split", metaTraining, absent, v)
		}
	}
	if _, ok := training["train_accuracy"]; !ok {
		t.Errorf("%s has no train_accuracy: %s", metaTraining, s)
	}
}
