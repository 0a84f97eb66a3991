package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/onnxkit/onnxkit/internal/fileio"
	"github.com/onnxkit/onnxkit/native/optim"
)

// checkpointMagic opens every checkpoint file; checkpointVersion is
// bumped whenever the layout changes. Version 2 added the checksum;
// version 1 files, which have none, are refused with a request to
// re-create them, so that every checkpoint loaded has been verified.
const (
	checkpointMagic   = "ONNXKIT-CKPT\n"
	checkpointVersion = 2
)

// checkpointCRC is the checksum's polynomial: CRC-32C (Castagnoli), which
// has hardware support on amd64 and arm64.
var checkpointCRC = crc32.MakeTable(crc32.Castagnoli)

// Checkpoint is everything needed to continue a run where it stopped:
// the configuration, the epochs done with their metrics, the parameters
// and running statistics, and the optimizer's and schedule's state.
//
// On disk: the magic line, a little-endian uint32 version, a uint32
// length and that many bytes of JSON (the header: everything but the
// buffers), then a uint64 count of optimizer buffers and the float32
// buffers Trainable, State and the optimizer's, each as a uint64 count
// and the values, and last the little-endian uint32 CRC-32C of every byte
// before it. ReadCheckpoint verifies the checksum and refuses bytes after
// it.
type Checkpoint struct {
	Config Config `json:"config"`
	// Epochs is the number of epochs completed.
	Epochs  int            `json:"epochs"`
	Step    int            `json:"step"`
	History []EpochMetrics `json:"history"`
	Classes []string       `json:"classes"`
	// TrainableNames and StateNames give the buffers' layout, to check
	// that a checkpoint fits the model it is loaded into.
	TrainableNames []string            `json:"trainable_names"`
	StateNames     []string            `json:"state_names"`
	OptimizerKind  string              `json:"optimizer_kind"`
	OptimizerStep  int64               `json:"optimizer_step"`
	Plateau        *optim.PlateauState `json:"plateau,omitempty"`
	// Test is the held-out evaluation, present once the run has finished.
	Test *Evaluation `json:"test,omitempty"`

	Trainable []float32   `json:"-"`
	State     []float32   `json:"-"`
	Optimizer [][]float32 `json:"-"`
}

// WriteCheckpoint writes c to path atomically: into a temporary file in
// the same folder, synced, then renamed over path, so that a process
// killed at any moment leaves either the old checkpoint or the new one.
//
// Temporary files that killed writes left beside path (".NAME.tmp-*",
// older than a minute and not locked by a live writer) are removed first.
func WriteCheckpoint(path string, c *Checkpoint) (err error) {
	dir := filepath.Dir(path)
	f, err := fileio.CreateTemp(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := encodeCheckpoint(w, c); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// encodeCheckpoint writes c in the layout Checkpoint describes.
func encodeCheckpoint(out io.Writer, c *Checkpoint) error {
	header, err := json.Marshal(c)
	if err != nil {
		return err
	}
	crc := crc32.New(checkpointCRC)
	w := io.MultiWriter(out, crc)
	if _, err := io.WriteString(w, checkpointMagic); err != nil {
		return err
	}
	if err := binary.Write(w, binary.LittleEndian, [2]uint32{checkpointVersion, uint32(len(header))}); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	buffers := append([][]float32{c.Trainable, c.State}, c.Optimizer...)
	if err := binary.Write(w, binary.LittleEndian, uint64(len(c.Optimizer))); err != nil {
		return err
	}
	for _, b := range buffers {
		if err := binary.Write(w, binary.LittleEndian, uint64(len(b))); err != nil {
			return err
		}
		if err := binary.Write(w, binary.LittleEndian, b); err != nil {
			return err
		}
	}
	return binary.Write(out, binary.LittleEndian, crc.Sum32())
}

// maxCheckpointFloats bounds a buffer's claimed length (1 << 32 floats,
// 16 GiB), so a corrupt count cannot trigger a huge allocation before the
// read fails.
const maxCheckpointFloats = 1 << 32

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint, verifying
// its checksum. Only a regular file is read.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, size, err := fileio.OpenRegular(path, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := decodeCheckpoint(bufio.NewReaderSize(f, 1<<20), size)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return c, nil
}

// decodeCheckpoint reads a checkpoint of size bytes from in.
func decodeCheckpoint(in io.Reader, size int64) (*Checkpoint, error) {
	crc := crc32.New(checkpointCRC)
	r := io.TeeReader(in, crc)
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != checkpointMagic {
		return nil, errors.New("not an onnxkit checkpoint")
	}
	var head [2]uint32
	if err := binary.Read(r, binary.LittleEndian, &head); err != nil {
		return nil, unexpected(err)
	}
	if head[0] == 1 {
		return nil, errors.New("checkpoint format v1 has no checksum, and this build loads only verified checkpoints (v2); re-create it")
	}
	if head[0] != checkpointVersion {
		return nil, fmt.Errorf("version %d; this build reads version %d", head[0], checkpointVersion)
	}
	if int64(head[1]) > size {
		return nil, fmt.Errorf("header of %d bytes in a file of %d", head[1], size)
	}
	header := make([]byte, head[1])
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, unexpected(err)
	}
	c := &Checkpoint{}
	if err := json.Unmarshal(header, c); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	var nopt uint64
	if err := binary.Read(r, binary.LittleEndian, &nopt); err != nil {
		return nil, unexpected(err)
	}
	if nopt > 8 {
		return nil, fmt.Errorf("%d optimizer buffers", nopt)
	}
	buffers := make([][]float32, 2+nopt)
	for i := range buffers {
		var n uint64
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, unexpected(err)
		}
		if n > maxCheckpointFloats || int64(n)*4 > size {
			return nil, fmt.Errorf("buffer %d claims %d values in a file of %d bytes", i, n, size)
		}
		buffers[i] = make([]float32, n)
		if err := binary.Read(r, binary.LittleEndian, buffers[i]); err != nil {
			return nil, unexpected(err)
		}
	}
	sum := crc.Sum32()
	var stored uint32
	if err := binary.Read(in, binary.LittleEndian, &stored); err != nil {
		return nil, fmt.Errorf("checksum: %w", unexpected(err))
	}
	if stored != sum {
		return nil, fmt.Errorf("checksum mismatch (stored %08x, contents %08x): the file is corrupt", stored, sum)
	}
	if n, _ := in.Read(make([]byte, 1)); n > 0 {
		return nil, errors.New("trailing bytes after the checksum: the file is corrupt")
	}
	c.Trainable, c.State, c.Optimizer = buffers[0], buffers[1], buffers[2:]
	for _, b := range [][]float32{c.Trainable, c.State} {
		for _, v := range b {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, errors.New("holds non-finite parameters")
			}
		}
	}
	return c, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
