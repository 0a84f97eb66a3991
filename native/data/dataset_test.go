package data

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// touch creates an empty file (the loaders do not decode images).
func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad17FlowersFromNames(t *testing.T) {
	dir := t.TempDir()
	// image_N has label (N-1)/80: 1 and 80 -> 0, 81 -> 1, 1360 -> 16.
	want := map[string]int{"image_0001.jpg": 0, "image_0080.jpg": 0, "image_0081.jpg": 1, "image_1360.jpg": 16}
	for name := range want {
		touch(t, filepath.Join(dir, "jpg", name))
	}
	touch(t, filepath.Join(dir, "jpg", "files.txt")) // listing of the original archive: ignored
	for _, load := range []func(string) (*Dataset, error){Load17Flowers, LoadDir} {
		ds, err := load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Items) != len(want) || !reflect.DeepEqual(ds.Classes, Flowers17Classes) {
			t.Fatalf("got %d items, classes %v", len(ds.Items), ds.Classes)
		}
		for i, it := range ds.Items {
			name := filepath.Base(it.Path)
			if it.Label != want[name] {
				t.Errorf("%s: label %d, want %d", name, it.Label, want[name])
			}
			if i > 0 && ds.Items[i-1].Path >= it.Path {
				t.Errorf("items not in file-name order at %d", i)
			}
		}
	}
}

func TestLoad17FlowersNameErrors(t *testing.T) {
	for _, bad := range []string{"image_12.jpg", "img_0001.jpg", "image_0000.jpg", "image_1361.jpg"} {
		dir := t.TempDir()
		touch(t, filepath.Join(dir, "jpg", "image_0001.jpg"))
		touch(t, filepath.Join(dir, "jpg", bad))
		_, err := Load17Flowers(dir)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: error %v, want one naming the file", bad, err)
		}
	}
	if _, err := Load17Flowers(t.TempDir()); err == nil {
		t.Error("empty folder accepted")
	}
}

func TestLoad17FlowersCSV(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		touch(t, filepath.Join(dir, "jpg", n))
	}
	csv := "file,label,class_name\njpg/b.jpg,1,tulip\njpg/a.jpg,0,\"iris, blue\"\njpg/c.jpg,1,tulip\n"
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Dataset{
		Items: []Item{
			{filepath.Join(dir, "jpg", "b.jpg"), 1},
			{filepath.Join(dir, "jpg", "a.jpg"), 0},
			{filepath.Join(dir, "jpg", "c.jpg"), 1},
		},
		Classes: []string{"iris, blue", "tulip"},
	}
	if !reflect.DeepEqual(ds, want) {
		t.Errorf("got %+v\nwant %+v", ds, want)
	}
}

