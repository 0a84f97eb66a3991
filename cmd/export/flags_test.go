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
		{[]string{"--epochs", "0"}, "must be positive"},
		{[]string{"--external-data-threshold", "-1"}, "must not be negative"},
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
