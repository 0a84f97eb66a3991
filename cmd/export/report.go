package main

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
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/train"
)

// writeReport writes a run's artefacts into dir: metrics.csv and
// metrics.json (one row per epoch, and the test evaluation), curves.png
// (loss and accuracy), confusion.png and confusion.txt (test split, when
// the run has one),
// filters.png (conv1's learned filters) and, when sample holds one
// preprocessed image [1,3,S,S], featuremaps.png (conv1's first 32
// activation maps for it). Each file is written atomically.
func writeReport(dir string, res *train.Result, sample *tensor.Tensor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	steps := []func() error{
		func() error { return writeMetrics(dir, res) },
		func() error { return writeCurves(filepath.Join(dir, "curves.png"), res) },
		func() error { return writeConfusion(dir, res) },
		func() error { return writeFilters(filepath.Join(dir, "filters.png"), res) },
	}
	if sample != nil {
		steps = append(steps, func() error { return writeFeatureMaps(filepath.Join(dir, "featuremaps.png"), res, sample) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("report in %s: %w", dir, err)
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

// writeMetrics writes metrics.csv and metrics.json. Without a validation
// split the validation columns are empty (null in JSON); without a test
// split the test figures are null.
func writeMetrics(dir string, res *train.Result) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "images_per_second"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	for _, m := range res.History {
		valLoss, valAcc := "", ""
		if res.Validated() {
			valLoss, valAcc = f(m.ValLoss), f(m.ValAcc)
		}
		w.Write([]string{strconv.Itoa(m.Epoch), f(float64(m.LR)), f(m.TrainLoss), f(m.TrainAcc),
			valLoss, valAcc, f(m.Seconds), f(m.ImagesPS)})
	}
	w.Flush()
	if err := writeFileAtomic(filepath.Join(dir, "metrics.csv"), b.Bytes()); err != nil {
		return err
	}
	type epoch struct {
		train.EpochMetrics
		ValLoss *float64 `json:"val_loss"`
		ValAcc  *float64 `json:"val_acc"`
	}
	history := make([]epoch, len(res.History))
	for i, m := range res.History {
		history[i].EpochMetrics = m
		if res.Validated() {
			history[i].ValLoss, history[i].ValAcc = &m.ValLoss, &m.ValAcc
		}
	}
	type evaluation struct {
		Loss     float64 `json:"loss"`
		Accuracy float64 `json:"accuracy"`
	}
	var test *evaluation
	if res.Test != nil {
		test = &evaluation{res.Test.Loss, res.Test.Accuracy}
	}
	js, err := json.MarshalIndent(struct {
		Config  train.Config `json:"config"`
		Classes []string     `json:"classes"`
		History []epoch      `json:"history"`
		Test    *evaluation  `json:"test"`
	}{res.Config, res.Classes, history, test}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "metrics.json"), js)
}

// writeCurves draws the loss and the accuracy by epoch side by side, the
// legend to their right, outside the data, and the epochs as integers.
func writeCurves(path string, res *train.Result) error {
	history := res.History
	if len(history) == 0 {
		return nil
	}
	series := func(get func(train.EpochMetrics) float64) plotter.XYs {
		xy := make(plotter.XYs, len(history))
		for i, m := range history {
			xy[i].X, xy[i].Y = float64(m.Epoch), get(m)
		}
		return xy
	}
	type curve struct {
		name       string
		loss, acc  func(train.EpochMetrics) float64
		colorIndex int
	}
	curves := []curve{{"training", func(m train.EpochMetrics) float64 { return m.TrainLoss },
		func(m train.EpochMetrics) float64 { return 100 * m.TrainAcc }, 0}}
	if res.Validated() {
		curves = append(curves, curve{"validation", func(m train.EpochMetrics) float64 { return m.ValLoss },
			func(m train.EpochMetrics) float64 { return 100 * m.ValAcc }, 1})
	}
	loss, acc := plot.New(), plot.New()
	loss.Title.Text, acc.Title.Text = "Cross-entropy loss", "Top-1 accuracy (%)"
	acc.Y.Min, acc.Y.Max = 0, 100
	legend := plot.NewLegend()
	for _, c := range curves {
		for _, panel := range []struct {
			p   *plot.Plot
			get func(train.EpochMetrics) float64
		}{{loss, c.loss}, {acc, c.acc}} {
			line, points, err := plotter.NewLinePoints(series(panel.get))
			if err != nil {
				return err
			}
			line.Color, points.Color = plotutil.Color(c.colorIndex), plotutil.Color(c.colorIndex)
			points.Shape = plotutil.Shape(c.colorIndex)
			panel.p.Add(line, points)
			if panel.p == loss {
				legend.Add(c.name, line, points)
			}
		}
	}
	for _, p := range []*plot.Plot{loss, acc} {
		p.X.Label.Text = "epoch"
		p.X.Tick.Marker = epochTicks{}
		p.X.Min, p.X.Max = 0.8, float64(len(history))+0.2
		p.Add(plotter.NewGrid())
	}
	const width, height = 11 * vg.Inch, 4 * vg.Inch
	legendWidth := 1.3 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	panels := draw.Crop(dc, 0, -legendWidth, 0, 0)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: 6 * vg.Millimeter, PadTop: 2 * vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, panels)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])
	legend.Top, legend.Left = true, true
	legend.YOffs = -10 * vg.Millimeter
	legend.Draw(draw.Crop(dc, width-legendWidth+4*vg.Millimeter, 0, 0, 0))
	return writeCanvasPNG(path, img)
}

