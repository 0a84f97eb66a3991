package main

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/spf13/pflag"

	"github.com/onnxkit/onnxkit/native/model"
	"github.com/onnxkit/onnxkit/native/train"
)

// config is a parsed command line.
type config struct {
	train          train.Config
	output         string
	checkpoint     string
	resume         bool
	fromCheckpoint string
	// archGiven is set when --model was given: --from-checkpoint then
	// checks it against the checkpoint's network.
	archGiven    bool
	dynamicBatch bool
	foldBN       bool
	externalData int64
	reportDir    string
	quiet        bool
}

const usage = `Usage: export [flags]

Trains AlexNet from scratch in the pure-Go engine on Oxford 17 Flowers (or
the images in --data), evaluates it on a held-out test split, and writes
the inference graph as an ONNX model: BatchNormalization with its running
statistics, Dropout removed, softmax probabilities at the end, a symbolic
batch dimension, and metadata_props with the class names, the expected
preprocessing and a training summary. With --from-checkpoint it exports a
finished or interrupted run without training.

Without --data the images come from ../shared/data/oxflower17 beside the
repository, shrunk once to 256x256 into .cache/oxflower17-256.

Exit status: 0 done, 1 failed, 2 bad usage.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	def := train.DefaultConfig()
	cfg := &config{train: def}
	fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	t := &cfg.train
	fs.StringVar(&t.Arch, "model", def.Arch, "network: keras (the reference notebook's AlexNet, 224x224) or paper (Krizhevsky et al. 2012, 227x227 with LRN and grouped convolutions)")
	fs.StringVar(&t.DataDir, "data", "", "image folder in the 17flowers layout (jpg/image_NNNN.jpg with labels.csv) or one folder per class; default: the prepared Oxford 17 Flowers set")
	fs.IntVar(&t.Epochs, "epochs", def.Epochs, "training epochs")
	fs.IntVar(&t.BatchSize, "batch", def.BatchSize, "images per training step")
	fs.Float32Var(&t.LR, "lr", def.LR, "peak learning rate")
	fs.StringVar(&t.Optimizer, "optimizer", def.Optimizer, "sgd (momentum 0.9), adam or adamw")
	fs.Float32Var(&t.WeightDecay, "weight-decay", def.WeightDecay, "weight decay (L2 for sgd and adam, decoupled for adamw)")
	fs.StringVar(&t.Schedule, "schedule", def.Schedule, "learning-rate schedule: cosine (with warm-up), step, plateau or constant")
	fs.IntVar(&t.WarmupEpochs, "warmup", def.WarmupEpochs, "warm-up epochs of the cosine schedule, at most --epochs (by default at most a quarter of the run)")
	fs.Uint64Var(&t.Seed, "seed", def.Seed, "seed of the weights, the split, the batch order and the augmentation")
	fs.IntVar(&t.MaxImages, "max-images", 0, "use at most N images, balanced over the classes (0: all), for quick runs")
	fs.Float64Var(&t.ValFrac, "val", def.ValFrac, "fraction of each class for validation")
	fs.Float64Var(&t.TestFrac, "test", def.TestFrac, "fraction of each class held out for the final test")
	fs.IntVar(&t.Threads, "threads", 0, "cores to use (0: all)")
	fs.BoolVar(&t.TenCrop, "ten-crop", false, "evaluate with the ten-crop average instead of the centre crop")
	fs.Int64Var(&t.Opset, "opset", def.Opset, "ONNX opset of the exported file, 13 to 21")
	fs.StringVar(&cfg.checkpoint, "checkpoint", "", "write a checkpoint to this file after every epoch")
	fs.BoolVar(&cfg.resume, "resume", false, "continue the run saved in --checkpoint (a new run when it does not exist yet)")
	fs.StringVar(&cfg.fromCheckpoint, "from-checkpoint", "", "export the run saved in this checkpoint without training")
	fs.BoolVar(&cfg.dynamicBatch, "dynamic-batch", true, "give the input and output a symbolic batch dimension N (else batch 1)")
	fs.BoolVar(&cfg.foldBN, "fold-bn", false, "fold BatchNormalization into the neighbouring Conv/Gemm where exact")
	fs.Int64Var(&cfg.externalData, "external-data-threshold", 0, "store initializers of at least this many bytes in a side file (0: only past the 2 GiB protobuf limit)")
	fs.StringVarP(&cfg.output, "output", "o", "alexnet.onnx", "the ONNX file to write")
	fs.StringVar(&cfg.reportDir, "report", "", "folder for metrics.csv/json, curves, confusion matrix, filters and feature maps (default: OUTPUT without .onnx, plus .report)")
	fs.BoolVarP(&cfg.quiet, "quiet", "q", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	cfg.archGiven = fs.Changed("model")
	if err := checkFlags(cfg, fs.Changed("warmup")); err != nil {
		return nil, err
	}
	if cfg.reportDir == "" {
		cfg.reportDir = trimExt(cfg.output) + ".report"
	}
	return cfg, nil
}

// checkFlags checks the parsed values, one flag at a time, so that each
// error names the flag at fault. warmupGiven tells whether --warmup was on
// the command line: its default may exceed a short run's --epochs (the
// trainer then warms up over a quarter of the run), a given value may not.
func checkFlags(cfg *config, warmupGiven bool) error {
	t := &cfg.train
	_, knownModel := model.Specs[t.Arch]
	switch {
	case !knownModel:
		return fmt.Errorf("--model %q: want keras or paper", t.Arch)
	case t.Epochs < 1:
		return fmt.Errorf("--epochs %d: must be at least 1", t.Epochs)
	case t.BatchSize < 1:
		return fmt.Errorf("--batch %d: must be at least 1", t.BatchSize)
	case !(t.LR > 0) || math.IsInf(float64(t.LR), 0):
		return fmt.Errorf("--lr %g: must be positive and finite", t.LR)
	case !slices.Contains([]string{"sgd", "adam", "adamw"}, t.Optimizer):
		return fmt.Errorf("--optimizer %q: want sgd, adam or adamw", t.Optimizer)
	case !(t.WeightDecay >= 0) || math.IsInf(float64(t.WeightDecay), 0):
		return fmt.Errorf("--weight-decay %g: must be zero or positive and finite", t.WeightDecay)
	case !slices.Contains([]string{"cosine", "step", "plateau", "constant"}, t.Schedule):
		return fmt.Errorf("--schedule %q: want cosine, step, plateau or constant", t.Schedule)
	case t.WarmupEpochs < 0:
		return fmt.Errorf("--warmup %d: must not be negative", t.WarmupEpochs)
	case warmupGiven && t.WarmupEpochs > t.Epochs:
		return fmt.Errorf("--warmup %d is more than --epochs %d", t.WarmupEpochs, t.Epochs)
	case t.MaxImages < 0:
		return fmt.Errorf("--max-images %d: must not be negative (0: all)", t.MaxImages)
	case !(t.ValFrac >= 0 && t.ValFrac < 1):
		return fmt.Errorf("--val %g: want a fraction from 0 to below 1", t.ValFrac)
	case !(t.TestFrac >= 0 && t.TestFrac < 1):
		return fmt.Errorf("--test %g: want a fraction from 0 to below 1", t.TestFrac)
	case t.ValFrac+t.TestFrac >= 1:
		return fmt.Errorf("--val %g and --test %g leave no training images: their sum must be below 1", t.ValFrac, t.TestFrac)
	case t.Schedule == "plateau" && t.ValFrac == 0:
		return fmt.Errorf("--schedule plateau follows the validation loss; it needs --val above 0")
	case t.Threads < 0:
		return fmt.Errorf("--threads %d: must not be negative (0: all cores)", t.Threads)
	case t.Opset < 13 || t.Opset > 21:
		return fmt.Errorf("--opset %d: supported are 13 to 21", t.Opset)
	case cfg.resume && cfg.checkpoint == "":
		return fmt.Errorf("--resume needs --checkpoint")
	case cfg.fromCheckpoint != "" && (cfg.resume || cfg.checkpoint != ""):
		return fmt.Errorf("--from-checkpoint exports without training; it excludes --checkpoint and --resume")
	case cfg.externalData < 0:
		return fmt.Errorf("--external-data-threshold %d: must not be negative", cfg.externalData)
	case cfg.output == "":
		return fmt.Errorf("--output: must name a file")
	}
	return nil
}

func trimExt(path string) string {
	if n := len(path); n > 5 && path[n-5:] == ".onnx" {
		return path[:n-5]
	}
	return path
}
