package data

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkTransform224 measures one training crop of a 256x256 image.
func BenchmarkTransform224(b *testing.B) {
	tr := DefaultTransform()
	img := toRGB(randomImage(1, 256, 256))
	out := make([]float32, 3*224*224)
	b.SetBytes(int64(len(out)) * 4)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tr.Apply(out, img, tr.Random(1, 0, i))
	}
}

// BenchmarkLoaderCached measures training batches of 16 from 32
// synthetic 256x256 images held in the cache (decoding excluded).
func BenchmarkLoaderCached(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 32; i++ {
		writePNG(b, filepath.Join(dir, "c", fmt.Sprintf("%02d.png", i)), randomImage(uint64(i), 256, 256))
	}
	ds, err := LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewLoader(ds.Items, DefaultLoaderConfig(16, 1))
	if err != nil {
		b.Fatal(err)
	}
	epoch := 0
	images := 0
	b.ReportAllocs()
	for b.Loop() {
		it, err := l.Epoch(epoch, 0)
		if err != nil {
			b.Fatal(err)
		}
		for {
			batch, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			images += len(batch.Labels)
		}
		it.Close()
		epoch++
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}

// FuzzLabelsCSV checks that no labels.csv content makes the parser panic.
func FuzzLabelsCSV(f *testing.F) {
	f.Add("file,label,class_name\njpg/a.jpg,0,x\n")
	f.Add("file,label,class_name\njpg/a.jpg,1,y\njpg/a.jpg,0,x\n")
	f.Add("file,label,class_name\n\"jpg/a.jpg\",99999999999999999999,x\n")
	dir := f.TempDir()
	writePNG(f, filepath.Join(dir, "jpg", "a.jpg"), randomImage(1, 2, 2))
	f.Fuzz(func(t *testing.T, text string) {
		ds, err := readLabelsCSV(dir, "labels.csv", strings.NewReader(text))
		if err == nil {
			if verr := ds.Validate(); verr != nil {
				t.Fatalf("accepted an invalid dataset: %v", verr)
			}
		}
	})
}
