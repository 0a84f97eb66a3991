package data

import (
	"math"
	"testing"
)

// refCrop recomputes Transform.Apply in float64 from its definition.
func refCrop(t *Transform, img *RGB, c Crop) []float64 {
	s := t.CropSize
	var shift [3]float64
	for ch := range shift {
		for j := 0; j < 3; j++ {
			shift[ch] += ImageNetEigvec[ch][j] * c.Alpha[j] * ImageNetEigval[j]
		}
	}
	out := make([]float64, 3*s*s)
	for ch := 0; ch < 3; ch++ {
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				sx := c.X0 + x
				if c.Flip {
					sx = c.X0 + s - 1 - x
				}
				v := float64(img.Pix[3*((c.Y0+y)*img.W+sx)+ch]) / 255
				out[(ch*s+y)*s+x] = (v + shift[ch] - float64(t.Mean[ch])) / float64(t.Std[ch])
			}
		}
	}
	return out
}

// TestCropGeometry checks crops and flips on a gradient image whose
// colours encode the pixel position: with mean 0 and std 1/255 every
// output value is the raw byte, so the source pixel of each output pixel
// can be read back.
func TestCropGeometry(t *testing.T) {
	const base, crop = 32, 24
	tr := Transform{BaseSize: base, CropSize: crop, Std: [3]float32{1.0 / 255, 1.0 / 255, 1.0 / 255}}
	img := gradientImage(base)
	out := make([]float32, 3*crop*crop)
	check := func(c Crop) {
		t.Helper()
		tr.Apply(out, img, c)
		for y := 0; y < crop; y++ {
			for x := 0; x < crop; x++ {
				sx, sy := c.X0+x, c.Y0+y
				if c.Flip {
					sx = c.X0 + crop - 1 - x
				}
				want := [3]int{7 * sx % 256, 5 * sy % 256, (sx + 2*sy) % 256}
				for ch := range want {
					got := out[(ch*crop+y)*crop+x]
					if math.Abs(float64(got)-float64(want[ch])) > 1e-3 {
						t.Fatalf("crop %+v: channel %d at (%d,%d) is %g, want %d (source pixel (%d,%d))",
							c, ch, x, y, got, want[ch], sx, sy)
					}
				}
			}
		}
	}
	// Centre: offset floor((32-24)/2) = 4. Ten crops: corners at 0 and 32-24 = 8.
	if c := tr.Center(); c != (Crop{X0: 4, Y0: 4}) {
		t.Errorf("centre crop %+v, want {4 4}", c)
	}
	ten := tr.TenCrops()
	wantTen := [10]Crop{{0, 0, false, [3]float64{}}, {8, 0, false, [3]float64{}}, {0, 8, false, [3]float64{}},
		{8, 8, false, [3]float64{}}, {4, 4, false, [3]float64{}},
		{0, 0, true, [3]float64{}}, {8, 0, true, [3]float64{}}, {0, 8, true, [3]float64{}},
		{8, 8, true, [3]float64{}}, {4, 4, true, [3]float64{}}}
	if ten != wantTen {
		t.Errorf("ten crops %v, want %v", ten, wantTen)
	}
	for _, c := range ten {
		check(c)
	}
	tr.Lighting = 0
	for i := 0; i < 50; i++ {
		check(tr.Random(7, 3, i))
	}
}

// TestRandomDistribution checks the ranges and frequencies of the random
// augmentation over many samples: every offset 0..base-crop occurs, flips
// are about half, alpha has standard deviation about Lighting.
func TestRandomDistribution(t *testing.T) {
	const n = 4000
	tr := DefaultTransform()
	tr.BaseSize, tr.CropSize = 40, 32 // 9 offsets per axis
	seenX, seenY := map[int]int{}, map[int]int{}
	flips := 0
	sumSq := 0.0
	for i := 0; i < n; i++ {
		c := tr.Random(11, 0, i)
		if c.X0 < 0 || c.Y0 < 0 || c.X0 > 8 || c.Y0 > 8 {
			t.Fatalf("sample %d: crop corner (%d,%d) outside 0..8", i, c.X0, c.Y0)
		}
		seenX[c.X0]++
		seenY[c.Y0]++
		if c.Flip {
			flips++
		}
		for _, a := range c.Alpha {
			sumSq += a * a
		}
		if c != tr.Random(11, 0, i) {
			t.Fatalf("sample %d: two draws differ", i)
		}
	}
	if len(seenX) != 9 || len(seenY) != 9 {
		t.Errorf("offsets seen: x %v, y %v; want all of 0..8", seenX, seenY)
	}
	// Flips ~ Binomial(4000, 1/2): standard deviation about 32; allow 5 of them.
	if math.Abs(float64(flips)-n/2) > 5*math.Sqrt(n/4) {
		t.Errorf("%d flips in %d samples", flips, n)
	}
	// 12000 N(0, 0.01) values: the relative standard error of the
	// standard deviation is about 1/sqrt(2*12000) = 0.65%; allow 4%.
	sd := math.Sqrt(sumSq / (3 * n))
	if math.Abs(sd-0.1) > 0.004 {
		t.Errorf("alpha standard deviation %.4f, want 0.1", sd)
	}
	if tr.Random(11, 0, 5) == tr.Random(11, 1, 5) && tr.Random(11, 0, 6) == tr.Random(11, 1, 6) {
		t.Error("epochs 0 and 1 gave the same augmentation")
	}
}

