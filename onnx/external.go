package onnx

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// The keys of a TensorProto's external_data entries.
const (
	keyLocation = "location"
	keyOffset   = "offset"
	keyLength   = "length"
	keyChecksum = "checksum"
)

// externalAlign is the alignment of each tensor's offset in an external
// data file that this package writes, so that it can be memory-mapped.
const externalAlign = 4096

// externalRef says where a tensor's bytes lie in an external data file.
type externalRef struct {
	location       string
	offset, length int64
}

// parseExternal reads and checks the external_data entries of p.
func parseExternal(p *onnxpb.TensorProto) (ref externalRef, checksum string, hasLength bool, err error) {
	seen := map[string]bool{}
	for _, e := range p.GetExternalData() {
		k, v := e.GetKey(), e.GetValue()
		if seen[k] {
			return ref, "", false, formatErr("external data key %q appears twice", k)
		}
		seen[k] = true
		switch k {
		case keyLocation:
			ref.location = v
		case keyOffset, keyLength:
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return ref, "", false, formatErr("external data %s %q is not a non-negative integer", k, v)
			}
			if k == keyOffset {
				ref.offset = x
			} else {
				ref.length, hasLength = x, true
			}
		case keyChecksum:
			checksum = v
		default:
			return ref, "", false, &UnsupportedError{Msg: fmt.Sprintf("external data key %q", k)}
		}
	}
	if ref.location == "" {
		return ref, "", false, formatErr("external data has no location")
	}
	return ref, checksum, hasLength, nil
}

// checkLocation reports an error unless loc is a relative path with no
// ".." element, as a location of external data must be.
func checkLocation(loc string) error {
	if filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || filepath.VolumeName(loc) != "" {
		return formatErr("external data location %q is an absolute path", loc)
	}
	for _, elem := range strings.FieldsFunc(loc, func(r rune) bool { return r == '/' || r == '\\' }) {
		if elem == ".." {
			return formatErr("external data location %q leaves the model's folder", loc)
		}
	}
	return nil
}

// external reads the n elements of type dt, size bytes, of a tensor stored
// in an external file and returns them as the tensor's Data. The location
// is checked and resolved through symbolic links, and offset and length
// checked against the file's size, before the file is opened or anything
// allocated. The bytes are read straight into the tensor's slice where
// its memory layout is the file's (see rawView): a tensor costs its size
// once, not twice.
func (d *decoder) external(p *onnxpb.TensorProto, dt graph.DType, n, size int64) (any, error) {
	ref, checksum, hasLength, err := parseExternal(p)
	if err != nil {
		return nil, err
	}
	if d.dir == "" {
		return nil, &UnsupportedError{Msg: fmt.Sprintf("tensor data in external file %q needs the model's folder; read the model with ReadFile", ref.location)}
	}
	if strings.ContainsRune(ref.location, 0) {
		return nil, formatErr("external data location %q contains a NUL byte", ref.location)
	}
	if err := checkLocation(ref.location); err != nil {
		return nil, err
	}
	dir, err := filepath.EvalSymlinks(d.dir)
	if err != nil {
		return nil, &FormatError{Msg: "cannot resolve the model's folder", Err: err}
	}
	path, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(ref.location)))
	if err != nil {
		return nil, &FormatError{Msg: fmt.Sprintf("external data file %q", ref.location), Err: err}
	}
	if rel, err := filepath.Rel(dir, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, formatErr("external data location %q resolves outside the model's folder", ref.location)
	}
	// Everything that can be checked is checked before the file is opened.
	st, err := os.Stat(path)
	if err != nil {
		return nil, &FormatError{Msg: fmt.Sprintf("external data file %q", ref.location), Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, formatErr("external data file %q is not a regular file", ref.location)
	}
	if ref.offset > st.Size() {
		return nil, formatErr("external data offset %d is past the end of %q (%d bytes)", ref.offset, ref.location, st.Size())
	}
	if !hasLength {
		ref.length = st.Size() - ref.offset
	}
	if ref.length > st.Size()-ref.offset {
		return nil, formatErr("external data at offset %d, length %d runs past the end of %q (%d bytes)", ref.offset, ref.length, ref.location, st.Size())
	}
	if ref.length != size {
		return nil, formatErr("external data length is %d bytes, but the tensor needs %d", ref.length, size)
	}
	f, err := d.open(path)
	if err != nil {
		return nil, &FormatError{Msg: fmt.Sprintf("external data file %q", ref.location), Err: err}
	}
	defer f.Close()
	data, buf := rawView(dt, n)
	if data == nil {
		buf = make([]byte, ref.length)
	}
	// A file that shrank since the check gives io.EOF here.
	if _, err := f.ReadAt(buf, ref.offset); err != nil && !(err == io.EOF && ref.length == 0) {
		return nil, &FormatError{Msg: fmt.Sprintf("reading external data file %q", ref.location), Err: err}
	}
	if checksum != "" {
		sum := sha1.Sum(buf)
		if !strings.EqualFold(checksum, hex.EncodeToString(sum[:])) {
			return nil, formatErr("external data in %q does not match its SHA-1 checksum", ref.location)
		}
	}
	if data == nil {
		data = fromRaw(dt, n, buf)
	}
	return data, nil
}

