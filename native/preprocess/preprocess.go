// Package preprocess prepares images for an image classifier as the
// model's own metadata describes, and reads its predictions back as
// class names.
//
// onnxkit's exporter records two metadata_props entries: "onnxkit.classes",
// a JSON list of the class names in output order, and
// "onnxkit.preprocessing", the JSON form of Spec. Other models can be
// described by a Spec built by hand.
//
//	spec, err := preprocess.ForModel(m)  // m: a *graph.Model
//	x, err := spec.Load("flower.jpg")    // [1,3,224,224] float32
//	out, err := prog.Run(map[string]*tensor.Tensor{spec.InputName: x})
//	classes, err := preprocess.Classes(m)
//	best := preprocess.TopK(out["probabilities"].F32(), classes, 5)
package preprocess

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/data"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Metadata keys of the model's metadata_props.
const (
	// MetadataKey holds a Spec as JSON.
	MetadataKey = "onnxkit.preprocessing"
	// ClassesKey holds the class names, in output order, as a JSON list.
	ClassesKey = "onnxkit.classes"
)

// MaxSide bounds InputSize and Resize, so that a hostile or mistaken
// size is refused before any allocation: an image of MaxSide x MaxSide
// pixels takes 48 MiB as bytes and 192 MiB as a float32 tensor.
const MaxSide = 4096

// MinStd is the smallest standard deviation accepted: dividing by less
// turns ordinary pixels into huge values (1e-45 made every probability
// NaN).
const MinStd = 1e-6

// Spec says how an image becomes an input tensor of shape
// [1, 3, InputSize, InputSize] (NCHW) or [1, InputSize, InputSize, 3]
// (NHWC): the shorter side resized to Resize, the central InputSize square
// cut out, and each channel c of each pixel p (0..255) mapped to
//
//	(p*Scale - Mean[c]) / Std[c]
//
// where c counts the channels in ChannelOrder, the order the model reads
// them in (so Mean is B,G,R for a BGR model). Its JSON form is the
// metadata value of MetadataKey.
type Spec struct {
	InputSize int `json:"input_size"`
	Resize    int `json:"resize"`
	// Crop is "center", the only one supported.
	Crop string `json:"crop"`
	// ChannelOrder is "RGB" or "BGR".
	ChannelOrder string `json:"channel_order"`
	// Layout is "NCHW" or "NHWC".
	Layout string `json:"layout"`
	// Scale is a number ("0.5") or a fraction ("1/255").
	Scale string    `json:"scale"`
	Mean  []float64 `json:"mean"`
	Std   []float64 `json:"std"`
	// InputName is the graph input the tensor feeds; set by ForModel, not
	// part of the metadata.
	InputName string `json:"-"`
}

// FromMetadata reads the Spec recorded in m's metadata. ok is false when
// m has none; err reports a value that is not a Spec's JSON form.
func FromMetadata(m *graph.Model) (s Spec, ok bool, err error) {
	value, ok := m.MetadataValue(MetadataKey)
	if !ok {
		return Spec{}, false, nil
	}
	if err := json.Unmarshal([]byte(value), &s); err != nil {
		return Spec{}, true, fmt.Errorf("preprocess: metadata %s: %v", MetadataKey, err)
	}
	return s, true, nil
}

// Metadata returns s as the metadata entry that FromMetadata reads.
func (s Spec) Metadata() (graph.StringPair, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return graph.StringPair{}, fmt.Errorf("preprocess: %v", err)
	}
	return graph.StringPair{Key: MetadataKey, Value: string(b)}, nil
}

