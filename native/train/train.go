// Package train trains a graph.Model built by package model on an image
// data set with the native engine: seeded and deterministic for a given
// thread count, checkpointed atomically every epoch, resumable after a
// kill, with per-epoch metrics and the test split's confusion matrix.
// Progress is reported through Options.OnStep; drawing it, and the
// report's pictures, are the caller's.
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/data"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/optim"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Config is a training run. Its zero values are not meaningful; start
// from DefaultConfig.
type Config struct {
	Arch string `json:"arch"`
	// DataDir holds the images, in the 17flowers layout or one folder per
	// class, at BaseSize (256) or larger.
	DataDir   string  `json:"data_dir"`
	Epochs    int     `json:"epochs"`
	BatchSize int     `json:"batch_size"`
	LR        float32 `json:"lr"`
	// Optimizer is "sgd" (momentum 0.9), "adam" or "adamw".
	Optimizer   string  `json:"optimizer"`
	WeightDecay float32 `json:"weight_decay"`
	// Schedule is "cosine" (linear warm-up over WarmupEpochs, at most a
	// quarter of the run, then cosine
	// decay to LR/100), "step" (LR/10 every third of the run), "plateau"
	// (LR/10 after 5 epochs without a better validation loss) or
	// "constant".
	Schedule     string `json:"schedule"`
	WarmupEpochs int    `json:"warmup_epochs"`
	Seed         uint64 `json:"seed"`
	// MaxImages caps the data set (0: all), keeping classes balanced, for
	// quick runs.
	MaxImages int `json:"max_images"`
	// ValFrac and TestFrac split the data, stratified by class; the test
	// split is only used once, after training.
	ValFrac  float64 `json:"val_frac"`
	TestFrac float64 `json:"test_frac"`
	Opset    int64   `json:"opset"`
	// Threads is the number of cores the engine uses (0: those of
	// parallel.SetThreads, by default all). It applies to Run only.
	Threads int `json:"threads"`
	// TenCrop evaluates validation and test with the ten-crop average.
	TenCrop bool `json:"ten_crop"`
}

// DefaultConfig is the run that `export` performs without flags.
func DefaultConfig() Config {
	return Config{
		Arch: "keras", Epochs: 60, BatchSize: 64, LR: 1e-3, Optimizer: "adamw",
		WeightDecay: 5e-4, Schedule: "cosine", WarmupEpochs: 3, Seed: 1,
		ValFrac: 0.15, TestFrac: 0.15, Opset: 17,
	}
}

// EpochMetrics are one epoch's figures. ValLoss and ValAcc are zero when
// the run has no validation split (see Result.Validated).
type EpochMetrics struct {
	Epoch     int     `json:"epoch"`
	LR        float32 `json:"lr"`
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	ValLoss   float64 `json:"val_loss"`
	ValAcc    float64 `json:"val_acc"`
	Seconds   float64 `json:"seconds"`
	ImagesPS  float64 `json:"images_per_second"`
}

// Options are the parts of a run that do not change its result.
type Options struct {
	// Checkpoint, if set, is written atomically after every epoch.
	Checkpoint string
	// Resume continues from Checkpoint when it exists.
	Resume bool
	// OnStep, if set, is called after every training step, for a
	// progress display.
	OnStep func(StepProgress)
	// Log receives a line per epoch; nil for none.
	Log io.Writer
}

// StepProgress describes the training epoch in progress after one step.
type StepProgress struct {
	// Epoch counts from 1 to Epochs; Step from 1 to Steps within it.
	Epoch, Epochs int
	Step, Steps   int
	// Loss and Accuracy are the means over the epoch's steps so far.
	Loss, Accuracy float64
	// Images is the number of images trained on in this epoch so far.
	Images int
	// Elapsed is the time since the epoch started.
	Elapsed time.Duration
}

// Result is a finished run.
type Result struct {
	// Model is the trained training graph (with Dropout), its
	// initializers holding the trained values.
	Model   *graph.Model
	Config  Config
	Classes []string
	History []EpochMetrics
	// Test holds the evaluation of the held-out test split; nil when the
	// run has none (TestFrac 0) or has not finished.
	Test *Evaluation
}

// Validated reports whether the run's epochs were evaluated on a
// validation split, so that the History's ValLoss and ValAcc mean
// something.
func (r *Result) Validated() bool { return r.Config.ValFrac > 0 }

