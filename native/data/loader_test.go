package data

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// smallConfig is a loader configuration for small synthetic images.
func smallConfig(batch int, seed uint64) LoaderConfig {
	cfg := DefaultLoaderConfig(batch, seed)
	cfg.BaseSize, cfg.CropSize = 24, 16
	return cfg
}

// synthetic returns a class-folder dataset of 23 random PNG images.
func synthetic(t *testing.T) *Dataset {
	t.Helper()
	ds, err := LoadDir(writeClassFolders(t, t.TempDir(), []int{9, 8, 6}))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// collect returns every batch of an epoch from batch start on.
func collect(t *testing.T, l *Loader, epoch, start int) []*Batch {
	t.Helper()
	it, err := l.Epoch(epoch, start)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []*Batch
	for {
		b, err := it.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

// sameBatches fails unless the two batch lists are identical, pixel for pixel.
func sameBatches(t *testing.T, what string, a, b []*Batch) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d and %d batches", what, len(a), len(b))
	}
	for i := range a {
		if !reflect.DeepEqual(a[i].Samples, b[i].Samples) || !reflect.DeepEqual(a[i].Labels, b[i].Labels) {
			t.Fatalf("%s: batch %d has samples %v and %v", what, i, a[i].Samples, b[i].Samples)
		}
		for k := range a[i].Images {
			if math.Float32bits(a[i].Images[k]) != math.Float32bits(b[i].Images[k]) {
				t.Fatalf("%s: batch %d differs at value %d: %g vs %g", what, i, k, a[i].Images[k], b[i].Images[k])
			}
		}
	}
}

// TestLoaderBatches checks batch shapes, labels and that every sample is
// exactly the transform of its decoded image with the augmentation drawn
// for (seed, epoch, sample index).
func TestLoaderBatches(t *testing.T) {
	ds := synthetic(t)
	cfg := smallConfig(5, 9)
	l, err := NewLoader(ds.Items, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.NumBatches() != 5 { // 23 = 4*5 + 3
		t.Fatalf("%d batches, want 5", l.NumBatches())
	}
	batches := collect(t, l, 2, 0)
	var visited []int
	per := 3 * 16 * 16
	for bi, b := range batches {
		wantN := 5
		if bi == 4 {
			wantN = 3
		}
		if len(b.Labels) != wantN || len(b.Images) != wantN*per || b.Index != bi || b.Epoch != 2 || b.Size != 16 || b.Crops != 1 {
			t.Fatalf("batch %d: %d labels, %d values, index %d, epoch %d, size %d, crops %d",
				bi, len(b.Labels), len(b.Images), b.Index, b.Epoch, b.Size, b.Crops)
		}
		for k, idx := range b.Samples {
			if b.Labels[k] != ds.Items[idx].Label {
				t.Errorf("batch %d slot %d: label %d, item label %d", bi, k, b.Labels[k], ds.Items[idx].Label)
			}
			img, err := LoadBase(ds.Items[idx].Path, cfg.BaseSize)
			if err != nil {
				t.Fatal(err)
			}
			want := refCrop(&cfg.Transform, img, cfg.Transform.Random(cfg.Seed, 2, idx))
			compareFloats(t, "loader sample", b.Images[k*per:(k+1)*per], want, pixelTol)
		}
		visited = append(visited, b.Samples...)
	}
	if !reflect.DeepEqual(visited, l.Order(2)) {
		t.Errorf("visited %v, Order(2) is %v", visited, l.Order(2))
	}
	seen := map[int]bool{}
	for _, v := range visited {
		seen[v] = true
	}
	if len(seen) != len(ds.Items) {
		t.Errorf("an epoch visited %d distinct samples of %d", len(seen), len(ds.Items))
	}

	cfg.DropLast = true
	l, _ = NewLoader(ds.Items, cfg)
	if n := len(collect(t, l, 0, 0)); n != 4 || l.NumBatches() != 4 {
		t.Errorf("DropLast: %d batches (NumBatches %d), want 4", n, l.NumBatches())
	}
}

// TestLoaderDeterminism checks that batches depend only on (seed, epoch):
// not on the number of workers, the prefetch depth or the cache, and that
// they change with the epoch and the seed.
func TestLoaderDeterminism(t *testing.T) {
	ds := synthetic(t)
	run := func(seed uint64, epoch, workers, prefetch int, cache bool) []*Batch {
		cfg := smallConfig(4, seed)
		cfg.Workers, cfg.Prefetch, cfg.Cache = workers, prefetch, cache
		l, err := NewLoader(ds.Items, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return collect(t, l, epoch, 0)
	}
	ref := run(1, 3, 1, 1, false)
	sameBatches(t, "4 workers", ref, run(1, 3, 4, 3, false))
	sameBatches(t, "7 workers with cache", ref, run(1, 3, 7, 1, true))
	sameBatches(t, "second run", ref, run(1, 3, 2, 2, true))
	if reflect.DeepEqual(ref[0].Samples, run(1, 4, 2, 2, false)[0].Samples) {
		t.Error("epochs 3 and 4 start with the same samples")
	}
	if reflect.DeepEqual(ref[0].Samples, run(2, 3, 2, 2, false)[0].Samples) {
		t.Error("seeds 1 and 2 start with the same samples")
	}
}

// TestLoaderResume checks that starting an epoch at batch k gives the
// batches k, k+1, ... of an uninterrupted pass, also when the first pass
// used the cache and another worker count, and that a loader reused
// across epochs (cache warm) equals a fresh one.
func TestLoaderResume(t *testing.T) {
	ds := synthetic(t)
	cfg := smallConfig(3, 77)
	l, _ := NewLoader(ds.Items, cfg)
	full := collect(t, l, 5, 0)
	for _, k := range []int{1, 4, len(full)} {
		cfg2 := cfg
		cfg2.Workers, cfg2.Cache = 3, false
		fresh, _ := NewLoader(ds.Items, cfg2)
		sameBatches(t, "resumed epoch", full[k:], collect(t, fresh, 5, k))
	}
	for k, b := range collect(t, l, 5, 2) {
		if b.Index != k+2 {
			t.Errorf("resumed batch %d has index %d", k, b.Index)
		}
	}
	if _, err := l.Epoch(0, l.NumBatches()+1); err == nil {
		t.Error("start beyond the last batch accepted")
	}
	if _, err := l.Epoch(-1, 0); err == nil {
		t.Error("negative epoch accepted")
	}
}

// TestLoaderEvaluation checks the centre crop and ten-crop modes.
func TestLoaderEvaluation(t *testing.T) {
	ds := synthetic(t)
	cfg := smallConfig(4, 1)
	cfg.Train, cfg.Shuffle = false, false
	l, _ := NewLoader(ds.Items, cfg)
	cfg.TenCrop = true
	l10, err := NewLoader(ds.Items, cfg)
	if err != nil {
		t.Fatal(err)
	}
	per := 3 * 16 * 16
	b1, b10 := collect(t, l, 0, 0), collect(t, l10, 0, 0)
	for bi := range b1 {
		if b10[bi].Crops != 10 || len(b10[bi].Images) != 10*len(b10[bi].Labels)*per {
			t.Fatalf("ten-crop batch %d: %d crops, %d values", bi, b10[bi].Crops, len(b10[bi].Images))
		}
		for k, idx := range b1[bi].Samples {
			if idx != bi*4+k {
				t.Fatalf("unshuffled batch %d slot %d holds sample %d", bi, k, idx)
			}
			img, _ := LoadBase(ds.Items[idx].Path, cfg.BaseSize)
			compareFloats(t, "centre crop", b1[bi].Images[k*per:(k+1)*per], refCrop(&cfg.Transform, img, cfg.Center()), pixelTol)
			for c, crop := range cfg.TenCrops() {
				off := (10*k + c) * per
				compareFloats(t, "ten-crop", b10[bi].Images[off:off+per], refCrop(&cfg.Transform, img, crop), pixelTol)
			}
		}
	}
}

// TestLoaderErrors checks configuration errors, a corrupt image (named in
// the error) and closing an iterator early.
func TestLoaderErrors(t *testing.T) {
	ds := synthetic(t)
	bad := []func(*LoaderConfig){
		func(c *LoaderConfig) { c.BatchSize = 0 },
		func(c *LoaderConfig) { c.TenCrop = true },
		func(c *LoaderConfig) { c.CropSize = 25 },
		func(c *LoaderConfig) { c.Workers = -1 },
	}
	for i, f := range bad {
		cfg := smallConfig(4, 1)
		f(&cfg)
		if _, err := NewLoader(ds.Items, cfg); err == nil {
			t.Errorf("bad configuration %d accepted", i)
		}
	}
	if _, err := NewLoader(nil, smallConfig(4, 1)); err == nil {
		t.Error("empty item list accepted")
	}

	corrupt := ds.Items[5].Path
	if err := os.WriteFile(corrupt, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig(4, 1)
	cfg.Shuffle = false
	l, _ := NewLoader(ds.Items, cfg)
	it, _ := l.Epoch(0, 0)
	if _, err := it.Next(); err != nil { // samples 0..3
		t.Fatal(err)
	}
	_, err := it.Next() // samples 4..7 include the corrupt one
	if err == nil || !strings.Contains(err.Error(), filepath.Base(corrupt)) {
		t.Errorf("error %v, want one naming %s", err, corrupt)
	}
	if _, again := it.Next(); again != err {
		t.Errorf("error not sticky: %v", again)
	}
	it.Close()

	// Closing with batches still being prepared must not hang or leak.
	l, _ = NewLoader(ds.Items[:5], smallConfig(1, 1))
	it, _ = l.Epoch(0, 0)
	if _, err := it.Next(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	it.Close()
	if _, err := it.Next(); err == nil {
		t.Error("Next after Close succeeded")
	}
}

// TestLoaderRealImages runs a few real 17flowers photographs (about
// 500 pixels on the short side) through the default pipeline.
func TestLoaderRealImages(t *testing.T) {
	ds, err := Load17Flowers(sharedFlowers(t))
	if err != nil {
		t.Fatal(err)
	}
	items := []Item{ds.Items[0], ds.Items[400], ds.Items[1359]}
	cfg := DefaultLoaderConfig(2, 3)
	l, err := NewLoader(items, cfg)
	if err != nil {
		t.Fatal(err)
	}
	batches := collect(t, l, 0, 0)
	per := 3 * 224 * 224
	for _, b := range batches {
		for k, idx := range b.Samples {
			img, err := LoadBase(items[idx].Path, 256)
			if err != nil {
				t.Fatal(err)
			}
			if img.W != 256 || img.H != 256 {
				t.Fatalf("%s: base image %dx%d", items[idx].Path, img.W, img.H)
			}
			want := refCrop(&cfg.Transform, img, cfg.Random(cfg.Seed, 0, idx))
			compareFloats(t, items[idx].Path, b.Images[k*per:(k+1)*per], want, pixelTol)
		}
	}
}