// epochTicks marks whole epochs: every one up to 10 epochs, else a round
// step that gives at most about 10 labels.
type epochTicks struct{}

// Ticks implements plot.Ticker.
func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int(math.Ceil(lo)), int(math.Floor(hi))
	step := 1
	for _, s := range []int{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000} {
		step = s
		if (last-first)/s < 10 {
			break
		}
	}
	var ticks []plot.Tick
	for e := first; e <= last; e++ {
		if e%step == 0 || (step > 1 && e == 1) {
			ticks = append(ticks, plot.Tick{Value: float64(e), Label: strconv.Itoa(e)})
		} else {
			ticks = append(ticks, plot.Tick{Value: float64(e)})
		}
	}
	return ticks
}

// writeCanvasPNG encodes a drawn canvas as PNG into path.
func writeCanvasPNG(path string, img *vgimg.Canvas) error {
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}

// confusionGrid adapts a confusion matrix to plotter.GridXYZ, true class
// i on row i from the top, predicted class j in column j.
type confusionGrid [][]int

func (g confusionGrid) Dims() (c, r int)   { return len(g), len(g) }
func (g confusionGrid) Z(c, r int) float64 { return float64(g[len(g)-1-r][c]) }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }

// countColors is the confusion matrix's sequential colour scale, light
// blue for a count of 1 to dark blue for the largest; a count of 0 is
// white.
func countColors() (palette.ColorMap, error) {
	blues, err := brewer.GetPalette(brewer.TypeSequential, "Blues", 9)
	if err != nil {
		return nil, err
	}
	cs := blues.Colors()[2:]
	// NewLuminance wants the controls from dark to light.
	dark := make([]color.Color, len(cs))
	for i, c := range cs {
		dark[len(cs)-1-i] = c
	}
	cm, err := moreland.NewLuminance(dark)
	if err != nil {
		return nil, err
	}
	return palette.Reverse(cm), nil
}

// writeConfusion writes confusion.txt and confusion.png: the test split's
// counts with class names on both axes, the count in each non-empty
// cell, and a colour bar.
func writeConfusion(dir string, res *train.Result) error {
	if res.Test == nil || len(res.Test.Confusion) == 0 {
		return nil
	}
	conf := res.Test.Confusion
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
	most := 2
	for _, row := range conf {
		for _, v := range row {
			most = max(most, v)
		}
	}
	cm, err := countColors()
	if err != nil {
		return err
	}
	cm.SetMin(1)
	cm.SetMax(float64(most))
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Test confusion matrix (accuracy %.1f%%)", 100*res.Test.Accuracy)
	p.X.Label.Text = "predicted class"
	p.Y.Label.Text = "true class"
	heat := plotter.NewHeatMap(confusionGrid(conf), cm.Palette(256))
	heat.Min, heat.Max, heat.Underflow = 1, float64(most), color.White
	p.Add(heat)
	n := len(conf)
	var cells plotter.XYLabels
	var styles []text.Style
	for i, row := range conf {
		for j, v := range row {
			if v == 0 {
				continue
			}
			cells.XYs = append(cells.XYs, plotter.XY{X: float64(j), Y: float64(n - 1 - i)})
			cells.Labels = append(cells.Labels, strconv.Itoa(v))
			st := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, 9), XAlign: draw.XCenter,
				YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
			if float64(v) > 0.55*float64(most) {
				st.Color = color.White
			}
			styles = append(styles, st)
		}
	}
	if len(cells.Labels) > 0 {
		labels, err := plotter.NewLabels(cells)
		if err != nil {
			return err
		}
		labels.TextStyle = styles
		p.Add(labels)
	}
	xticks := make([]plot.Tick, n)
	yticks := make([]plot.Tick, n)
	for i := range conf {
		xticks[i] = plot.Tick{Value: float64(i), Label: res.Classes[i]}
		yticks[i] = plot.Tick{Value: float64(n - 1 - i), Label: res.Classes[i]}
	}
	p.X.Tick.Marker = plot.ConstantTicks(xticks)
	p.Y.Tick.Marker = plot.ConstantTicks(yticks)
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter

	bar := plot.New()
	bar.Title.Text = "count"
	bar.HideX()
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.Y.Min, bar.Y.Max = 1, float64(most)
	bar.Y.Tick.Marker = countTicks{}

	const width, height = 9 * vg.Inch, 8 * vg.Inch
	barWidth := 1.1 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, -barWidth, 0, 0))
	bar.Draw(draw.Crop(dc, width-barWidth+4*vg.Millimeter, -4*vg.Millimeter, 1.6*vg.Inch, -0.3*vg.Inch))
	return writeCanvasPNG(filepath.Join(dir, "confusion.png"), img)
}

// countTicks labels whole counts on the colour bar, at most about 8.
type countTicks struct{}

// Ticks implements plot.Ticker.
func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	step := int(math.Ceil((hi - lo) / 8))
	step = max(step, 1)
	var ticks []plot.Tick
	for v := int(math.Ceil(lo)); v <= int(math.Floor(hi)); v++ {
		if v == int(lo) || v%step == 0 || v == int(hi) {
			ticks = append(ticks, plot.Tick{Value: float64(v), Label: strconv.Itoa(v)})
		}
	}
	return ticks
}

// writeFilters draws conv1's filters as RGB tiles, each scaled to its own
// range, 12 to a row, magnified 4 times.
func writeFilters(path string, res *train.Result) error {
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
func writeFeatureMaps(path string, res *train.Result, sample *tensor.Tensor) error {
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
