package main

import (
	"math"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/data"
)

// TestPreprocessingNHWC checks the NHWC layout, RGB order and a scale
// written as a plain number on a 3x3 image cropped to its centre 1x1.
func TestPreprocessingNHWC(t *testing.T) {
	img := &data.RGB{W: 3, H: 3, Pix: make([]byte, 27)}
	for i := range img.Pix {
		img.Pix[i] = byte(7 * i)
	}
	p := &preprocessing{InputSize: 1, Resize: 3, Crop: "center", ChannelOrder: "RGB", Layout: "NHWC",
		Mean: []float64{0.5, 1, 1.5}, Std: []float64{2, 4, 0.5}, Scale: "0.01"}
	if err := p.validate(); err != nil {
		t.Fatal(err)
	}
	out := p.apply(img)
	// The centre pixel (1, 1) starts at byte 3*(1*3+1) = 12: values 84,
	// 91, 98. (84*0.01-0.5)/2 = 0.17, (0.91-1)/4 = -0.0225,
	// (0.98-1.5)/0.5 = -1.04.
	want := []float64{0.17, -0.0225, -1.04}
	if len(out.Shape) != 4 || out.Shape[3] != 3 {
		t.Fatalf("shape %v, want [1 1 1 3]", out.Shape)
	}
	for c, w := range want {
		if g := float64(out.F32()[c]); math.Abs(g-w) > 1e-6 {
			t.Errorf("channel %d: %g, want %g", c, g, w)
		}
	}
}

func TestPreprocessingInvalid(t *testing.T) {
	base := func() *preprocessing {
		return &preprocessing{InputSize: 4, Resize: 4, Crop: "center", ChannelOrder: "RGB", Layout: "NCHW",
			Mean: []float64{0, 0, 0}, Std: []float64{1, 1, 1}, Scale: "1/255"}
	}
	tests := []struct {
		change func(p *preprocessing)
		want   string
	}{
		{func(p *preprocessing) { p.InputSize = 0 }, "image size unknown"},
		{func(p *preprocessing) { p.Resize = 3 }, "smaller than the crop"},
		{func(p *preprocessing) { p.Crop = "random" }, `crop "random"`},
		{func(p *preprocessing) { p.ChannelOrder = "GRB" }, "channel_order"},
		{func(p *preprocessing) { p.Layout = "CHW" }, "layout"},
		{func(p *preprocessing) { p.Std = []float64{1, 0, 1} }, "must be positive"},
		{func(p *preprocessing) { p.Mean = []float64{1} }, "3 values"},
		{func(p *preprocessing) { p.Scale = "1/0" }, "scale"},
		{func(p *preprocessing) { p.Scale = "half" }, "scale"},
	}
	for _, tc := range tests {
		p := base()
		tc.change(p)
		err := p.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", p, err, tc.want)
		}
	}
	if err := base().validate(); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}
