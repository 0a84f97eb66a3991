package data

import (
	"bufio"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
)

// Parameters of the prepared ("small") 17flowers set.
const (
	// PreparedSize is the side of the square images of a prepared set.
	PreparedSize = 256
	// PreparedQuality is the JPEG quality of a prepared set.
	PreparedQuality = 90
	// PreparedName is the folder name of the prepared set under .cache.
	PreparedName = "oxflower17-256"
)

// SourceDir returns the default location of the original 17flowers images
// for a repository checked out at repo: the shared data folder cloned
// next to it, repo/../shared/data/oxflower17.
func SourceDir(repo string) string {
	return filepath.Join(repo, "..", "shared", "data", "oxflower17")
}

// PreparedDir returns the default location of the prepared set for a
// repository at repo: repo/.cache/oxflower17-256 (ignored by git).
func PreparedDir(repo string) string {
	return filepath.Join(repo, ".cache", PreparedName)
}

// Prepare writes the prepared copy of the dataset at srcDir (any layout
// LoadDir reads) into dstDir, which must not exist yet:
//
//   - dstDir/<path>.jpg for every item, where <path> is the item's path
//     relative to srcDir without extension (jpg/image_0001 for the
//     17flowers layout, <class>/<name> for class folders): the image's
//     shorter side resized to 256 pixels with the Catmull-Rom filter of
//     golang.org/x/image/draw (longer side rounded to the nearest pixel),
//     the central 256x256 square cut out (offset floor((long-256)/2)),
//     encoded by image/jpeg at quality 90;
//   - dstDir/labels.csv in the 17flowers format (file,label,class_name);
//   - dstDir/PROVENANCE.md recording this processing and, when the
//     classes are those of 17flowers, the dataset's origin and citation.
//
// Everything is written into a temporary sibling folder that is renamed
// to dstDir only when complete, so an interrupted run never leaves a
// partial dstDir (the temporary folder, named .<base>.tmp-*, may remain).
// The output is deterministic: the same input gives the same bytes.
func Prepare(srcDir, dstDir string) error {
	ds, err := LoadDir(srcDir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dstDir); err == nil {
		return fmt.Errorf("data: prepare: %s already exists", dstDir)
	}
	srcAbs, err := filepath.Abs(srcDir)
	if err != nil {
		return err
	}
	names := make([]string, len(ds.Items)) // output paths relative to dstDir, slash-separated
	seen := map[string]string{}
	for i, it := range ds.Items {
		abs, err := filepath.Abs(it.Path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(srcAbs, abs)
		if err != nil || !filepath.IsLocal(rel) {
			return fmt.Errorf("data: prepare: %s is not inside %s", it.Path, srcDir)
		}
		names[i] = filepath.ToSlash(rel[:len(rel)-len(filepath.Ext(rel))] + ".jpg")
		if prev, ok := seen[names[i]]; ok {
			return fmt.Errorf("data: prepare: %s and %s would both be written as %s", prev, it.Path, names[i])
		}
		seen[names[i]] = it.Path
	}
	parent := filepath.Dir(dstDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dstDir)+".tmp-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	for _, name := range names {
		if err := os.MkdirAll(filepath.Join(tmp, filepath.Dir(filepath.FromSlash(name))), 0o755); err != nil {
			return err
		}
	}
	if err := convertAll(ds.Items, names, tmp); err != nil {
		return err
	}
	if err := writeLabels(filepath.Join(tmp, "labels.csv"), ds, names); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "PROVENANCE.md"), []byte(provenance(srcDir, ds)), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp creates it 0700
		return err
	}
	if err := os.Rename(tmp, dstDir); err != nil {
		return fmt.Errorf("data: prepare: %w", err)
	}
	ok = true
	return nil
}

// convertAll resizes, crops and encodes the items on one goroutine per
// CPU. Each output file depends only on its input, so the order in which
// the workers run does not matter; the first error in item order wins.
func convertAll(items []Item, names []string, outDir string) error {
	errs := make([]error, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = convertOne(items[i].Path, filepath.Join(outDir, filepath.FromSlash(names[i])))
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstError(errs)
}

// firstError returns the first non-nil error of errs, or nil.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// convertOne writes the prepared version of one image.
func convertOne(src, dst string) error {
	img, err := decodeFile(src)
	if err != nil {
		return err
	}
	out := resizeCrop(img, PreparedSize)
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = jpeg.Encode(w, out, &jpeg.Options{Quality: PreparedQuality})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("data: %s: %w", dst, err)
	}
	return nil
}

