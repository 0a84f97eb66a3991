package data

import "fmt"

// ImageNet statistics used as defaults. Mean and standard deviation are
// per RGB channel of pixels scaled to [0, 1]. The PCA eigenvalues and
// eigenvectors (columns of ImageNetEigvec, rows indexed by R, G, B) are
// those of the covariance of ImageNet RGB pixels on the same scale, as
// used by the public reimplementations of Krizhevsky et al. (2012).
var (
	ImageNetMean   = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd    = [3]float32{0.229, 0.224, 0.225}
	ImageNetEigval = [3]float64{0.2175, 0.0188, 0.0045}
	ImageNetEigvec = [3][3]float64{
		{-0.5675, 0.7192, 0.4009},
		{-0.5808, -0.0045, -0.8140},
		{-0.5836, -0.6948, 0.4203},
	}
)

// Transform turns a BaseSize x BaseSize RGB image into a normalised
// CropSize x CropSize crop in CHW float32 layout, channel order R, G, B:
//
//	out[c][y][x] = (pix[c][Y0+y][X0+x']/255 + shift[c] - Mean[c]) / Std[c]
//
// where x' = CropSize-1-x for a flipped crop and x otherwise, and shift
// is the PCA colour ("lighting") noise of Krizhevsky et al. (2012),
// constant over the image:
//
//	shift[c] = sum_j ImageNetEigvec[c][j] * alpha[j] * ImageNetEigval[j]
//
// with alpha[j] drawn from N(0, Lighting^2) per image.
type Transform struct {
	BaseSize int        // side of the square base image (256)
	CropSize int        // side of the crop (224; 227 for the original AlexNet)
	Mean     [3]float32 // per-channel mean subtracted from [0,1] pixels
	Std      [3]float32 // per-channel standard deviation divided by
	Lighting float64    // standard deviation of the PCA coefficients alpha; 0 disables
}

// DefaultTransform is the AlexNet recipe on 256x256 images: 224x224
// crops, ImageNet normalisation and lighting noise with sigma 0.1.
func DefaultTransform() Transform {
	return Transform{BaseSize: PreparedSize, CropSize: 224, Mean: ImageNetMean, Std: ImageNetStd, Lighting: 0.1}
}

// Validate checks the sizes and that every Std is positive.
func (t *Transform) Validate() error {
	if t.BaseSize <= 0 || t.CropSize <= 0 || t.CropSize > t.BaseSize {
		return fmt.Errorf("data: crop size %d must be in 1..base size %d", t.CropSize, t.BaseSize)
	}
	for c, s := range t.Std {
		if !(s > 0) {
			return fmt.Errorf("data: Std[%d] = %g must be positive", c, s)
		}
	}
	if !(t.Lighting >= 0) {
		return fmt.Errorf("data: Lighting = %g must be non-negative", t.Lighting)
	}
	return nil
}

// Crop is the geometry and colour noise applied to one image.
type Crop struct {
	X0, Y0 int        // top-left corner of the crop in the base image
	Flip   bool       // mirror horizontally
	Alpha  [3]float64 // PCA lighting coefficients (zero: no colour noise)
}

// Random draws the training augmentation of one sample: a crop corner
// uniform over all BaseSize-CropSize+1 positions per axis, a flip with
// probability 1/2, and alpha ~ N(0, Lighting^2). The draw depends only on
// (seed, epoch, index). t must be valid (see Validate).
func (t *Transform) Random(seed uint64, epoch, index int) Crop {
	r := newRNG(streamAugment, seed, uint64(epoch), uint64(index))
	span := t.BaseSize - t.CropSize + 1
	c := Crop{X0: r.intn(span), Y0: r.intn(span), Flip: r.uint64()&1 == 1}
	for j := range c.Alpha {
		c.Alpha[j] = t.Lighting * r.normal()
	}
	return c
}

// Center is the evaluation crop: the central square, offset
// floor((BaseSize-CropSize)/2), without flip or colour noise.
func (t *Transform) Center() Crop {
	o := (t.BaseSize - t.CropSize) / 2
	return Crop{X0: o, Y0: o}
}

// TenCrops are the evaluation crops of Krizhevsky et al. (2012): the four
// corners and the centre, in the order top-left, top-right, bottom-left,
// bottom-right, centre, followed by the same five flipped.
func (t *Transform) TenCrops() [10]Crop {
	e := t.BaseSize - t.CropSize
	c := t.Center()
	var out [10]Crop
	corners := [5][2]int{{0, 0}, {e, 0}, {0, e}, {e, e}, {c.X0, c.Y0}}
	for i, p := range corners {
		out[i] = Crop{X0: p[0], Y0: p[1]}
		out[i+5] = Crop{X0: p[0], Y0: p[1], Flip: true}
	}
	return out
}

// Shift returns the lighting shift that alpha adds to each channel of a
// [0,1]-scaled pixel (see Transform).
func Shift(alpha [3]float64) [3]float64 {
	var s [3]float64
	for c := range s {
		for j := range alpha {
			s[c] += ImageNetEigvec[c][j] * alpha[j] * ImageNetEigval[j]
		}
	}
	return s
}

// Apply writes the crop of img into dst, which must hold
// 3*CropSize*CropSize values, laid out [3][CropSize][CropSize]. img must
// be at least BaseSize x BaseSize and the crop inside it (Random, Center
// and TenCrops only give such crops); otherwise Apply panics.
func (t *Transform) Apply(dst []float32, img *RGB, c Crop) {
	s := t.CropSize
	if len(dst) != 3*s*s || c.X0 < 0 || c.Y0 < 0 || c.X0+s > img.W || c.Y0+s > img.H {
		panic(fmt.Sprintf("data: Transform.Apply: crop %+v of size %d does not fit a %dx%d image or a %d-value buffer",
			c, s, img.W, img.H, len(dst)))
	}
	shift := Shift(c.Alpha)
	for ch := 0; ch < 3; ch++ {
		// out = pix*scale + bias with scale = 1/(255*std), bias = (shift-mean)/std.
		std := float64(t.Std[ch])
		scale := float32(1 / (255 * std))
		bias := float32((shift[ch] - float64(t.Mean[ch])) / std)
		plane := dst[ch*s*s : (ch+1)*s*s]
		for y := 0; y < s; y++ {
			row := img.Pix[3*((c.Y0+y)*img.W+c.X0):]
			out := plane[y*s : (y+1)*s]
			if c.Flip {
				for x := range out {
					out[x] = float32(row[3*(s-1-x)+ch])*scale + bias
				}
			} else {
				for x := range out {
					out[x] = float32(row[3*x+ch])*scale + bias
				}
			}
		}
	}
}
