package train

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/internal/fileio"
)

// testCheckpoint is a small checkpoint with every part filled.
func testCheckpoint() *Checkpoint {
	return &Checkpoint{Config: DefaultConfig(), Epochs: 2, Step: 30, Classes: []string{"a", "b"},
		TrainableNames: []string{"w"}, OptimizerKind: "adam", OptimizerStep: 30,
		Trainable: []float32{1.5, -2.25, 3}, State: []float32{4}, Optimizer: [][]float32{{5, 6, 7}, {8, 9, 10}}}
}

// TestCheckpointChecksumRefusesCorruption flips single mantissa bits of
// every float in the file, and appends junk: the checksum (or the layout)
// must refuse each, where before they loaded silently.
func TestCheckpointChecksumRefusesCorruption(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ckpt")
	if err := WriteCheckpoint(path, testCheckpoint()); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Walk the layout to each float of the buffers and flip the lowest
	// mantissa bit of each of the 10 values, one at a time.
	end := len(whole) - 4
	pos := len(checkpointMagic) + 8 + int(binary.LittleEndian.Uint32(whole[len(checkpointMagic)+4:])) + 8
	var floats []int
	for pos < end {
		n := int(binary.LittleEndian.Uint64(whole[pos:]))
		for j := range n {
			floats = append(floats, pos+8+4*j)
		}
		pos += 8 + 4*n
	}
	if len(floats) != 10 || pos != end {
		t.Fatalf("found %d floats ending at %d, want 10 ending at %d", len(floats), pos, end)
	}
	for _, off := range floats {
		bad := bytes.Clone(whole)
		bad[off] ^= 1
		p := filepath.Join(dir, "flip.ckpt")
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCheckpoint(p); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("bit flipped at byte %d: %v, want a checksum mismatch", off, err)
		}
	}
	for _, junk := range [][]byte{{0}, []byte("junk after the end")} {
		p := filepath.Join(dir, "junk.ckpt")
		if err := os.WriteFile(p, append(bytes.Clone(whole), junk...), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCheckpoint(p); err == nil || !strings.Contains(err.Error(), "trailing bytes") {
			t.Errorf("%d bytes of trailing junk: %v, want an error", len(junk), err)
		}
	}
	// A version 1 file (the old layout, no checksum) is refused with a
	// request to re-create it.
	v1 := bytes.Clone(whole[:end])
	binary.LittleEndian.PutUint32(v1[len(checkpointMagic):], 1)
	p := filepath.Join(dir, "v1.ckpt")
	if err := os.WriteFile(p, v1, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCheckpoint(p); err == nil || !strings.Contains(err.Error(), "v1 has no checksum") {
		t.Errorf("a v1 checkpoint: %v, want the re-create error", err)
	}
	// The intact file still loads, bit for bit.
	got, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Trainable[1] != -2.25 || got.Optimizer[1][2] != 10 {
		t.Errorf("read back %v %v", got.Trainable, got.Optimizer)
	}
}

// TestStaleTemporaryFilesRemoved leaves the temporary files of killed
// writes beside a checkpoint: the next write removes those older than
// fileio.StaleAge, and keeps a fresh one (a concurrent writer's), one of
// another file, and one a live writer holds locked.
func TestStaleTemporaryFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ckpt")
	old := time.Now().Add(-2 * fileio.StaleAge)
	write := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale1 := write(".c.ckpt.tmp-123", old)
	stale2 := write(".c.ckpt.tmp-456", old)
	fresh := write(".c.ckpt.tmp-789", time.Now())
	other := write(".d.ckpt.tmp-123", old)
	notOurs := write("c.ckpt.tmp-123", old)
	// A live writer: its temporary file is old but locked.
	live, err := fileio.CreateTemp(filepath.Join(dir, "c.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := os.Chtimes(live.Name(), old, old); err != nil {
		t.Fatal(err)
	}

	if err := WriteCheckpoint(path, testCheckpoint()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale1, stale2} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: still there (%v), want removed", filepath.Base(p), err)
		}
	}
	for _, p := range []string{fresh, other, notOurs, live.Name(), path} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v, want kept", filepath.Base(p), err)
		}
	}
}

// TestConfigDiffNamesFields checks the --resume error's list of the
// fields in which a checkpoint's configuration differs, and only those.
func TestConfigDiffNamesFields(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	if d := ConfigDiff(a, b); len(d) != 0 {
		t.Errorf("equal configurations: %v", d)
	}
	b.LR, b.Epochs = 0.01, 30
	d := ConfigDiff(a, b)
	want := []string{"epochs 60 in the checkpoint, 30 here", "lr 0.001 in the checkpoint, 0.01 here"}
	if strings.Join(d, "; ") != strings.Join(want, "; ") {
		t.Errorf("got %q, want %q", d, want)
	}
}
