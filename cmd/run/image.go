package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/data"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// preprocessingKey is the metadata entry in which onnxkit's exporter
// records how the model's images are prepared.
const preprocessingKey = "onnxkit.preprocessing"

// preprocessing turns an image file into an input tensor of shape
// [1, 3, InputSize, InputSize] (NCHW) or [1, InputSize, InputSize, 3]
// (NHWC): the shorter side resized to Resize, the central InputSize
// square cut out, and each channel c of each pixel p (0..255) mapped to
//
//	(p*scale - Mean[c]) / Std[c]
//
// where c counts the channels in the order ChannelOrder, as the model
// reads them (so Mean is B,G,R for a BGR model). The JSON form is the
// metadata value.
type preprocessing struct {
	InputSize    int       `json:"input_size"`
	Resize       int       `json:"resize"`
	Crop         string    `json:"crop"`
	ChannelOrder string    `json:"channel_order"`
	Layout       string    `json:"layout"`
	Mean         []float64 `json:"mean"`
	Std          []float64 `json:"std"`
	Scale        string    `json:"scale"`
}

// imagePreprocessing combines, for input v, the model's metadata with the
// flags, which win; what neither gives comes from v's declared shape (the
// crop size), or is the identity (mean 0, std 1, scale 1/255, RGB, NCHW,
// no resize beyond the crop).
func imagePreprocessing(o *options, m *graph.Model, v *graph.Value) (*preprocessing, error) {
	p := &preprocessing{}
	if s, ok := m.MetadataValue(preprocessingKey); ok {
		if err := json.Unmarshal([]byte(s), p); err != nil {
			return nil, fmt.Errorf("metadata %s: %v", preprocessingKey, err)
		}
		if err := checkNormalization(p.Mean, p.Std); err != nil {
			return nil, fmt.Errorf("metadata %s: %v", preprocessingKey, err)
		}
	}
	if p.Layout == "" {
		p.Layout = "NCHW"
	}
	if o.size > 0 {
		p.InputSize = o.size
	}
	if o.resize > 0 {
		p.Resize = o.resize
	}
	if o.mean != nil {
		p.Mean = o.mean
	}
	if o.std != nil {
		p.Std = o.std
	}
	if p.InputSize == 0 && v.Type != nil && len(v.Type.Shape) == 4 {
		d := v.Type.Shape[2]
		if p.Layout == "NHWC" {
			d = v.Type.Shape[1]
		}
		if d.Known() {
			p.InputSize = int(d.Size)
		}
	}
	if p.Resize == 0 {
		p.Resize = p.InputSize
	}
	if p.Mean == nil {
		p.Mean = []float64{0, 0, 0}
	}
	if p.Std == nil {
		p.Std = []float64{1, 1, 1}
	}
	if p.Scale == "" {
		p.Scale = "1/255"
	}
	if p.ChannelOrder == "" {
		p.ChannelOrder = "RGB"
	}
	if p.Crop == "" {
		p.Crop = "center"
	}
	if v.Type != nil && v.Type.Kind == graph.TensorKind && v.Type.DType != graph.Float32 {
		return nil, fmt.Errorf("image inputs are float32; the model declares %v", v.Type)
	}
	return p, p.validate()
}

// validate checks the settings.
func (p *preprocessing) validate() error {
	switch {
	case p.InputSize <= 0:
		return fmt.Errorf("image size unknown: give --size or the metadata %s", preprocessingKey)
	case p.Resize < p.InputSize:
		return fmt.Errorf("resize %d is smaller than the crop %d", p.Resize, p.InputSize)
	case p.Crop != "center":
		return fmt.Errorf("crop %q: only \"center\" is supported", p.Crop)
	case p.ChannelOrder != "RGB" && p.ChannelOrder != "BGR":
		return fmt.Errorf("channel_order %q: want RGB or BGR", p.ChannelOrder)
	case p.Layout != "NCHW" && p.Layout != "NHWC":
		return fmt.Errorf("layout %q: want NCHW or NHWC", p.Layout)
	case len(p.Mean) != 3 || len(p.Std) != 3:
		return fmt.Errorf("mean %v and std %v must have 3 values", p.Mean, p.Std)
	}
	for _, s := range p.Std {
		if !(s > 0) {
			return fmt.Errorf("std %v: every value must be positive", p.Std)
		}
	}
	_, err := parseScale(p.Scale)
	return err
}

// parseScale reads a scale written as a number ("0.5") or a fraction
// ("1/255").
func parseScale(s string) (float64, error) {
	num, den, isFrac := strings.Cut(s, "/")
	a, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("scale %q is not a number or fraction", s)
	}
	if !isFrac {
		return a, nil
	}
	b, err := strconv.ParseFloat(strings.TrimSpace(den), 64)
	if err != nil || b == 0 {
		return 0, fmt.Errorf("scale %q is not a number or fraction", s)
	}
	return a / b, nil
}

// load decodes and prepares the image at path. p must be valid.
func (p *preprocessing) load(path string) (*tensor.Tensor, error) {
	img, err := data.LoadBase(path, p.Resize)
	if err != nil {
		return nil, err
	}
	return p.apply(img), nil
}

// apply crops and normalises an image of Resize x Resize pixels.
func (p *preprocessing) apply(img *data.RGB) *tensor.Tensor {
	scale, _ := parseScale(p.Scale)
	s := p.InputSize
	off := (p.Resize - s) / 2
	var t *tensor.Tensor
	if p.Layout == "NHWC" {
		t = tensor.Float32(1, s, s, 3)
	} else {
		t = tensor.Float32(1, 3, s, s)
	}
	out := t.F32()
	for c := 0; c < 3; c++ {
		src := c // the image's channel that lands in output channel c
		if p.ChannelOrder == "BGR" {
			src = 2 - c
		}
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				pix := float64(img.Pix[3*((off+y)*img.W+off+x)+src])
				v := float32((pix*scale - p.Mean[c]) / p.Std[c])
				if p.Layout == "NHWC" {
					out[(y*s+x)*3+c] = v
				} else {
					out[(c*s+y)*s+x] = v
				}
			}
		}
	}
	return t
}