// placed is a tensor with its place in the external data file.
type placed struct {
	t   *graph.Tensor
	ref externalRef
}

// planExternal encodes m with the initializers that WriteOptions, or the
// size limit, move to the external data file, and returns those in file
// order.
func planExternal(m *graph.Model, o WriteOptions, limit int64) (*onnxpb.ModelProto, []placed, error) {
	type candidate struct {
		t    *graph.Tensor
		size int64
	}
	var chosen, rest []candidate
	seen := map[*graph.Tensor]bool{}
	if m.Graph != nil {
		for _, t := range m.Graph.Initializers {
			if t == nil || seen[t] || t.DType == graph.String {
				continue
			}
			seen[t] = true
			n, err := numElements(t.Dims)
			if err != nil {
				continue // encodeModel reports it
			}
			size, ok := byteSize(t.DType, n)
			if !ok {
				continue
			}
			c := candidate{t, size}
			if o.ExternalDataThreshold > 0 && size >= o.ExternalDataThreshold {
				chosen = append(chosen, c)
			} else {
				rest = append(rest, c)
			}
		}
	}
	// The largest inline initializers move out first if the model is too big.
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].size > rest[j].size })
	for {
		var moved []placed
		refs := map[*graph.Tensor]externalRef{}
		var end int64
		for _, c := range chosen {
			off := (end + externalAlign - 1) / externalAlign * externalAlign
			ref := externalRef{location: filepath.ToSlash(o.ExternalDataFile), offset: off, length: c.size}
			refs[c.t] = ref
			moved = append(moved, placed{c.t, ref})
			end = off + c.size
		}
		p, err := encodeModel(m, refs)
		if err != nil {
			return nil, nil, err
		}
		size := int64(proto.Size(p))
		if size <= limit {
			return p, moved, nil
		}
		if len(rest) == 0 {
			return nil, nil, &UnsupportedError{Msg: fmt.Sprintf("model is %d bytes with all its initializers in external data, past the limit of %d bytes", size, limit)}
		}
		// Move enough of the largest to bring the estimate under the limit,
		// then encode again to check.
		for len(rest) > 0 && size > limit {
			size -= rest[0].size
			chosen = append(chosen, rest[0])
			rest = rest[1:]
		}
	}
}

// writeExternal writes the data of the moved tensors at their offsets,
// padding the gaps with zeros, and flushes the file.
func writeExternal(f *atomicFile, moved []placed) error {
	w := bufio.NewWriter(f)
	var pos int64
	for _, pl := range moved {
		raw, err := tensorBytes(pl.t)
		if err != nil {
			return err
		}
		if _, err := w.Write(make([]byte, pl.ref.offset-pos)); err != nil {
			return err
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
		pos = pl.ref.offset + int64(len(raw))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.flush()
}
