package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Item is one labelled image file.
type Item struct {
	Path  string // file path (the dataset folder joined with the listed name)
	Label int    // class index into Dataset.Classes
}

// Dataset is a list of labelled images and the names of their classes.
type Dataset struct {
	Items   []Item
	Classes []string
}

// Flowers17Classes are the class names of the Oxford 17 Category Flower
// Dataset in label order; image_N belongs to class (N-1)/80.
var Flowers17Classes = []string{
	"daffodil", "snowdrop", "lilyvalley", "bluebell", "crocus", "iris",
	"tigerlily", "tulip", "fritillary", "sunflower", "daisy", "coltsfoot",
	"dandelion", "cowslip", "buttercup", "windflower", "pansy",
}

// flowers17PerClass is the number of images in each 17flowers class.
const flowers17PerClass = 80

// flowers17Name matches the file names of the 17flowers images.
var flowers17Name = regexp.MustCompile(`^image_([0-9]{4})\.jpg$`)

// imageExts are the file extensions that the class-folder loader accepts.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true}

// Load17Flowers reads a dataset in the 17flowers layout: dir/jpg/image_NNNN.jpg.
// If dir/labels.csv exists (header file,label,class_name; file relative
// to dir; labels 0..K-1, one class name per label) it is authoritative;
// otherwise every dir/jpg/image_NNNN.jpg, N = 1..1360, gets label
// (N-1)/80 and the classes are Flowers17Classes. Items are in file-name
// order in the second case and in labels.csv order in the first. Listed
// files must exist.
func Load17Flowers(dir string) (*Dataset, error) {
	csvPath := filepath.Join(dir, "labels.csv")
	f, err := os.Open(csvPath)
	if err == nil {
		defer f.Close()
		return readLabelsCSV(dir, csvPath, f)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	jpgDir := filepath.Join(dir, "jpg")
	entries, err := os.ReadDir(jpgDir)
	if err != nil {
		return nil, fmt.Errorf("data: 17flowers layout: %w", err)
	}
	ds := &Dataset{Classes: append([]string(nil), Flowers17Classes...)}
	maxN := flowers17PerClass * len(Flowers17Classes)
	for _, e := range entries {
		name := e.Name()
		if !strings.EqualFold(filepath.Ext(name), ".jpg") {
			continue // files.txt and other listings of the original archive
		}
		path := filepath.Join(jpgDir, name)
		m := flowers17Name.FindStringSubmatch(name)
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("data: %s: not a 17flowers image name (want image_NNNN.jpg)", path)
		}
		n, _ := strconv.Atoi(m[1]) // four digits: cannot fail
		if n < 1 || n > maxN {
			return nil, fmt.Errorf("data: %s: image number %d outside 1..%d", path, n, maxN)
		}
		ds.Items = append(ds.Items, Item{Path: path, Label: (n - 1) / flowers17PerClass})
	}
	if len(ds.Items) == 0 {
		return nil, fmt.Errorf("data: %s: no image_NNNN.jpg files", jpgDir)
	}
	return ds, nil // os.ReadDir sorts by name, and the names have fixed width
}

