package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/train"
)

// TestUsageErrors checks that bad command lines exit with status 2 and
// say what is wrong, before any training starts.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--opset", "12"}, "--opset 12"},
		{[]string{"--opset", "22"}, "--opset 22"},
		{[]string{"--resume"}, "--resume needs --checkpoint"},
		{[]string{"--from-checkpoint", "a.ckpt", "--resume", "--checkpoint", "b"}, "excludes"},
		{[]string{"--epochs", "0"}, "--epochs 0"},
		{[]string{"--batch", "0"}, "--batch 0"},
		{[]string{"--lr", "0"}, "--lr 0"},
		{[]string{"--lr", "-1e-3"}, "--lr -0.001"},
		{[]string{"--max-images", "-1"}, "--max-images -1"},
		{[]string{"--model", "vgg"}, `--model "vgg"`},
		{[]string{"--optimizer", "rmsprop"}, `--optimizer "rmsprop"`},
		{[]string{"--schedule", "linear"}, `--schedule "linear"`},
		{[]string{"--weight-decay", "-1"}, "--weight-decay -1"},
		{[]string{"--warmup", "-1"}, "--warmup -1"},
		{[]string{"--warmup", "5", "--epochs", "4"}, "--warmup 5 is more than --epochs 4"},
		{[]string{"--val", "1"}, "--val 1"},
		{[]string{"--test", "-0.1"}, "--test -0.1"},
		{[]string{"--val", "0.5", "--test", "0.5"}, "sum must be below 1"},
		{[]string{"--threads", "-2"}, "--threads -2"},
		{[]string{"--schedule", "plateau", "--val", "0"}, "needs --val above 0"},
		{[]string{"-o", ""}, "--output"},
		{[]string{"--external-data-threshold", "-1"}, "--external-data-threshold -1"},
		{[]string{"--no-such-flag"}, "unknown flag"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), c.args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: stderr %q does not mention %q", c.args, stderr.String(), c.want)
		}
	}
}

// TestDefaultWarmupFitsShortRuns checks that the default --warmup (3)
// does not refuse a run of fewer epochs: only a given --warmup must fit.
func TestDefaultWarmupFitsShortRuns(t *testing.T) {
	if _, err := parseFlags([]string{"--epochs", "1"}, &bytes.Buffer{}); err != nil {
		t.Fatalf("--epochs 1 with the default --warmup: %v", err)
	}
	if _, err := parseFlags([]string{"--epochs", "4", "--warmup", "4"}, &bytes.Buffer{}); err != nil {
		t.Fatalf("--warmup equal to --epochs: %v", err)
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	for _, flag := range []string{"--model", "--data", "--epochs", "--batch", "--lr", "--optimizer", "--seed",
		"--max-images", "--checkpoint", "--resume", "--from-checkpoint", "--opset", "--dynamic-batch",
		"--external-data-threshold", "--output", "--fold-bn"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("--help does not mention %s", flag)
		}
	}
}

func TestDefaultsAndReportFolder(t *testing.T) {
	cfg, err := parseFlags([]string{"-o", "out/model.onnx"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.reportDir != "out/model.report" || !cfg.dynamicBatch || cfg.train.Opset != 17 || cfg.train.Arch != "keras" {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestFailureExitsOne(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--from-checkpoint", "/nonexistent.ckpt", "-o", t.TempDir() + "/m.onnx"}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "nonexistent.ckpt") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the checkpoint", code, stderr.String())
	}
}

// TestFromCheckpointChecksModel exports a checkpoint of the keras network
// with --model paper: refused, naming both networks, instead of silently
// exporting keras.
func TestFromCheckpointChecksModel(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "keras.ckpt")
	c := &train.Checkpoint{Config: train.DefaultConfig(), Classes: []string{"a", "b"}}
	if err := train.WriteCheckpoint(ckpt, c); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--from-checkpoint", ckpt, "--model", "paper", "-o", filepath.Join(dir, "m.onnx")}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "--model paper") || !strings.Contains(stderr.String(), "keras network") {
		t.Fatalf("exit %d, stderr %q; want a refusal naming paper and keras", code, stderr.String())
	}
}