// writeLabels writes labels.csv for the prepared items.
func writeLabels(path string, ds *Dataset, names []string) error {
	buf := []byte("file,label,class_name\n")
	for i, it := range ds.Items {
		buf = appendCSVField(buf, names[i])
		buf = append(buf, ","+strconv.Itoa(it.Label)+","...)
		buf = appendCSVField(buf, ds.Classes[it.Label])
		buf = append(buf, '\n')
	}
	return os.WriteFile(path, buf, 0o644)
}

// appendCSVField appends s, quoted as RFC 4180 requires when it holds a
// comma, quote or line break.
func appendCSVField(buf []byte, s string) []byte {
	needQuote := false
	for _, c := range s {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			needQuote = true
		}
	}
	if !needQuote {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for _, c := range s {
		if c == '"' {
			buf = append(buf, '"')
		}
		buf = append(buf, string(c)...)
	}
	return append(buf, '"')
}

// provenance is the text of PROVENANCE.md. It does not contain the time
// or the absolute source path, so that the output is reproducible.
func provenance(srcDir string, ds *Dataset) string {
	origin := "The source folder's own documentation describes where the images came from.\n"
	if slices.Equal(ds.Classes, Flowers17Classes) {
		origin = flowers17Origin
	}
	return "# Prepared images (256x256)\n\n" +
		"Generated by `data.Prepare` of github.com/onnxkit/onnxkit/native/data (command\n" +
		"`native/data/cmd/mkflowers`) from the folder `" + filepath.Base(filepath.Clean(srcDir)) + "`: " +
		strconv.Itoa(len(ds.Items)) + " images in " + strconv.Itoa(len(ds.Classes)) + " classes.\n" +
		"This folder is a cache: do not commit it. Delete it to regenerate it.\n\n" +
		"## Origin\n\n" + origin + processingNote
}

// flowers17Origin credits the Oxford 17 Category Flower Dataset.
const flowers17Origin = `The Oxford 17 Category Flower Dataset by Maria-Elena Nilsback and Andrew
Zisserman, Visual Geometry Group, Department of Engineering Science,
University of Oxford: http://www.robots.ox.ac.uk/~vgg/data/flowers/17/.
Cite: M.-E. Nilsback and A. Zisserman, "A Visual Vocabulary for Flower
Classification", IEEE Conference on Computer Vision and Pattern
Recognition (CVPR), 2006. The photographs were collected from the web and
their copyright stays with their photographers; check the terms on the
VGG page before redistributing anything derived from them. The source
folder's SOURCE.md records where the local copy came from.
`

// processingNote describes what Prepare does to each image.
const processingNote = `
## Processing

For each image, in the order of the source labels:

1. Decoded with Go's image/jpeg or image/png (YCbCr to RGB by the
   standard library).
2. Resized so that the shorter side is 256 pixels, the longer side
   rounded to the nearest pixel, with the Catmull-Rom kernel of
   golang.org/x/image/draw (a filter widened by the scale factor when
   shrinking, so it also low-pass filters).
3. Centre-cropped to 256x256, offset floor((long - 256) / 2).
4. Encoded with Go's image/jpeg at quality 90 (4:2:0 chroma).

` + "`labels.csv`" + ` keeps the source labels and class names (file,label,class_name),
with ` + "`file`" + ` relative to this folder.
`

// EnsurePrepared returns dstDir after making sure that it holds a
// prepared set: if dstDir/labels.csv is missing, it calls
// Prepare(srcDir, dstDir). A concurrent process that finishes first is
// not an error.
func EnsurePrepared(srcDir, dstDir string) (string, error) {
	labels := filepath.Join(dstDir, "labels.csv")
	if _, err := os.Stat(labels); err == nil {
		return dstDir, nil
	}
	if err := Prepare(srcDir, dstDir); err != nil {
		if _, serr := os.Stat(labels); serr == nil {
			return dstDir, nil // another process renamed its copy into place first
		}
		return "", err
	}
	return dstDir, nil
}