func TestLoad17FlowersCSVErrors(t *testing.T) {
	cases := []struct{ name, csv, want string }{
		{"header", "path,label,class\njpg/a.jpg,0,x\n", "header"},
		{"label", "file,label,class_name\njpg/a.jpg,zero,x\n", `labels.csv:2: label "zero"`},
		{"negative", "file,label,class_name\njpg/a.jpg,-1,x\n", `label "-1"`},
		{"missing file", "file,label,class_name\njpg/a.jpg,0,x\njpg/nope.jpg,0,x\n", "nope.jpg"},
		{"escape", "file,label,class_name\n../a.jpg,0,x\n", `"../a.jpg"`},
		{"absolute", "file,label,class_name\n/etc/passwd,0,x\n", `"/etc/passwd"`},
		{"two names", "file,label,class_name\njpg/a.jpg,0,x\njpg/a.jpg,0,y\n", `named "y" here but "x"`},
		{"gap", "file,label,class_name\njpg/a.jpg,0,x\njpg/a.jpg,2,z\n", "labels are not 0..1"},
		{"fields", "file,label,class_name\njpg/a.jpg,0\n", "labels.csv"},
		{"empty class", "file,label,class_name\njpg/a.jpg,0,\n", "empty class_name"},
		{"no rows", "file,label,class_name\n", "no rows"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		touch(t, filepath.Join(dir, "jpg", "a.jpg"))
		if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(c.csv), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load17Flowers(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestLoadClassFolders(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "tulip", "x.PNG"))
	touch(t, filepath.Join(dir, "tulip", "a.jpg"))
	touch(t, filepath.Join(dir, "daisy", "b.jpeg"))
	touch(t, filepath.Join(dir, "daisy", ".DS_Store"))
	touch(t, filepath.Join(dir, "README.md"))
	touch(t, filepath.Join(dir, ".git", "config"))
	ds, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Dataset{
		Items: []Item{
			{filepath.Join(dir, "daisy", "b.jpeg"), 0},
			{filepath.Join(dir, "tulip", "a.jpg"), 1},
			{filepath.Join(dir, "tulip", "x.PNG"), 1},
		},
		Classes: []string{"daisy", "tulip"},
	}
	if !reflect.DeepEqual(ds, want) {
		t.Errorf("got %+v\nwant %+v", ds, want)
	}
}

func TestLoadClassFoldersErrors(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  string
	}{
		{"stray file", []string{"a/x.jpg", "a/notes.txt"}, "notes.txt"},
		{"nested", []string{"a/x.jpg", "a/sub/y.jpg"}, filepath.Join("a", "sub")},
		{"empty class", []string{"a/x.jpg", "b/.hidden"}, "class folder without images"},
		{"no classes", []string{"x.jpg"}, "no class folders"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		for _, f := range c.files {
			touch(t, filepath.Join(dir, filepath.FromSlash(f)))
		}
		_, err := LoadClassFolders(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestLoadRealFlowers reads the shared copy through labels.csv and, via a
// folder that links to the same images without labels.csv, from the file
// names; both must give 17 classes of 80 with the same labels.
func TestLoadRealFlowers(t *testing.T) {
	src := sharedFlowers(t)
	fromCSV, err := LoadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	link := t.TempDir()
	if err := os.Symlink(filepath.Join(src, "jpg"), filepath.Join(link, "jpg")); err != nil {
		t.Fatal(err)
	}
	fromNames, err := LoadDir(link)
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range []*Dataset{fromCSV, fromNames} {
		if len(ds.Items) != 1360 || len(ds.Classes) != 17 {
			t.Fatalf("%d items in %d classes, want 1360 in 17", len(ds.Items), len(ds.Classes))
		}
		for k, n := range ds.Counts() {
			if n != 80 {
				t.Errorf("class %d (%s) has %d images, want 80", k, ds.Classes[k], n)
			}
		}
	}
	for i := range fromCSV.Items {
		a, b := fromCSV.Items[i], fromNames.Items[i]
		if filepath.Base(a.Path) != filepath.Base(b.Path) || a.Label != b.Label {
			t.Fatalf("item %d: labels.csv gives %v, file names give %v", i, a, b)
		}
	}
	for k := range fromCSV.Classes {
		if fromCSV.Classes[k] != fromNames.Classes[k] {
			t.Errorf("class %d: labels.csv %q, Flowers17Classes %q", k, fromCSV.Classes[k], fromNames.Classes[k])
		}
	}
}

// fakeDataset has counts[k] items of class k with unique paths.
func fakeDataset(counts []int) *Dataset {
	ds := &Dataset{}
	for k, n := range counts {
		ds.Classes = append(ds.Classes, fmt.Sprintf("c%d", k))
		for i := 0; i < n; i++ {
			ds.Items = append(ds.Items, Item{Path: fmt.Sprintf("c%d/%d.jpg", k, i), Label: k})
		}
	}
	return ds
}

func TestSplit(t *testing.T) {
	counts := []int{80, 80, 80, 25, 7, 1}
	ds := fakeDataset(counts)
	train, val, test, err := Split(ds, 42, 0.1, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	// Per class: val = round(0.1 n), test = round(0.2 n), train = rest.
	// n = 80: 8, 16, 56.  n = 25: round(2.5) = 3, 5, 17.  n = 7: 1, 1, 5.  n = 1: 0, 0, 1.
	wantVal := []int{8, 8, 8, 3, 1, 0}
	wantTest := []int{16, 16, 16, 5, 1, 0}
	wantTrain := []int{56, 56, 56, 17, 5, 1}
	for _, c := range []struct {
		name string
		ds   *Dataset
		want []int
	}{{"train", train, wantTrain}, {"val", val, wantVal}, {"test", test, wantTest}} {
		if got := c.ds.Counts(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s class counts %v, want %v", c.name, got, c.want)
		}
	}
	seen := map[string]string{}
	for name, part := range map[string]*Dataset{"train": train, "val": val, "test": test} {
		for _, it := range part.Items {
			if prev, ok := seen[it.Path]; ok {
				t.Errorf("%s is in %s and %s", it.Path, prev, name)
			}
			seen[it.Path] = name
		}
	}
	if len(seen) != len(ds.Items) {
		t.Errorf("the parts hold %d distinct items, the dataset %d", len(seen), len(ds.Items))
	}

	train2, val2, test2, _ := Split(ds, 42, 0.1, 0.2)
	if !reflect.DeepEqual(train, train2) || !reflect.DeepEqual(val, val2) || !reflect.DeepEqual(test, test2) {
		t.Error("the same seed gave a different split")
	}
	_, val3, _, _ := Split(ds, 43, 0.1, 0.2)
	if reflect.DeepEqual(val.Items, val3.Items) {
		t.Error("seeds 42 and 43 gave the same validation set")
	}

	for _, f := range [][2]float64{{-0.1, 0.1}, {0.5, 0.5}, {0.2, 1}} {
		if _, _, _, err := Split(ds, 1, f[0], f[1]); err == nil {
			t.Errorf("fractions %v accepted", f)
		}
	}
	bad := fakeDataset([]int{2})
	bad.Items[1].Label = 3
	if _, _, _, err := Split(bad, 1, 0.1, 0.1); err == nil || !strings.Contains(err.Error(), "c0/1.jpg") {
		t.Errorf("out-of-range label: error %v, want one naming c0/1.jpg", err)
	}
}
