package train

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// WriteReport writes a run's artefacts into dir: metrics.csv and
// metrics.json (one row per epoch, and the test evaluation), curves.png
// (loss and accuracy), confusion.png and confusion.txt (test split),
// filters.png (conv1's learned filters) and, when sample holds one
// preprocessed image [1,3,S,S], featuremaps.png (conv1's first 32
// activation maps for it). Each file is written atomically.
func WriteReport(dir string, res *Result, sample *tensor.Tensor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	steps := []func() error{
		func() error { return writeMetrics(dir, res) },
		func() error { return writeCurves(filepath.Join(dir, "curves.png"), res.History) },
		func() error { return writeConfusion(dir, res) },
		func() error { return writeFilters(filepath.Join(dir, "filters.png"), res) },
	}
	if sample != nil {
		steps = append(steps, func() error { return writeFeatureMaps(filepath.Join(dir, "featuremaps.png"), res, sample) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("train: report: %w", err)
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeMetrics(dir string, res *Result) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "images_per_second"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	for _, m := range res.History {
		w.Write([]string{strconv.Itoa(m.Epoch), f(float64(m.LR)), f(m.TrainLoss), f(m.TrainAcc),
			f(m.ValLoss), f(m.ValAcc), f(m.Seconds), f(m.ImagesPS)})
	}
	w.Flush()
	if err := writeFileAtomic(filepath.Join(dir, "metrics.csv"), b.Bytes()); err != nil {
		return err
	}
	js, err := json.MarshalIndent(struct {
		Config  Config         `json:"config"`
		Classes []string       `json:"classes"`
		History []EpochMetrics `json:"history"`
		Test    struct {
			Loss     float64 `json:"loss"`
			Accuracy float64 `json:"accuracy"`
		} `json:"test"`
	}{res.Config, res.Classes, res.History, struct {
		Loss     float64 `json:"loss"`
		Accuracy float64 `json:"accuracy"`
	}{res.Test.Loss, res.Test.Accuracy}}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "metrics.json"), js)
}

func writeCurves(path string, history []EpochMetrics) error {
	if len(history) == 0 {
		return nil
	}
	series := func(get func(EpochMetrics) float64) plotter.XYs {
		xy := make(plotter.XYs, len(history))
		for i, m := range history {
			xy[i].X, xy[i].Y = float64(m.Epoch), get(m)
		}
		return xy
	}
	loss := plot.New()
	loss.Title.Text = "Cross-entropy loss"
	loss.X.Label.Text = "epoch"
	if err := plotutil.AddLinePoints(loss,
		"train", series(func(m EpochMetrics) float64 { return m.TrainLoss }),
		"validation", series(func(m EpochMetrics) float64 { return m.ValLoss })); err != nil {
		return err
	}
	acc := plot.New()
	acc.Title.Text = "Top-1 accuracy"
	acc.X.Label.Text = "epoch"
	acc.Y.Min, acc.Y.Max = 0, 1
	if err := plotutil.AddLinePoints(acc,
		"train", series(func(m EpochMetrics) float64 { return m.TrainAcc }),
		"validation", series(func(m EpochMetrics) float64 { return m.ValAcc })); err != nil {
		return err
	}
	acc.Legend.Top = true
	return savePlots(path, 10*vg.Inch, 4*vg.Inch, loss, acc)
}

// savePlots draws plots side by side into one PNG.
func savePlots(path string, width, height vg.Length, plots ...*plot.Plot) error {
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}

// confusionGrid adapts a confusion matrix to plotter.GridXYZ, rows from
// the top.
type confusionGrid [][]int

func (g confusionGrid) Dims() (c, r int)   { return len(g), len(g) }
func (g confusionGrid) Z(c, r int) float64 { return float64(g[len(g)-1-r][c]) }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }

func writeConfusion(dir string, res *Result) error {
	conf := res.Test.Confusion
	if len(conf) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Confusion matrix of the test split (rows: true class, columns: predicted), accuracy %.1f%%\n\n", 100*res.Test.Accuracy)
	for i, row := range conf {
		fmt.Fprintf(&b, "%2d %-12s", i, res.Classes[i])
		for _, v := range row {
			fmt.Fprintf(&b, " %3d", v)
		}
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(filepath.Join(dir, "confusion.txt"), []byte(b.String())); err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Test confusion matrix (accuracy %.1f%%)", 100*res.Test.Accuracy)
	p.X.Label.Text = "predicted class"
	p.Y.Label.Text = "true class"
	p.Add(plotter.NewHeatMap(confusionGrid(conf), moreland.SmoothBlueRed().Palette(64)))
	ticks := make([]plot.Tick, len(conf))
	yticks := make([]plot.Tick, len(conf))
	for i := range conf {
		ticks[i] = plot.Tick{Value: float64(i), Label: strconv.Itoa(i)}
		yticks[i] = plot.Tick{Value: float64(len(conf) - 1 - i), Label: res.Classes[i]}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Marker = plot.ConstantTicks(yticks)
	return savePlots(filepath.Join(dir, "confusion.png"), 7*vg.Inch, 6*vg.Inch, p)
}

// writeFilters draws conv1's filters as RGB tiles, each scaled to its own
// range, 12 to a row, magnified 4 times.
func writeFilters(path string, res *Result) error {
	w := res.Model.Graph.Initializer("conv1.weight")
	if w == nil || len(w.Dims) != 4 || w.Dims[1] != 3 {
		return nil
	}
	m, k := int(w.Dims[0]), int(w.Dims[2])
	data := w.Data.([]float32)
	const cols, zoom, gap = 12, 4, 2
	rows := (m + cols - 1) / cols
	cell := k*zoom + gap
	img := image.NewRGBA(image.Rect(0, 0, cols*cell+gap, rows*cell+gap))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for f := 0; f < m; f++ {
		filter := data[f*3*k*k : (f+1)*3*k*k]
		lo, hi := minMax(filter)
		x0, y0 := gap+(f%cols)*cell, gap+(f/cols)*cell
		for y := 0; y < k*zoom; y++ {
			for x := 0; x < k*zoom; x++ {
				var rgb [3]uint8
				for c := range rgb {
					rgb[c] = scale(filter[c*k*k+(y/zoom)*k+x/zoom], lo, hi)
				}
				img.Set(x0+x, y0+y, color.RGBA{rgb[0], rgb[1], rgb[2], 255})
			}
		}
	}
	return writePNG(path, img)
}

// writeFeatureMaps runs the model on one image and draws the first 32
// channels of conv1's activations in grey, each scaled to its own range.
func writeFeatureMaps(path string, res *Result, sample *tensor.Tensor) error {
	prog, err := native.Compile(res.Model)
	if err != nil {
		return err
	}
	tape, err := prog.Forward(map[string]*tensor.Tensor{"input": sample}, native.Options{Keep: []string{"conv1.relu"}})
	if err != nil {
		return err
	}
	act := tape.Value("conv1.relu")
	if act == nil || act.Rank() != 4 {
		return nil
	}
	channels, h, w := min(act.Shape[1], 32), act.Shape[2], act.Shape[3]
	const cols, gap = 8, 2
	rows := (channels + cols - 1) / cols
	img := image.NewGray(image.Rect(0, 0, cols*(w+gap)+gap, rows*(h+gap)+gap))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	data := act.F32()
	for c := 0; c < channels; c++ {
		plane := data[c*h*w : (c+1)*h*w]
		lo, hi := minMax(plane)
		x0, y0 := gap+(c%cols)*(w+gap), gap+(c/cols)*(h+gap)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				img.SetGray(x0+x, y0+y, color.Gray{Y: scale(plane[y*w+x], lo, hi)})
			}
		}
	}
	return writePNG(path, img)
}

func minMax(xs []float32) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func scale(v, lo, hi float32) uint8 {
	if hi <= lo {
		return 128
	}
	return uint8(255 * (v - lo) / (hi - lo))
}

func writePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}
