package ops

// ImageDecoder (opset 20): an encoded image, uint8 [bytes], decoded into
// uint8 [H, W, 3] (pixel_format RGB, the default, or BGR) or [H, W, 1]
// (Grayscale, the ITU-R 601 luma that PIL's convert("L") computes,
// (19595 R + 38470 G + 7471 B + 2^15) >> 16). Formats: JPEG, PNG, BMP,
// TIFF, WebP and binary PNM (P5, P6, 8-bit); JPEG 2000 is not supported.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder with image.Decode
	_ "image/png"  // registers the PNG decoder with image.Decode

	_ "golang.org/x/image/bmp"  // registers the BMP decoder with image.Decode
	_ "golang.org/x/image/tiff" // registers the TIFF decoder with image.Decode
	_ "golang.org/x/image/webp" // registers the WebP decoder with image.Decode

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// visionDecodeOps is the operator table of vision_decode.go (see registry.go).
var visionDecodeOps = []Entry{
	{OpType: "ImageDecoder", Since: []int64{20}, Build: newImageDecoder},
}

// imageDecoder is ImageDecoder.
type imageDecoder struct {
	format string // RGB, BGR or Grayscale
}

func newImageDecoder(n *graph.Node, _ int64) (Op, error) {
	f, err := n.Declared().String("pixel_format")
	if err != nil {
		return nil, err
	}
	switch f {
	case "RGB", "BGR", "Grayscale":
		return &imageDecoder{format: f}, nil
	}
	return nil, attrError(n, "pixel_format", "is %q, want RGB, BGR or Grayscale", f)
}

// Forward decodes the image.
func (o *imageDecoder) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	data, ok := in[0].Data.([]uint8)
	if !ok || in[0].DType != graph.Uint8 {
		return nil, fmt.Errorf("encoded_stream is %v, want uint8", in[0].DType)
	}
	img, err := decodeImage(ctx, data)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	channels := 3
	if o.format == "Grayscale" {
		channels = 1
	}
	if err := mvCheckShape([]int{h, w, channels}); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Uint8, []int{h, w, channels}); err != nil {
		return nil, err
	}
	out := tensor.New(graph.Uint8, h, w, channels)
	px := out.Data.([]uint8)
	for y := range h {
		for x := range w {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			p := px[(y*w+x)*channels:]
			switch o.format {
			case "RGB":
				p[0], p[1], p[2] = c.R, c.G, c.B
			case "BGR":
				p[0], p[1], p[2] = c.B, c.G, c.R
			default:
				p[0] = uint8((19595*uint32(c.R) + 38470*uint32(c.G) + 7471*uint32(c.B) + 1<<15) >> 16)
			}
		}
	}
	return []*tensor.Tensor{out}, nil
}

// decodeImage decodes the formats image.Decode knows, and binary PNM,
// refusing images whose decoded size exceeds ctx's budget.
func decodeImage(ctx *Context, data []byte) (image.Image, error) {
	if len(data) >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6') {
		return decodePNM(data)
	}
	// The header first, so that a huge declared size is refused before
	// the decoder allocates it.
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cannot decode the image (JPEG, PNG, BMP, TIFF, WebP or PNM): %w", err)
	}
	if err := ctx.checkOutput(graph.Uint8, []int{cfg.Height, cfg.Width, 4}); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cannot decode the image (JPEG, PNG, BMP, TIFF, WebP or PNM): %w", err)
	}
	return img, nil
}

// decodePNM decodes a binary PGM (P5) or PPM (P6) with 8-bit samples.
func decodePNM(data []byte) (image.Image, error) {
	r := bytes.NewReader(data[2:])
	var fields [3]int
	for i := range fields {
		// Skip whitespace and comments, then read a decimal number.
		for {
			c, err := r.ReadByte()
			if err != nil {
				return nil, fmt.Errorf("PNM header: %w", err)
			}
			if c == '#' {
				for c != '\n' {
					if c, err = r.ReadByte(); err != nil {
						return nil, fmt.Errorf("PNM header: %w", err)
					}
				}
				continue
			}
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				continue
			}
			if err := r.UnreadByte(); err != nil {
				return nil, err
			}
			break
		}
		if _, err := fmt.Fscan(r, &fields[i]); err != nil {
			return nil, fmt.Errorf("PNM header: %w", err)
		}
	}
	w, h, maxVal := fields[0], fields[1], fields[2]
	if _, err := r.ReadByte(); err != nil { // the one whitespace byte before the samples
		return nil, fmt.Errorf("PNM header: %w", err)
	}
	channels := 3
	if data[1] == '5' {
		channels = 1
	}
	if w <= 0 || h <= 0 || maxVal <= 0 || maxVal > 255 || int64(w)*int64(h)*int64(channels) > int64(r.Len()) {
		return nil, fmt.Errorf("PNM %dx%d, maxval %d, with %d bytes of samples: unsupported or truncated", w, h, maxVal, r.Len())
	}
	samples := data[len(data)-r.Len():]
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		s := samples[i*channels:]
		scale := func(v byte) uint8 { return uint8((int(v)*255 + maxVal/2) / maxVal) }
		if channels == 1 {
			g := scale(s[0])
			img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2] = g, g, g
		} else {
			img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2] = scale(s[0]), scale(s[1]), scale(s[2])
		}
		img.Pix[4*i+3] = 255
	}
	return img, nil
}
