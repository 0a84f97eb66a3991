package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/internal/repo"
	"github.com/onnxkit/onnxkit/native/data"
	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/preprocess"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/train"
	"github.com/onnxkit/onnxkit/onnx"
)

// version is written as the exported model's producer_version.
const version = "0.1.0"

// metaTraining is the metadata key of the training summary; the class
// names and the preprocessing are written by package preprocess.
const metaTraining = "onnxkit.training"

func export(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	// The folders of every file the run writes are made first, so that a
	// long run cannot fail at its end for want of one.
	dirs := []string{filepath.Dir(cfg.output)}
	if cfg.checkpoint != "" {
		dirs = append(dirs, filepath.Dir(cfg.checkpoint))
	}
	if cfg.fromCheckpoint == "" {
		dirs = append(dirs, cfg.reportDir)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	res, err := trainedModel(ctx, cfg, stdout, stderr)
	if err != nil {
		return err
	}
	// The trainer's state (the tape's buffers, the optimizer's moments,
	// the decoded images: 1.1 GiB for AlexNet at batch 64) is garbage
	// now, but the collector had not run since: the export's
	// allocations, some 200 MiB, came on top of it, and set the run's
	// resident peak (heap 1,627 MiB against at most 1,549 in training).
	// Collect first.
	runtime.GC()
	m, err := inferenceModel(res, cfg)
	if err != nil {
		return err
	}
	if err := onnx.WriteFile(cfg.output, m, &onnx.WriteOptions{ExternalDataThreshold: cfg.externalData}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, opset %d, %s)\n", cfg.output, res.Config.Arch, res.Config.Opset, testSummary(res))
	if err := verifyExport(ctx, cfg.output, m, cfg.train.Threads); err != nil {
		return fmt.Errorf("checking %s: %w", cfg.output, err)
	}
	return nil
}

// verifyExport loads the file written at path in a session and checks
// that it gives, on one random batch-1 input, the outputs of m, the
// model it was written from, bitwise.
func verifyExport(ctx context.Context, path string, m *graph.Model, threads int) error {
	opts := onnxkit.Options{Threads: threads, Optimization: onnxkit.OptimizeNone}
	written, err := onnxkit.Open(path, opts)
	if err != nil {
		return err
	}
	memory, err := onnxkit.NewSession(m, opts)
	if err != nil {
		return err
	}
	in := map[string]*tensor.Tensor{}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v := range written.Inputs() {
		shape := make([]int, len(v.Shape))
		for i, d := range v.Shape {
			shape[i] = 1 // a symbolic batch
			if d.Known() {
				shape[i] = int(d.Size)
			}
		}
		if v.DType != graph.Float32 {
			return fmt.Errorf("input %s: want float32", v)
		}
		x := tensor.Float32(shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		in[v.Name] = x
	}
	got, err := written.Run(ctx, in)
	if err != nil {
		return err
	}
	want, err := memory.Run(ctx, in)
	if err != nil {
		return err
	}
	for name, w := range want {
		if !identical(got[name], w) {
			return fmt.Errorf("output %q of the written file differs from the trained model's", name)
		}
	}
	return nil
}

// identical reports whether a and b are float32 tensors of the same shape
// and bits.
func identical(a, b *tensor.Tensor) bool {
	if a == nil || b == nil || a.DType != graph.Float32 || b.DType != graph.Float32 || !slices.Equal(a.Shape, b.Shape) {
		return false
	}
	x, y := a.F32(), b.F32()
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

// trainedModel trains, resumes or loads the run that cfg describes.
func trainedModel(ctx context.Context, cfg *config, stdout, stderr io.Writer) (*train.Result, error) {
	if cfg.fromCheckpoint != "" {
		c, err := train.ReadCheckpoint(cfg.fromCheckpoint)
		if err != nil {
			return nil, err
		}
		if cfg.archGiven && c.Config.Arch != cfg.train.Arch {
			return nil, fmt.Errorf("--model %s: checkpoint %s holds a %s network; drop --model to export it as it is",
				cfg.train.Arch, cfg.fromCheckpoint, c.Config.Arch)
		}
		return train.FromCheckpoint(c, cfg.train.Opset)
	}
	if cfg.train.DataDir == "" {
		dir, err := defaultData(stdout)
		if err != nil {
			return nil, err
		}
		cfg.train.DataDir = dir
	}
	opts := train.Options{Checkpoint: cfg.checkpoint, Resume: cfg.resume, Log: stdout}
	if !cfg.quiet {
		opts.OnStep = newProgress(stderr).step
	}
	start := time.Now()
	fmt.Fprintf(stdout, "loading %s and compiling %s\n", cfg.train.DataDir, cfg.train.Arch)
	t, err := train.New(cfg.train, opts)
	var empty *train.EmptySplitError
	if errors.As(err, &empty) {
		flag := map[string]string{"validation": "--val", "test": "--test"}[empty.Split]
		return nil, usageError{fmt.Errorf("%s %g leaves the %s split empty: %d images in %d classes give too few per class; "+
			"use more images (--max-images) or a larger %s, or %s 0 to train without a %s split",
			flag, empty.Fraction, empty.Split, empty.Images, empty.Classes, flag, flag, empty.Split)}
	}
	if err != nil {
		return nil, err
	}
	switch done := t.EpochsDone(); {
	case done > 0:
		fmt.Fprintf(stdout, "resuming %s after epoch %d\n", cfg.checkpoint, done)
	case cfg.resume:
		fmt.Fprintf(stdout, "--resume: no checkpoint at %s yet; starting a new run\n", cfg.checkpoint)
	}
	if cfg.train.ValFrac == 0 {
		fmt.Fprintln(stdout, "--val 0: no validation split; no validation accuracy is recorded")
	}
	if cfg.train.TestFrac == 0 {
		fmt.Fprintln(stdout, "--test 0: no test split; no test accuracy is recorded")
	}
	res, err := t.Run(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "trained in %s: %s\n", time.Since(start).Round(time.Second), testSummary(res))
	if err := writeReport(cfg.reportDir, res, sampleImage(res, cfg.train.DataDir)); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "report in %s\n", cfg.reportDir)
	return res, nil
}

// testSummary describes the run's test evaluation in a few words.
func testSummary(res *train.Result) string {
	if res.Test == nil {
		return "no test evaluation"
	}
	return fmt.Sprintf("test accuracy %.1f%% (loss %.3f)", 100*res.Test.Accuracy, res.Test.Loss)
}

// defaultData prepares the Oxford 17 Flowers images beside the repository
// as 256x256 JPEGs in the repository's cache, once, and returns their folder.
func defaultData(stdout io.Writer) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := repo.Root(wd)
	if err != nil {
		return "", fmt.Errorf("the default data set is prepared inside the repository; run from it or pass --data: %w", err)
	}
	src := data.SourceDir(root)
	if _, err := os.Stat(filepath.Join(src, "jpg")); err != nil {
		return "", fmt.Errorf("the Oxford 17 Flowers images are not in %s (%v): download 17flowers.tgz from "+
			"https://www.robots.ox.ac.uk/~vgg/data/flowers/17/ and unpack it there, so that %s holds image_0001.jpg to image_1360.jpg, "+
			"or train on other images with --data DIR", src, err, filepath.Join(src, "jpg"))
	}
	dst := data.PreparedDir(root)
	if _, err := os.Stat(filepath.Join(dst, "labels.csv")); err != nil {
		fmt.Fprintf(stdout, "preparing the images of %s once into %s (about a minute)\n", src, dst)
	}
	return data.EnsurePrepared(src, dst)
}

// sampleImage returns the first image of the data set, centre-cropped and
// normalised as in evaluation, for the report's feature maps; nil if it
// cannot be read.
func sampleImage(res *train.Result, dir string) *tensor.Tensor {
	ds, err := data.LoadDir(dir)
	if err != nil || len(ds.Items) == 0 {
		return nil
	}
	tr := data.DefaultTransform()
	tr.CropSize = model.Specs[res.Config.Arch].InputSize
	img, err := data.LoadBase(ds.Items[0].Path, tr.BaseSize)
	if err != nil {
		return nil
	}
	x := tensor.Float32(1, 3, tr.CropSize, tr.CropSize)
	tr.Apply(x.F32(), img, tr.Center())
	return x
}

// inferenceModel turns the trained training graph into the exported one.
func inferenceModel(res *train.Result, cfg *config) (*graph.Model, error) {
	m, err := passes.Inference(res.Model, passes.Options{FoldBN: cfg.foldBN})
	if err != nil {
		return nil, err
	}
	spec := model.Specs[res.Config.Arch]
	m.ProducerName, m.ProducerVersion = "onnxkit", version
	m.DocString = fmt.Sprintf("%s Trained from scratch by onnxkit's pure-Go engine on %d classes; %s.",
		spec.Doc, len(res.Classes), testSummary(res))
	if !cfg.dynamicBatch {
		for _, v := range append(append([]*graph.Value{}, m.Graph.Inputs...), m.Graph.Outputs...) {
			if v.Type != nil && len(v.Type.Shape) > 0 && !v.Type.Shape[0].Known() {
				v.Type.Shape[0] = graph.Fixed(1)
			}
		}
	}
	classes, err := preprocess.ClassesMetadata(res.Classes)
	if err != nil {
		return nil, err
	}
	tr := data.DefaultTransform()
	pre, err := preprocess.Spec{
		InputSize: spec.InputSize, Resize: tr.BaseSize, Crop: "center", ChannelOrder: "RGB", Layout: "NCHW",
		Scale: "1/255", Mean: float64s(tr.Mean), Std: float64s(tr.Std),
	}.Metadata()
	if err != nil {
		return nil, err
	}
	training := map[string]any{
		"model": res.Config.Arch, "epochs": len(res.History), "seed": res.Config.Seed,
		"optimizer": res.Config.Optimizer, "batch_size": res.Config.BatchSize, "lr": res.Config.LR,
	}
	// Accuracies are recorded only where they were measured.
	if n := len(res.History); n > 0 {
		training["train_accuracy"] = res.History[n-1].TrainAcc
		if res.Validated() {
			training["validation_accuracy"] = res.History[n-1].ValAcc
		}
	}
	if res.Test != nil {
		training["test_accuracy"] = res.Test.Accuracy
	}
	summary, err := json.Marshal(training)
	if err != nil {
		return nil, err
	}
	m.Metadata = append(m.Metadata, classes, pre, graph.StringPair{Key: metaTraining, Value: string(summary)})
	return m, nil
}

// float64s widens float32 values to the float64 closest to their
// shortest decimal form, so that 0.485f is written as 0.485.
func float64s(xs [3]float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i], _ = strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	}
	return out
}
