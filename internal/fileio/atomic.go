package fileio

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StaleAge is how old a temporary file of an atomic write must be, and
// unlocked, before the next write to the same path removes it as the
// leftover of a killed run. A live writer holds a lock on its temporary
// file (where the system has flock) and is younger than this while it
// opens it.
const StaleAge = time.Minute

// tempPrefix returns the prefix of the temporary files of final: a hidden
// ".NAME.tmp-" beside it.
func tempPrefix(final string) string { return "." + filepath.Base(final) + ".tmp-" }

// CreateTemp creates the temporary file of an atomic write to final, in
// final's folder so that renaming it over final replaces the old file all
// at once, after removing the stale temporary files that killed writes to
// final left behind (see RemoveStale). The file is locked against that
// removal until it is closed.
func CreateTemp(final string) (*os.File, error) {
	RemoveStale(final)
	f, err := os.CreateTemp(filepath.Dir(final), tempPrefix(final)+"*")
	if err != nil {
		return nil, err
	}
	tryLock(f)
	return f, nil
}

// RemoveStale removes the temporary files of atomic writes to final
// (".NAME.tmp-*" beside it) that are older than StaleAge and that no
// live writer holds locked. Failures are ignored: the files are litter,
// not data.
func RemoveStale(final string) {
	dir, prefix := filepath.Dir(final), tempPrefix(final)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < StaleAge {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if tryLock(f) { // no live writer holds it
			os.Remove(path)
		}
		f.Close()
	}
}