// Trainer holds a run in progress.
type Trainer struct {
	cfg    Config
	opts   Options
	model  *graph.Model
	prog   *native.Program
	params *Params
	grads  []float32
	// gradViews holds each trainable initializer's span of grads.
	gradViews map[string][]float32
	opt       optim.Optimizer
	sched     optim.Schedule
	plateau   *optim.Plateau
	classes   []string
	train     *data.Loader
	val       *data.Loader
	test      *data.Loader
	// epoch and step count what is done.
	epoch, step int
	history     []EpochMetrics
}

// New prepares a run: loads and splits the data, builds the model and the
// optimizer, and restores the checkpoint when resuming.
func New(cfg Config, opts Options) (*Trainer, error) {
	if cfg.Epochs < 1 || cfg.BatchSize < 1 || !(cfg.LR > 0) {
		return nil, fmt.Errorf("train: epochs %d, batch %d and lr %g must be positive", cfg.Epochs, cfg.BatchSize, cfg.LR)
	}
	if cfg.Schedule == "plateau" && cfg.ValFrac == 0 {
		return nil, fmt.Errorf("train: the plateau schedule follows the validation loss; it needs ValFrac above 0")
	}
	spec, ok := model.Specs[cfg.Arch]
	if !ok {
		return nil, fmt.Errorf("train: unknown model %q (want keras or paper)", cfg.Arch)
	}
	trainSet, valSet, testSet, err := Splits(cfg)
	if err != nil {
		return nil, err
	}
	for _, sp := range []struct {
		name string
		frac float64
		set  *data.Dataset
	}{{"validation", cfg.ValFrac, valSet}, {"test", cfg.TestFrac, testSet}} {
		if sp.frac > 0 && len(sp.set.Items) == 0 {
			return nil, &EmptySplitError{Split: sp.name, Fraction: sp.frac,
				Images: len(trainSet.Items) + len(valSet.Items) + len(testSet.Items), Classes: len(trainSet.Classes)}
		}
	}
	t := &Trainer{cfg: cfg, opts: opts, classes: trainSet.Classes}
	transform := data.DefaultTransform()
	transform.CropSize = spec.InputSize
	trainCfg := data.DefaultLoaderConfig(cfg.BatchSize, cfg.Seed)
	trainCfg.Transform = transform
	trainCfg.DropLast = len(trainSet.Items) > cfg.BatchSize
	if t.train, err = data.NewLoader(trainSet.Items, trainCfg); err != nil {
		return nil, err
	}
	evalCfg := trainCfg
	evalCfg.Train, evalCfg.Shuffle, evalCfg.DropLast, evalCfg.TenCrop = false, false, false, cfg.TenCrop
	if cfg.TenCrop {
		evalCfg.BatchSize = max(1, cfg.BatchSize/10)
	}
	if len(valSet.Items) > 0 {
		if t.val, err = data.NewLoader(valSet.Items, evalCfg); err != nil {
			return nil, err
		}
	}
	if len(testSet.Items) > 0 {
		// The test split is read once, at the end: caching its decoded
		// images would only hold them until the process exits.
		testCfg := evalCfg
		testCfg.Cache = false
		if t.test, err = data.NewLoader(testSet.Items, testCfg); err != nil {
			return nil, err
		}
	}
	t.model, err = model.Build(model.Config{Arch: cfg.Arch, Classes: len(t.classes), Opset: cfg.Opset, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	t.params = NewParams(t.model)
	t.grads = make([]float32, len(t.params.Trainable))
	t.gradViews = map[string][]float32{}
	for _, name := range t.params.TrainableNames {
		t.gradViews[name] = t.params.GradView(t.grads, name)
	}
	if t.prog, err = native.Compile(t.model); err != nil {
		return nil, err
	}
	if err := t.newOptimizer(); err != nil {
		return nil, err
	}
	if opts.Resume && opts.Checkpoint != "" {
		c, err := ReadCheckpoint(opts.Checkpoint)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			if err := t.restore(c); err != nil {
				return nil, fmt.Errorf("train: resuming from %s: %w", opts.Checkpoint, err)
			}
		}
	}
	return t, nil
}

// EmptySplitError reports a validation or test split that a positive
// fraction left without images, because the classes are too small for it:
// within each class the fraction of its images is rounded.
type EmptySplitError struct {
	// Split is "validation" or "test".
	Split    string
	Fraction float64
	// Images and Classes describe the data set after MaxImages.
	Images, Classes int
}

// Error says which split is empty and why.
func (e *EmptySplitError) Error() string {
	return fmt.Sprintf("train: the %s split is empty: %d images in %d classes, %g of each class rounds to none",
		e.Split, e.Images, e.Classes, e.Fraction)
}

// Splits loads cfg's data set, caps it at MaxImages and splits it as a
// run with cfg does: the training, validation and held-out test splits.
func Splits(cfg Config) (trainSet, valSet, testSet *data.Dataset, err error) {
	ds, err := data.LoadDir(cfg.DataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	return data.Split(capImages(ds, cfg.MaxImages), cfg.Seed, cfg.ValFrac, cfg.TestFrac)
}

// capImages keeps at most max images (0: all), the same number from each
// class as far as possible, in the data set's order.
func capImages(ds *data.Dataset, max int) *data.Dataset {
	if max <= 0 || max >= len(ds.Items) {
		return ds
	}
	perClass := make([]int, len(ds.Classes))
	quota := max / len(ds.Classes)
	extra := max % len(ds.Classes)
	out := &data.Dataset{Classes: ds.Classes}
	for _, it := range ds.Items {
		limit := quota
		if it.Label < extra {
			limit++
		}
		if perClass[it.Label] < limit {
			perClass[it.Label]++
			out.Items = append(out.Items, it)
		}
	}
	return out
}

func (t *Trainer) newOptimizer() error {
	c := t.cfg
	switch c.Optimizer {
	case "sgd":
		t.opt = optim.NewSGD(0.9, c.WeightDecay)
	case "adam":
		t.opt = optim.NewAdam(0.9, 0.999, 1e-8, c.WeightDecay)
	case "adamw":
		t.opt = optim.NewAdamW(0.9, 0.999, 1e-8, c.WeightDecay)
	default:
		return fmt.Errorf("train: unknown optimizer %q (want sgd, adam or adamw)", c.Optimizer)
	}
	steps := t.train.NumBatches()
	var err error
	switch c.Schedule {
	case "cosine":
		// Warm-up takes at most a quarter of the run, so short runs work.
		warmup := min(c.WarmupEpochs, c.Epochs/4)
		t.sched, err = optim.NewWarmupCosine(c.LR, c.LR/100, warmup*steps, c.Epochs*steps)
	case "step":
		t.sched, err = optim.NewStepDecay(c.LR, 0.1, max(1, c.Epochs/3))
	case "plateau":
		t.plateau, err = optim.NewPlateau(c.LR, optim.Plateau{Mode: optim.Min, Factor: 0.1, Patience: 5, MinLR: c.LR / 1000, Threshold: 1e-3})
		t.sched = t.plateau
	case "constant":
		t.sched = optim.Constant(c.LR)
	default:
		err = fmt.Errorf("train: unknown schedule %q (want cosine, step, plateau or constant)", c.Schedule)
	}
	return err
}

// Run trains the remaining epochs, evaluates the test split and returns
// the result. A cancelled ctx stops it between steps with ctx's error;
// the last checkpoint stays valid. The engine's loops use Config.Threads
// goroutines (parallel.With), whatever the rest of the process uses.
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	var (
		res *Result
		err error
	)
	parallel.With(t.cfg.Threads, func() { res, err = t.run(ctx) })
	return res, err
}

// run is Run on the calling goroutine's thread count.
func (t *Trainer) run(ctx context.Context) (*Result, error) {
	for t.epoch < t.cfg.Epochs {
		m, err := t.runEpoch(ctx)
		if err != nil {
			return nil, err
		}
		t.history = append(t.history, m)
		t.epoch++
		if t.plateau != nil {
			t.plateau.Observe(m.ValLoss)
		}
		if t.opts.Log != nil {
			val := "no validation split"
			if t.val != nil {
				val = fmt.Sprintf("val loss %.4f acc %.1f%%", m.ValLoss, 100*m.ValAcc)
			}
			fmt.Fprintf(t.opts.Log, "epoch %d/%d: lr %.3g, train loss %.4f acc %.1f%%, %s, %.0f s, %.1f images/s\n",
				m.Epoch, t.cfg.Epochs, m.LR, m.TrainLoss, 100*m.TrainAcc, val, m.Seconds, m.ImagesPS)
		}
		if t.opts.Checkpoint != "" {
			if err := WriteCheckpoint(t.opts.Checkpoint, t.checkpoint()); err != nil {
				return nil, fmt.Errorf("train: writing checkpoint: %w", err)
			}
		}
	}
	res := &Result{Model: t.model, Config: t.cfg, Classes: t.classes, History: t.history}
	if t.test != nil {
		ev, err := t.evaluate(ctx, t.test)
		if err != nil {
			return nil, err
		}
		res.Test = &ev
	}
	if t.opts.Checkpoint != "" {
		c := t.checkpoint()
		c.Test = res.Test
		if err := WriteCheckpoint(t.opts.Checkpoint, c); err != nil {
			return nil, fmt.Errorf("train: writing checkpoint: %w", err)
		}
	}
	return res, nil
}

// FromCheckpoint rebuilds the model of a checkpointed run under the given
// opset, with the checkpoint's parameters, without loading any data.
func FromCheckpoint(c *Checkpoint, opset int64) (*Result, error) {
	m, err := model.Build(model.Config{Arch: c.Config.Arch, Classes: len(c.Classes), Opset: opset, Seed: c.Config.Seed})
	if err != nil {
		return nil, err
	}
	t := &Trainer{model: m, params: NewParams(m)}
	if err := t.Load(c); err != nil {
		return nil, err
	}
	cfg := c.Config
	cfg.Opset = opset
	return &Result{Model: m, Config: cfg, Classes: c.Classes, History: c.History, Test: c.Test}, nil
}

func (t *Trainer) runEpoch(ctx context.Context) (EpochMetrics, error) {
	start := time.Now()
	it, err := t.train.Epoch(t.epoch, 0)
	if err != nil {
		return EpochMetrics{}, err
	}
	defer it.Close()
	steps := t.train.NumBatches()
	var lossSum float64
	var correct, seen, step int
	var lr float32
	for {
		if err := ctx.Err(); err != nil {
			return EpochMetrics{}, err
		}
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return EpochMetrics{}, err
		}
		step++
		lr = t.sched.LR(t.epoch, t.step)
		loss, ok, err := t.trainStep(b, lr)
		if err != nil {
			return EpochMetrics{}, err
		}
		lossSum += float64(loss) * float64(len(b.Labels))
		correct += ok
		seen += len(b.Labels)
		t.step++
		if t.opts.OnStep != nil {
			t.opts.OnStep(StepProgress{Epoch: t.epoch + 1, Epochs: t.cfg.Epochs, Step: step, Steps: steps,
				Loss: lossSum / float64(seen), Accuracy: float64(correct) / float64(seen),
				Images: seen, Elapsed: time.Since(start)})
		}
	}
	elapsed := time.Since(start)
	m := EpochMetrics{Epoch: t.epoch + 1, LR: lr, TrainLoss: lossSum / float64(seen),
		TrainAcc: float64(correct) / float64(seen), Seconds: elapsed.Seconds(),
		ImagesPS: float64(seen) / elapsed.Seconds()}
	if t.val != nil {
		ev, err := t.evaluate(ctx, t.val)
		if err != nil {
			return EpochMetrics{}, err
		}
		m.ValLoss, m.ValAcc = ev.Loss, ev.Accuracy
	}
	return m, nil
}

