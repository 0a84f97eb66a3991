package data

import (
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // register the JPEG decoder for image.Decode
	_ "image/png"  // register the PNG decoder for image.Decode
	"os"

	xdraw "golang.org/x/image/draw"
)

// RGB is an 8-bit RGB image stored row by row, 3 bytes per pixel:
// Pix[3*(y*W+x)+c] is channel c (0 red, 1 green, 2 blue) of pixel (x, y).
type RGB struct {
	W, H int
	Pix  []byte
}

// maxPixels bounds the size of an image the loaders agree to decode
// (100 megapixels), so that a corrupt or hostile header cannot make the
// decoder allocate gigabytes.
const maxPixels = 100 << 20

// decodeFile decodes a JPEG or PNG file, checking its header dimensions
// before decoding the pixels.
func decodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("data: %s: unsupported image size %dx%d", path, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return img, nil
}

// resizeCrop scales img so that its shorter side is size pixels (the
// longer side rounded to the nearest pixel, Catmull-Rom filter, which
// low-pass filters when shrinking) and then cuts out the central
// size x size square (offset floor((long-size)/2)). An image that is
// already size x size is copied without resampling.
func resizeCrop(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, size, size))
	if w == size && h == size {
		draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
		return out
	}
	nw, nh := size, size
	if w < h {
		nh = int((int64(h)*int64(size)*2 + int64(w)) / (2 * int64(w)))
	} else {
		nw = int((int64(w)*int64(size)*2 + int64(h)) / (2 * int64(h)))
	}
	// Scaling the whole image into a rectangle shifted by the crop offset
	// and clipped by out computes only the pixels kept, with the same
	// filter positions as resizing first and cropping afterwards.
	off := image.Pt((nw-size)/2, (nh-size)/2)
	dr := image.Rect(-off.X, -off.Y, nw-off.X, nh-off.Y)
	xdraw.CatmullRom.Scale(out, dr, img, b, xdraw.Src, nil)
	return out
}

// toRGB drops the alpha channel of an RGBA image whose pixels are opaque
// (decoded JPEGs, and images drawn with draw.Src from opaque sources).
func toRGB(img *image.RGBA) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &RGB{W: w, H: h, Pix: make([]byte, 3*w*h)}
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		dst := out.Pix[3*y*w : 3*(y+1)*w]
		for x := 0; x < w; x++ {
			dst[3*x] = row[4*x]
			dst[3*x+1] = row[4*x+1]
			dst[3*x+2] = row[4*x+2]
		}
	}
	return out
}

// LoadBase decodes the image at path and returns it as a size x size RGB
// image: shorter side resized to size, then centre-cropped (see Prepare).
// Images already of that size, such as a prepared set, are not resampled.
// Transparent PNG pixels are composited over black.
func LoadBase(path string, size int) (*RGB, error) {
	if size <= 0 {
		return nil, fmt.Errorf("data: %s: base size %d must be positive", path, size)
	}
	img, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	return toRGB(resizeCrop(img, size)), nil
}