// readLabelsCSV parses a labels.csv of the 17flowers layout.
func readLabelsCSV(dir, csvPath string, r io.Reader) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("data: %s: header: %w", csvPath, err)
	}
	if header[0] != "file" || header[1] != "label" || header[2] != "class_name" {
		return nil, fmt.Errorf("data: %s: header %q, want file,label,class_name", csvPath, strings.Join(header, ","))
	}
	ds := &Dataset{}
	names := map[int]string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", csvPath, err)
		}
		line, _ := cr.FieldPos(0)
		rel, labelText, class := rec[0], rec[1], rec[2]
		if rel == "" || filepath.IsAbs(rel) || !filepath.IsLocal(filepath.FromSlash(rel)) {
			return nil, fmt.Errorf("data: %s:%d: file %q must be a relative path inside %s", csvPath, line, rel, dir)
		}
		label, err := strconv.Atoi(labelText)
		if err != nil || label < 0 {
			return nil, fmt.Errorf("data: %s:%d: label %q is not a non-negative integer", csvPath, line, labelText)
		}
		if class == "" {
			return nil, fmt.Errorf("data: %s:%d: empty class_name", csvPath, line)
		}
		if prev, ok := names[label]; ok && prev != class {
			return nil, fmt.Errorf("data: %s:%d: label %d is named %q here but %q before", csvPath, line, label, class, prev)
		}
		names[label] = class
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if st, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("data: %s:%d: %w", csvPath, line, err)
		} else if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("data: %s:%d: %s is not a regular file", csvPath, line, path)
		}
		ds.Items = append(ds.Items, Item{Path: path, Label: label})
	}
	if len(ds.Items) == 0 {
		return nil, fmt.Errorf("data: %s: no rows", csvPath)
	}
	ds.Classes = make([]string, len(names))
	for label, name := range names {
		if label >= len(names) {
			return nil, fmt.Errorf("data: %s: labels are not 0..%d (label %d, class %q)", csvPath, len(names)-1, label, name)
		}
		ds.Classes[label] = name
	}
	return ds, nil
}

// LoadClassFolders reads a dataset with one sub-folder per class:
// dir/<class>/<image>.{jpg,jpeg,png}. Class names are the sorted folder
// names and labels their indices; items are sorted by class, then by file
// name. Hidden entries (names starting with '.') and files directly in
// dir are ignored; any other file in a class folder, a nested folder or
// an empty class folder is an error naming it.
func LoadClassFolders(dir string) (*Dataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: class-folder layout: %w", err)
	}
	ds := &Dataset{}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ds.Classes = append(ds.Classes, e.Name())
		}
	}
	if len(ds.Classes) == 0 {
		return nil, fmt.Errorf("data: %s: no class folders", dir)
	}
	sort.Strings(ds.Classes) // os.ReadDir sorts already; kept explicit as the labels depend on it
	for label, class := range ds.Classes {
		classDir := filepath.Join(dir, class)
		files, err := os.ReadDir(classDir)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		n := 0
		for _, f := range files {
			name := f.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			path := filepath.Join(classDir, name)
			if f.IsDir() {
				return nil, fmt.Errorf("data: %s: nested folder in a class folder", path)
			}
			if !imageExts[strings.ToLower(filepath.Ext(name))] {
				return nil, fmt.Errorf("data: %s: not an image file (want .jpg, .jpeg or .png)", path)
			}
			ds.Items = append(ds.Items, Item{Path: path, Label: label})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("data: %s: class folder without images", classDir)
		}
	}
	return ds, nil
}

// LoadDir reads a dataset, choosing the layout: the 17flowers layout if
// dir holds labels.csv or a jpg folder of image_NNNN.jpg files, the
// class-folder layout otherwise.
func LoadDir(dir string) (*Dataset, error) {
	if _, err := os.Stat(filepath.Join(dir, "labels.csv")); err == nil {
		return Load17Flowers(dir)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "jpg")); err == nil {
		for _, e := range entries {
			if flowers17Name.MatchString(e.Name()) {
				return Load17Flowers(dir)
			}
		}
	}
	return LoadClassFolders(dir)
}

// Counts returns the number of items of each class. The dataset must be
// valid (see Validate).
func (ds *Dataset) Counts() []int {
	counts := make([]int, len(ds.Classes))
	for _, it := range ds.Items {
		counts[it.Label]++
	}
	return counts
}

// Validate checks that the dataset has items and classes and that every
// label indexes Classes.
func (ds *Dataset) Validate() error {
	if len(ds.Items) == 0 {
		return errors.New("data: dataset has no items")
	}
	for _, it := range ds.Items {
		if it.Label < 0 || it.Label >= len(ds.Classes) {
			return fmt.Errorf("data: %s: label %d outside 0..%d", it.Path, it.Label, len(ds.Classes)-1)
		}
	}
	return nil
}