// trainStep runs forward and backward on one batch and updates the
// parameters. It returns the batch's mean loss and its number of correct
// predictions.
func (t *Trainer) trainStep(b *data.Batch, lr float32) (float32, int, error) {
	n, size := len(b.Labels), b.Size
	x := tensor.FromFloat32(b.Images, n, 3, size, size)
	tape, err := t.prog.Forward(map[string]*tensor.Tensor{model.Input: x},
		native.Options{Training: true, Seed: t.cfg.Seed<<20 ^ uint64(t.step)})
	if err != nil {
		return 0, 0, fmt.Errorf("train: step %d: %w", t.step, err)
	}
	logits := tape.Value(model.Logits)
	k := len(t.classes)
	dLogits := tensor.Float32(n, k)
	loss, err := kernels.SoftmaxCrossEntropy(logits.F32(), b.Labels, n, k, dLogits.F32())
	if err != nil {
		return 0, 0, fmt.Errorf("train: step %d: %w", t.step, err)
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		if node, value, found := tape.FirstNonFinite(); found {
			return 0, 0, fmt.Errorf("train: step %d: the loss is %v; the first non-finite value is %q, output of node %q (%s)",
				t.step, loss, value, node.Name, node.OpType)
		}
		return 0, 0, fmt.Errorf("train: step %d: the loss is %v", t.step, loss)
	}
	correct := kernels.CountCorrect(logits.F32(), b.Labels, n, k)
	if err := tape.BackwardInto(map[string]*tensor.Tensor{model.Logits: dLogits}, t.gradViews); err != nil {
		return 0, 0, fmt.Errorf("train: step %d: %w", t.step, err)
	}
	tape.Release()
	t.opt.Step(t.params.Trainable, t.grads, lr)
	return loss, correct, nil
}

