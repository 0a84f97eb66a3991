// Command mkflowers prepares the small 256x256 copy of the Oxford 17
// flowers dataset that the training examples use (see data.Prepare).
//
// Usage, from anywhere inside the repository:
//
//	go run ./native/data/cmd/mkflowers [-src dir] [-dst dir]
//
// The defaults are <repo>/../shared/data/oxflower17 and
// <repo>/.cache/oxflower17-256.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log"
	"path/filepath"
	"time"

	"github.com/onnxkit/onnxkit/internal/repo"
	"github.com/onnxkit/onnxkit/native/data"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("mkflowers: ")
	src := flag.String("src", "", "source dataset folder (default <repo>/../shared/data/oxflower17)")
	dst := flag.String("dst", "", "output folder, must not exist (default <repo>/.cache/oxflower17-256)")
	flag.Parse()
	if *src == "" || *dst == "" {
		root, err := repo.Root(".")
		if err != nil {
			log.Fatal(err)
		}
		if *src == "" {
			*src = data.SourceDir(root)
		}
		if *dst == "" {
			*dst = data.PreparedDir(root)
		}
	}
	start := time.Now()
	if err := data.Prepare(*src, *dst); err != nil {
		log.Fatal(err)
	}
	files, bytes, err := treeSize(*dst)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s: %d files, %d bytes (%.1f MiB) in %s\n",
		*dst, files, bytes, float64(bytes)/(1<<20), time.Since(start).Round(time.Millisecond))
}

// treeSize returns the number and total size of the regular files under dir.
func treeSize(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	return files, bytes, err
}