// TestApplyMatchesReference compares Apply with the float64 recomputation
// for random, centre and ten crops of a random image with the default
// (ImageNet) normalisation and lighting noise.
func TestApplyMatchesReference(t *testing.T) {
	tr := DefaultTransform()
	tr.BaseSize, tr.CropSize = 48, 40
	img := toRGB(randomImage(3, 48, 48))
	out := make([]float32, 3*40*40)
	ten := tr.TenCrops()
	crops := append(ten[:], tr.Center())
	for i := 0; i < 20; i++ {
		crops = append(crops, tr.Random(5, 2, i))
	}
	for _, c := range crops {
		tr.Apply(out, img, c)
		compareFloats(t, "crop", out, refCrop(&tr, img, c), pixelTol)
	}
}

// TestLightingShift checks that PCA noise adds a per-image constant RGB
// shift of the form eigvec * (alpha .* eigval): the difference between a
// crop with and without noise is the same at every pixel, and solving the
// 3x3 system eigvec * (alpha .* eigval) = shift gives back alpha.
func TestLightingShift(t *testing.T) {
	// Hand-worked: alpha = (1, 0, 0) shifts by 0.2175 * first column
	// = 0.2175 * (-0.5675, -0.5808, -0.5836) = (-0.12343125, -0.126324, -0.126933).
	got := Shift([3]float64{1, 0, 0})
	want := [3]float64{-0.12343125, -0.126324, -0.126933}
	for c := range want {
		if math.Abs(got[c]-want[c]) > 1e-12 {
			t.Errorf("Shift((1,0,0))[%d] = %.9g, want %.9g", c, got[c], want[c])
		}
	}

	tr := DefaultTransform()
	tr.BaseSize, tr.CropSize = 24, 16
	img := toRGB(randomImage(8, 24, 24))
	plain := make([]float32, 3*16*16)
	noisy := make([]float32, 3*16*16)
	for i := 0; i < 10; i++ {
		c := tr.Random(1, 0, i)
		tr.Apply(noisy, img, c)
		c0 := c
		c0.Alpha = [3]float64{}
		tr.Apply(plain, img, c0)
		var shift [3]float64
		for ch := 0; ch < 3; ch++ {
			n := 16 * 16
			first := float64(noisy[ch*n]-plain[ch*n]) * float64(tr.Std[ch])
			for k := ch * n; k < (ch+1)*n; k++ {
				d := float64(noisy[k]-plain[k]) * float64(tr.Std[ch])
				if math.Abs(d-first) > pixelTol {
					t.Fatalf("sample %d channel %d: shift %g at value %d but %g at the first", i, ch, d, k, first)
				}
			}
			shift[ch] = first
		}
		// The shifts are differences of float32 values, accurate to about
		// 2e-7; dividing by eigenvalue j amplifies that by 1/eigval[j].
		const shiftTol = 2e-6
		alpha := solveLighting(shift)
		for j := range alpha {
			if math.Abs(alpha[j]-c.Alpha[j]) > shiftTol/ImageNetEigval[j] {
				t.Errorf("sample %d: recovered alpha %v, drawn %v", i, alpha, c.Alpha)
				break
			}
		}
	}
}

// solveLighting solves ImageNetEigvec * (alpha .* ImageNetEigval) = shift
// for alpha by Cramer's rule.
func solveLighting(shift [3]float64) [3]float64 {
	m := ImageNetEigvec
	det := func(a [3][3]float64) float64 {
		return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
			a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
			a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	}
	d := det(m)
	var alpha [3]float64
	for j := 0; j < 3; j++ {
		mj := m
		for r := 0; r < 3; r++ {
			mj[r][j] = shift[r]
		}
		alpha[j] = det(mj) / d / ImageNetEigval[j]
	}
	return alpha
}

// TestNormalisation checks (pixel/255 - mean)/std on pixels of known
// value, for the ImageNet defaults and a custom setting.
func TestNormalisation(t *testing.T) {
	img := &RGB{W: 2, H: 1, Pix: []byte{0, 51, 255, 128, 200, 17}}
	for _, tr := range []Transform{
		{BaseSize: 2, CropSize: 1, Mean: ImageNetMean, Std: ImageNetStd},
		{BaseSize: 2, CropSize: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.25, 2}},
	} {
		for x := 0; x < 2; x++ {
			out := make([]float32, 3)
			tr.Apply(out, img, Crop{X0: x})
			want := make([]float64, 3)
			for c := range want {
				want[c] = (float64(img.Pix[3*x+c])/255 - float64(tr.Mean[c])) / float64(tr.Std[c])
			}
			compareFloats(t, "normalised pixel", out, want, pixelTol)
		}
	}
}

func TestTransformValidate(t *testing.T) {
	for _, tr := range []Transform{
		{BaseSize: 8, CropSize: 9, Std: [3]float32{1, 1, 1}},
		{BaseSize: 0, CropSize: 0, Std: [3]float32{1, 1, 1}},
		{BaseSize: 8, CropSize: 4, Std: [3]float32{1, 0, 1}},
		{BaseSize: 8, CropSize: 4, Std: [3]float32{1, 1, 1}, Lighting: -1},
	} {
		if err := tr.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", tr)
		}
	}
	d := DefaultTransform()
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}