// Evaluation is a model's performance on one split.
type Evaluation struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	// Confusion[i][j] counts samples of class i predicted as class j.
	Confusion [][]int `json:"confusion"`
}

// evaluate runs the model in inference mode over a split, averaging the
// probabilities of the ten crops when the loader yields them.
func (t *Trainer) evaluate(ctx context.Context, l *data.Loader) (Evaluation, error) {
	k := len(t.classes)
	ev := Evaluation{Confusion: make([][]int, k)}
	for i := range ev.Confusion {
		ev.Confusion[i] = make([]int, k)
	}
	it, err := l.Epoch(0, 0)
	if err != nil {
		return ev, err
	}
	defer it.Close()
	var lossSum float64
	var seen, correct int
	for {
		if err := ctx.Err(); err != nil {
			return ev, err
		}
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ev, err
		}
		images := len(b.Labels) * b.Crops
		x := tensor.FromFloat32(b.Images, images, 3, b.Size, b.Size)
		out, err := t.prog.Run(map[string]*tensor.Tensor{model.Input: x})
		if err != nil {
			return ev, err
		}
		probs := out[model.Output].F32()
		for s, label := range b.Labels {
			avg := make([]float64, k)
			for c := 0; c < b.Crops; c++ {
				row := probs[(s*b.Crops+c)*k:]
				for j := range avg {
					avg[j] += float64(row[j]) / float64(b.Crops)
				}
			}
			pred := argmax(avg)
			ev.Confusion[label][pred]++
			if pred == label {
				correct++
			}
			lossSum -= math.Log(max(avg[label], 1e-12))
			seen++
		}
	}
	ev.Loss, ev.Accuracy = lossSum/float64(seen), float64(correct)/float64(seen)
	return ev, nil
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func (t *Trainer) checkpoint() *Checkpoint {
	st := t.opt.State()
	c := &Checkpoint{
		Config: t.cfg, Epochs: t.epoch, Step: t.step, History: t.history, Classes: t.classes,
		TrainableNames: t.params.TrainableNames, StateNames: t.params.StateNames,
		OptimizerKind: st.Kind, OptimizerStep: st.Step,
		Trainable: t.params.Trainable, State: t.params.State, Optimizer: st.Buffers,
	}
	if t.plateau != nil {
		ps := t.plateau.State()
		c.Plateau = &ps
	}
	return c
}

