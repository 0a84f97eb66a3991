package preprocess

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/data"
)

// pixelTol bounds the difference between Apply's float32 result and a
// float64 recomputation (values of order 1-3).
const pixelTol = 1e-5

// classifier returns a model with one image input of the given shape and
// the given metadata.
func classifier(shape []graph.Dim, meta ...graph.StringPair) *graph.Model {
	in := &graph.Value{Name: "image", Type: &graph.Type{Kind: graph.TensorKind, DType: graph.Float32, Shape: shape}}
	return &graph.Model{Graph: &graph.Graph{Inputs: []*graph.Value{in}}, Metadata: meta}
}

// writeRandomPNG writes a w x h PNG of random opaque pixels and returns
// its path and the pixels, 3 bytes each.
func writeRandomPNG(t *testing.T, w, h int, r *rand.Rand) (string, []byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	pix := make([]byte, 3*w*h)
	for i := range pix {
		pix[i] = byte(r.IntN(256))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := pix[3*(y*w+x):]
			img.Set(x, y, color.RGBA{p[0], p[1], p[2], 255})
		}
	}
	path := filepath.Join(t.TempDir(), "x.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, pix
}

// TestLoadMatchesFloat64 loads a random 12x12 PNG (already at the resize
// size, so not resampled) into every layout and channel order and checks
// each element against (p*scale - mean)/std computed in float64 from the
// source pixels.
func TestLoadMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const side, crop = 12, 8
	path, pix := writeRandomPNG(t, side, side, r)
	for _, layout := range []string{"NCHW", "NHWC"} {
		for _, order := range []string{"RGB", "BGR"} {
			s := Spec{InputSize: crop, Resize: side, Layout: layout, ChannelOrder: order, Scale: "1/255",
				Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
			s.Complete(nil)
			x, err := s.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(x.Shape, s.Shape()) {
				t.Fatalf("%s %s: shape %v, want %v", layout, order, x.Shape, s.Shape())
			}
			off := (side - crop) / 2
			for c := 0; c < 3; c++ {
				src := c
				if order == "BGR" {
					src = 2 - c
				}
				for y := 0; y < crop; y++ {
					for xx := 0; xx < crop; xx++ {
						p := float64(pix[3*((off+y)*side+off+xx)+src])
						want := (p/255 - s.Mean[c]) / s.Std[c]
						i := (c*crop+y)*crop + xx
						if layout == "NHWC" {
							i = (y*crop+xx)*3 + c
						}
						if got := float64(x.F32()[i]); math.Abs(got-want) > pixelTol {
							t.Fatalf("%s %s: channel %d (%d,%d): %g, want %g", layout, order, c, xx, y, got, want)
						}
					}
				}
			}
		}
	}
}

// TestForModelReadsMetadataAndShape checks that the metadata wins and
// that the input's declared shape gives the size when the metadata does
// not, and that Metadata writes what FromMetadata reads.
func TestForModelReadsMetadataAndShape(t *testing.T) {
	want := Spec{InputSize: 227, Resize: 256, Crop: "center", ChannelOrder: "BGR", Layout: "NCHW", Scale: "1/255",
		Mean: []float64{0.406, 0.456, 0.485}, Std: []float64{0.225, 0.224, 0.229}}
	meta, err := want.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	m := classifier([]graph.Dim{graph.Symbol("N"), graph.Fixed(3), graph.Fixed(224), graph.Fixed(224)}, meta)
	got, err := ForModel(m)
	if err != nil {
		t.Fatal(err)
	}
	want.InputName = "image"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ForModel: %+v, want %+v", got, want)
	}
	bare, err := ForModel(classifier([]graph.Dim{graph.Fixed(1), graph.Fixed(160), graph.Fixed(160), graph.Fixed(3)},
		graph.StringPair{Key: MetadataKey, Value: `{"layout":"NHWC"}`}))
	if err != nil {
		t.Fatal(err)
	}
	if bare.InputSize != 160 || bare.Resize != 160 || bare.Scale != "1/255" || bare.Std[2] != 1 || bare.Mean[0] != 0 {
		t.Errorf("defaults from an NHWC input of 160x160: %+v", bare)
	}
}

