package train

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/internal/flowerstest"
)

// quickConfig is a short run on a small data set: enough steps for the
// loss to fall, small enough for CI.
func quickConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.Epochs = 3
	cfg.BatchSize = 16
	cfg.LR = 1e-3
	cfg.Schedule = "constant"
	cfg.ValFrac, cfg.TestFrac = 0, 0
	cfg.Threads = 2
	return cfg
}

// TestShortRunLearns trains the notebook's AlexNet on 2 images of each
// class and checks that the training loss falls, and that the run is
// deterministic: a second run's first epoch has exactly the same loss.
func TestShortRunLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains AlexNet for 6 epochs (about 40 s); run without -short")
	}
	dir := flowerstest.Prepare(t, t.TempDir(), 2)
	cfg := quickConfig(dir)
	cfg.Epochs = 5
	run := func(cfg Config) *Result {
		tr, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run(cfg)
	first, last := res.History[0].TrainLoss, res.History[len(res.History)-1].TrainLoss
	t.Logf("train loss by epoch: %v", losses(res.History))
	if !(last < 0.8*first) {
		t.Fatalf("training loss went from %.3f to %.3f; want a fall of at least 20%%", first, last)
	}
	cfg.Epochs = 1
	again := run(cfg)
	for i := range again.History {
		if res.History[i].TrainLoss != again.History[i].TrainLoss {
			t.Fatalf("epoch %d: loss %v, then %v in a second run with the same seed", i+1, res.History[i].TrainLoss, again.History[i].TrainLoss)
		}
	}
}

func losses(h []EpochMetrics) []float64 {
	out := make([]float64, len(h))
	for i, m := range h {
		out[i] = m.TrainLoss
	}
	return out
}

// TestKilledRunResumesExactly starts a training run in a child process,
// kills it with SIGKILL once its first epoch's checkpoint is on disk,
// resumes it here and checks that the final weights equal, bit for bit,
// those of an uninterrupted run with the same seed.
func TestKilledRunResumesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains AlexNet three times (about 60 s); run without -short")
	}
	dir := flowerstest.Prepare(t, t.TempDir(), 1)
	cfg := quickConfig(dir)
	cfg.BatchSize = 8
	ckpt := filepath.Join(t.TempDir(), "run.ckpt")

	child := exec.Command(os.Args[0], "-test.run=^TestTrainChildProcess$")
	child.Env = append(os.Environ(), "ONNXKIT_TRAIN_CHILD="+dir, "ONNXKIT_TRAIN_CKPT="+ckpt)
	child.Stdout, child.Stderr = io.Discard, os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if c, err := ReadCheckpoint(ckpt); err == nil && c.Epochs >= 1 {
			if c.Epochs >= cfg.Epochs {
				t.Fatal("the child finished before it could be killed")
			}
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("no checkpoint after 5 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	resumed, err := New(cfg, Options{Checkpoint: ckpt, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if resumed.EpochsDone() < 1 {
		t.Fatalf("resumed after %d epochs, want at least 1", resumed.EpochsDone())
	}
	if _, err := resumed.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	whole, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, b := resumed.params, whole.params
	for i := range a.Trainable {
		if a.Trainable[i] != b.Trainable[i] {
			t.Fatalf("parameter %d: resumed run %v, uninterrupted run %v", i, a.Trainable[i], b.Trainable[i])
		}
	}
	for i := range a.State {
		if a.State[i] != b.State[i] {
			t.Fatalf("running statistic %d: resumed run %v, uninterrupted run %v", i, a.State[i], b.State[i])
		}
	}
}

// TestTrainChildProcess is the child of TestKilledRunResumesExactly; it
// does nothing unless that test started it.
func TestTrainChildProcess(t *testing.T) {
	dir := os.Getenv("ONNXKIT_TRAIN_CHILD")
	if dir == "" {
		return
	}
	cfg := quickConfig(dir)
	cfg.BatchSize = 8
	tr, err := New(cfg, Options{Checkpoint: os.Getenv("ONNXKIT_TRAIN_CKPT")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointRoundTripAndCorruption(t *testing.T) {
	c := &Checkpoint{Config: DefaultConfig(), Epochs: 2, Step: 30, Classes: []string{"a", "b"},
		TrainableNames: []string{"w"}, OptimizerKind: "adam", OptimizerStep: 30,
		Trainable: []float32{1, 2, 3}, State: []float32{4}, Optimizer: [][]float32{{5, 6, 7}, {8, 9, 10}}}
	path := filepath.Join(t.TempDir(), "c.ckpt")
	if err := WriteCheckpoint(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epochs != 2 || got.Step != 30 || len(got.Optimizer) != 2 || got.Optimizer[1][2] != 10 || got.Trainable[2] != 3 || got.State[0] != 4 {
		t.Fatalf("read back %+v", got)
	}
	whole, _ := os.ReadFile(path)
	for _, n := range []int{0, 5, len(checkpointMagic) + 4, len(whole) / 2, len(whole) - 1} {
		bad := filepath.Join(t.TempDir(), "bad"+strconv.Itoa(n))
		os.WriteFile(bad, whole[:n], 0o644)
		if _, err := ReadCheckpoint(bad); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// TestEmptySplitIsAnError checks that a positive validation or test
// fraction that leaves its split without images (2 images per class at
// 0.15 round to none) is refused before any training, naming the split.
func TestEmptySplitIsAnError(t *testing.T) {
	dir := flowerstest.Prepare(t, t.TempDir(), 2)
	for _, c := range []struct {
		val, test float64
		want      string
	}{{0.15, 0, "validation"}, {0, 0.15, "test"}} {
		cfg := quickConfig(dir)
		cfg.ValFrac, cfg.TestFrac = c.val, c.test
		_, err := New(cfg, Options{})
		var empty *EmptySplitError
		if !errors.As(err, &empty) || empty.Split != c.want || empty.Images != 34 || empty.Classes != 17 {
			t.Errorf("val %g, test %g: error %v, want an EmptySplitError for the %s split of 34 images in 17 classes", c.val, c.test, err, c.want)
		}
	}
}

// TestOnStepReportsEveryStep checks the progress callback: one call per
// step with 1-based counters that end at Steps, and running means that
// match the epoch's metrics.
func TestOnStepReportsEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("trains AlexNet for an epoch (about 10 s); run without -short")
	}
	dir := flowerstest.Prepare(t, t.TempDir(), 1)
	cfg := quickConfig(dir)
	cfg.Epochs, cfg.BatchSize = 1, 8
	var calls []StepProgress
	tr, err := New(cfg, Options{OnStep: func(p StepProgress) { calls = append(calls, p) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 17 images, batches of 8 with the last partial one dropped: 2 steps.
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2: %+v", len(calls), calls)
	}
	for i, p := range calls {
		if p.Step != i+1 || p.Steps != 2 || p.Epoch != 1 || p.Epochs != 1 || p.Images != 8*(i+1) {
			t.Errorf("call %d: %+v", i, p)
		}
	}
	last, m := calls[len(calls)-1], res.History[0]
	if math.Abs(last.Loss-m.TrainLoss) > 1e-12 || last.Accuracy != m.TrainAcc {
		t.Errorf("last call: loss %v acc %v; the epoch's metrics say %v and %v", last.Loss, last.Accuracy, m.TrainLoss, m.TrainAcc)
	}
	if res.Test != nil || res.Validated() {
		t.Errorf("a run without validation and test splits reports Test %v, Validated %v", res.Test, res.Validated())
	}
}