// ForModel returns the Spec for m's only image input: the metadata's,
// completed by Complete from that input's declared shape, and validated.
func ForModel(m *graph.Model) (Spec, error) {
	s, _, err := FromMetadata(m)
	if err != nil {
		return Spec{}, err
	}
	var inputs []*graph.Value
	for _, v := range m.Graph.Inputs {
		if m.Graph.Initializer(v.Name) == nil {
			inputs = append(inputs, v)
		}
	}
	if len(inputs) != 1 {
		return Spec{}, fmt.Errorf("preprocess: the model has %d inputs; an image classifier has one", len(inputs))
	}
	s.Complete(inputs[0])
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// Complete fills in what s leaves unset: InputName from v; InputSize from
// v's declared shape [N,3,S,S] (or [N,S,S,3] for NHWC); Resize as
// InputSize; and the identity elsewhere (mean 0, std 1, scale 1/255,
// RGB, NCHW, centre crop). v may be nil.
func (s *Spec) Complete(v *graph.Value) {
	if s.Layout == "" {
		s.Layout = "NCHW"
	}
	if v != nil {
		s.InputName = v.Name
		if s.InputSize == 0 && v.Type != nil && len(v.Type.Shape) == 4 {
			d := v.Type.Shape[2]
			if s.Layout == "NHWC" {
				d = v.Type.Shape[1]
			}
			if d.Known() {
				// Validate refuses a size beyond MaxSide.
				s.InputSize = int(min(d.Size, 1<<31))
			}
		}
	}
	if s.Resize == 0 {
		s.Resize = s.InputSize
	}
	if s.Mean == nil {
		s.Mean = []float64{0, 0, 0}
	}
	if s.Std == nil {
		s.Std = []float64{1, 1, 1}
	}
	if s.Scale == "" {
		s.Scale = "1/255"
	}
	if s.ChannelOrder == "" {
		s.ChannelOrder = "RGB"
	}
	if s.Crop == "" {
		s.Crop = "center"
	}
}

// Validate checks every field, naming the one at fault.
func (s *Spec) Validate() error {
	switch {
	case s.InputSize <= 0:
		return fmt.Errorf("preprocess: input_size %d: the image size is unknown (neither the metadata %s nor the input's shape gives it)", s.InputSize, MetadataKey)
	case s.InputSize > MaxSide:
		return fmt.Errorf("preprocess: input_size %d is larger than the limit of %d pixels per side", s.InputSize, MaxSide)
	case s.Resize > MaxSide:
		return fmt.Errorf("preprocess: resize %d is larger than the limit of %d pixels per side", s.Resize, MaxSide)
	case s.Resize < s.InputSize:
		return fmt.Errorf("preprocess: resize %d is smaller than the crop %d", s.Resize, s.InputSize)
	case s.Crop != "center":
		return fmt.Errorf("preprocess: crop %q: only \"center\" is supported", s.Crop)
	case s.ChannelOrder != "RGB" && s.ChannelOrder != "BGR":
		return fmt.Errorf("preprocess: channel_order %q: want RGB or BGR", s.ChannelOrder)
	case s.Layout != "NCHW" && s.Layout != "NHWC":
		return fmt.Errorf("preprocess: layout %q: want NCHW or NHWC", s.Layout)
	case len(s.Mean) != 3 || len(s.Std) != 3:
		return fmt.Errorf("preprocess: mean %v and std %v must have 3 values", s.Mean, s.Std)
	}
	for _, m := range s.Mean {
		if !isFinite(m) {
			return fmt.Errorf("preprocess: mean %v: every value must be finite", s.Mean)
		}
	}
	for _, d := range s.Std {
		if !isFinite(d) || d < MinStd {
			return fmt.Errorf("preprocess: std %v: every value must be finite and at least %g", s.Std, MinStd)
		}
	}
	_, err := parseScale(s.Scale)
	return err
}

func isFinite(x float64) bool { return x-x == 0 }

// parseScale reads a scale written as a number ("0.5") or a fraction
// ("1/255").
func parseScale(text string) (float64, error) {
	num, den, isFrac := strings.Cut(text, "/")
	a, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err == nil && isFrac {
		var b float64
		b, err = strconv.ParseFloat(strings.TrimSpace(den), 64)
		if b == 0 {
			err = fmt.Errorf("division by zero")
		}
		a /= b
	}
	if err != nil || !isFinite(a) {
		return 0, fmt.Errorf("preprocess: scale %q is not a finite number or fraction", text)
	}
	return a, nil
}

// Shape is the shape of the tensors Apply makes.
func (s *Spec) Shape() []int {
	if s.Layout == "NHWC" {
		return []int{1, s.InputSize, s.InputSize, 3}
	}
	return []int{1, 3, s.InputSize, s.InputSize}
}

// Load decodes the JPEG or PNG file at path and prepares it. s must be
// valid.
func (s *Spec) Load(path string) (*tensor.Tensor, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	img, err := data.LoadBase(path, s.Resize)
	if err != nil {
		return nil, err
	}
	return s.Apply(img)
}

// Apply crops and normalises an image already resized to Resize x Resize
// pixels (such as data.LoadBase returns).
func (s *Spec) Apply(img *data.RGB) (*tensor.Tensor, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if img.W != s.Resize || img.H != s.Resize || len(img.Pix) != 3*img.W*img.H {
		return nil, fmt.Errorf("preprocess: the image is %dx%d with %d bytes; want %dx%d, 3 bytes a pixel", img.W, img.H, len(img.Pix), s.Resize, s.Resize)
	}
	scale, _ := parseScale(s.Scale)
	n := s.InputSize
	off := (s.Resize - n) / 2
	t := tensor.Float32(s.Shape()...)
	out := t.F32()
	for c := 0; c < 3; c++ {
		src := c // the image's channel that lands in the model's channel c
		if s.ChannelOrder == "BGR" {
			src = 2 - c
		}
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				pix := float64(img.Pix[3*((off+y)*img.W+off+x)+src])
				v := float32((pix*scale - s.Mean[c]) / s.Std[c])
				if s.Layout == "NHWC" {
					out[(y*n+x)*3+c] = v
				} else {
					out[(c*n+y)*n+x] = v
				}
			}
		}
	}
	return t, nil
}