// TestSizesAreBounded checks that sizes that would ask for gigabytes, or
// overflow image.NewRGBA, are refused with an error that names the field,
// before any image is decoded.
func TestSizesAreBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	path, _ := writeRandomPNG(t, 4, 4, r)
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{InputSize: 224, Resize: 1 << 31}, "resize 2147483648 is larger than the limit"},
		{Spec{InputSize: 224, Resize: 65536}, "resize 65536 is larger than the limit"},
		{Spec{InputSize: 100000}, "input_size 100000 is larger than the limit"},
	} {
		c.spec.Complete(nil)
		if _, err := c.spec.Load(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.spec, err, c.want)
		}
	}
	huge := classifier([]graph.Dim{graph.Fixed(1), graph.Fixed(3), graph.Fixed(1 << 31), graph.Fixed(1 << 31)})
	if _, err := ForModel(huge); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("input [1,3,2^31,2^31]: error %v, want the size limit", err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	base := func() Spec {
		return Spec{InputSize: 4, Resize: 4, Crop: "center", ChannelOrder: "RGB", Layout: "NCHW",
			Mean: []float64{0, 0, 0}, Std: []float64{1, 1, 1}, Scale: "1/255"}
	}
	for _, c := range []struct {
		change func(s *Spec)
		want   string
	}{
		{func(s *Spec) { s.InputSize = 0 }, "image size is unknown"},
		{func(s *Spec) { s.Resize = 3 }, "smaller than the crop"},
		{func(s *Spec) { s.Crop = "random" }, `crop "random"`},
		{func(s *Spec) { s.ChannelOrder = "GRB" }, "channel_order"},
		{func(s *Spec) { s.Layout = "CHW" }, "layout"},
		{func(s *Spec) { s.Std = []float64{1, 0, 1} }, "std"},
		{func(s *Spec) { s.Std = []float64{1, 1e-45, 1} }, "std"},
		{func(s *Spec) { s.Mean = []float64{math.NaN(), 0, 0} }, "mean"},
		{func(s *Spec) { s.Mean = []float64{1} }, "3 values"},
		{func(s *Spec) { s.Scale = "1/0" }, "scale"},
		{func(s *Spec) { s.Scale = "half" }, "scale"},
	} {
		s := base()
		c.change(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", s, err, c.want)
		}
	}
	s := base()
	if err := s.Validate(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	if _, err := s.Apply(&data.RGB{W: 3, H: 4, Pix: make([]byte, 36)}); err == nil {
		t.Error("Apply took a 3x4 image for a spec of 4x4")
	}
	if _, _, err := FromMetadata(classifier(nil, graph.StringPair{Key: MetadataKey, Value: "[1]"})); err == nil {
		t.Error("FromMetadata took a JSON list")
	}
}

func TestClassesAndTopK(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	meta, err := ClassesMetadata(names)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Classes(classifier(nil, meta))
	if err != nil || !reflect.DeepEqual(got, names) {
		t.Fatalf("Classes: %v, %v", got, err)
	}
	if none, err := Classes(classifier(nil)); none != nil || err != nil {
		t.Errorf("no metadata: %v, %v", none, err)
	}
	if _, err := Classes(classifier(nil, graph.StringPair{Key: ClassesKey, Value: `{"a":1}`})); err == nil {
		t.Error("Classes took a JSON object")
	}
	nan := float32(math.NaN())
	top := TopK([]float32{0.1, nan, 0.6, 0.1}, names, 3)
	want := []Prediction{{2, "c", 0.6}, {0, "a", 0.1}, {3, "d", 0.1}}
	if !reflect.DeepEqual(top, want) {
		t.Errorf("TopK: %+v, want %+v", top, want)
	}
	if got := TopK([]float32{1, 2}, names, 5); len(got) != 2 || got[0].Index != 1 || got[0].Class != "" {
		t.Errorf("TopK with k beyond the row and mismatched names: %+v", got)
	}
}
