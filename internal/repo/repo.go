// Package repo finds onnxkit's repository from a folder inside it, for the
// commands that keep their caches (.cache) and find the shared data
// (../shared) relative to it when run from a checkout.
package repo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Module is onnxkit's module path, which the go.mod at the repository's
// root declares.
const Module = "github.com/onnxkit/onnxkit"

// Root returns the nearest folder at or above start whose go.mod declares
// onnxkit's module: the root of the repository when start is inside it.
func Root(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s is not inside onnxkit's repository (no go.mod of %s at or above it)", start, Module)
		}
		dir = parent
	}
}

// declaresModule reports whether the go.mod file at path declares Module.
func declaresModule(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if fields := strings.Fields(lines.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == Module
		}
	}
	return false
}