// restore loads a checkpoint of the same run into the trainer.
func (t *Trainer) restore(c *Checkpoint) error {
	if c.Config != t.cfg {
		return fmt.Errorf("it was written by another configuration: %s", strings.Join(ConfigDiff(c.Config, t.cfg), ", "))
	}
	if err := t.Load(c); err != nil {
		return err
	}
	if err := t.opt.SetState(optim.State{Kind: c.OptimizerKind, Step: c.OptimizerStep, Buffers: c.Optimizer}); err != nil {
		return err
	}
	if c.Plateau != nil && t.plateau != nil {
		if err := t.plateau.SetState(*c.Plateau); err != nil {
			return err
		}
	}
	t.epoch, t.step, t.history = c.Epochs, c.Step, c.History
	return nil
}

// ConfigDiff names the fields in which configuration a (a checkpoint's)
// differs from b (this run's), by their JSON names, as
// "lr 0.001 in the checkpoint, 0.01 here".
func ConfigDiff(a, b Config) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if fa != fb {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, fmt.Sprintf("%s %v in the checkpoint, %v here", name, fa, fb))
		}
	}
	return out
}

// Load copies a checkpoint's parameters and running statistics into the
// model, after checking that its layout matches.
func (t *Trainer) Load(c *Checkpoint) error {
	if !slices.Equal(c.TrainableNames, t.params.TrainableNames) || !slices.Equal(c.StateNames, t.params.StateNames) ||
		len(c.Trainable) != len(t.params.Trainable) || len(c.State) != len(t.params.State) {
		return errors.New("its parameters do not match the model's")
	}
	copy(t.params.Trainable, c.Trainable)
	copy(t.params.State, c.State)
	return nil
}

// Model returns the model being trained; its initializers hold the
// current parameters.
func (t *Trainer) Model() *graph.Model { return t.model }

// Classes returns the class names, in label order.
func (t *Trainer) Classes() []string { return t.classes }

// EpochsDone is the number of epochs completed, including those restored
// from a checkpoint.
func (t *Trainer) EpochsDone() int { return t.epoch }
