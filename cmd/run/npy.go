package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/fileio"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// This file reads NumPy .npy files (format versions 1.0, 2.0 and 3.0):
//
//	"\x93NUMPY" major minor  header-length  header  data
//
// The header length is a little-endian uint16 in version 1 and a uint32 in
// versions 2 and 3; the header is a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and ended by a newline. The data follows in C order.

// npyMagic opens every .npy file.
const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header a reader accepts; NumPy itself refuses
// headers over 10000 bytes unless told otherwise.
const maxNPYHeader = 1 << 20

// maxNPYElements bounds the elements of an array, matching the largest
// tensor the native engine holds.
const maxNPYElements = 1 << 31

// npyDTypes maps NumPy's kind and size codes to element types.
var npyDTypes = map[string]graph.DType{
	"f2": graph.Float16, "f4": graph.Float32, "f8": graph.Float64,
	"i1": graph.Int8, "i2": graph.Int16, "i4": graph.Int32, "i8": graph.Int64,
	"u1": graph.Uint8, "u2": graph.Uint16, "u4": graph.Uint32, "u8": graph.Uint64,
	"b1": graph.Bool,
}

// readNPYFile reads the .npy file at path. Errors name the file.
func readNPYFile(path string) (*tensor.Tensor, error) {
	f, size, err := fileio.OpenRegular(path, inputFileLimit())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := readNPY(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// readNPY reads a .npy array of size bytes from r. It checks that the
// data the header announces is exactly what remains before allocating it.
func readNPY(r io.Reader, size int64) (*tensor.Tensor, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, npyErr("file too short for the .npy preamble: %w", unexpected(err))
	}
	if string(pre[:6]) != npyMagic {
		return nil, npyErr("not a .npy file (bad magic %q)", pre[:6])
	}
	major, minor := pre[6], pre[7]
	var headerLen, preamble int64
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, npyErr("truncated header length: %w", unexpected(err))
		}
		headerLen, preamble = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, npyErr("truncated header length: %w", unexpected(err))
		}
		headerLen, preamble = int64(binary.LittleEndian.Uint32(l[:])), 12
	default:
		return nil, npyErr("format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if headerLen > maxNPYHeader || preamble+headerLen > size {
		return nil, npyErr("header of %d bytes does not fit the %d-byte file", headerLen, size)
	}
	header := make([]byte, headerLen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, npyErr("truncated header: %w", unexpected(err))
	}
	h, err := parseNPYHeader(string(header))
	if err != nil {
		return nil, npyErr("header %q: %v", strings.TrimSpace(string(header)), err)
	}
	n, err := npyElements(h.shape)
	if err != nil {
		return nil, npyErr("%v", err)
	}
	want := n * int64(h.itemSize)
	if have := size - preamble - headerLen; have != want {
		return nil, npyErr("shape %v of %s needs %d data bytes, the file has %d", h.shape, h.descr, want, have)
	}
	raw := make([]byte, want)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, npyErr("truncated data: %w", unexpected(err))
	}
	t := tensor.New(h.dtype, h.shape...)
	if err := decodeNPYData(t, raw, h.order); err != nil {
		return nil, npyErr("%v", err)
	}
	return t, nil
}

func npyErr(format string, args ...any) error {
	return fmt.Errorf("npy: "+format, args...)
}

// unexpected turns an EOF in the middle of the file into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// npyHeader is the decoded header dict.
type npyHeader struct {
	descr    string
	dtype    graph.DType
	itemSize int
	order    binary.ByteOrder
	shape    []int
}

// parseNPYHeader decodes the dict literal and checks its three keys.
func parseNPYHeader(s string) (*npyHeader, error) {
	d, err := parsePyDict(s)
	if err != nil {
		return nil, err
	}
	for k := range d {
		if k != "descr" && k != "fortran_order" && k != "shape" {
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	descr, ok := d["descr"].(string)
	if !ok {
		return nil, errors.New(`"descr" is missing or not a string`)
	}
	fortran, ok := d["fortran_order"].(bool)
	if !ok {
		return nil, errors.New(`"fortran_order" is missing or not a boolean`)
	}
	if fortran {
		return nil, errors.New("fortran_order is True: only C-order arrays are read (save np.ascontiguousarray(a))")
	}
	shape, ok := d["shape"].([]int)
	if !ok {
		return nil, errors.New(`"shape" is missing or not a tuple of integers`)
	}
	h := &npyHeader{descr: descr, shape: shape}
	if len(descr) != 3 {
		return nil, fmt.Errorf("dtype %q is not supported (want f2 f4 f8 i1-i8 u1-u8 b1 with a byte order)", descr)
	}
	dt, ok := npyDTypes[descr[1:]]
	if !ok {
		return nil, fmt.Errorf("dtype %q is not supported (want f2 f4 f8 i1-i8 u1-u8 b1 with a byte order)", descr)
	}
	h.dtype, h.itemSize = dt, int(descr[2]-'0')
	switch descr[0] {
	case '<':
		h.order = binary.LittleEndian
	case '>':
		h.order = binary.BigEndian
	case '|':
		if h.itemSize != 1 {
			return nil, fmt.Errorf("dtype %q: byte order '|' is only for one-byte types", descr)
		}
		h.order = binary.LittleEndian
	default:
		return nil, fmt.Errorf("dtype %q: byte order %q is not '<', '>' or '|'", descr, descr[0])
	}
	return h, nil
}

// npyElements returns the product of shape, refusing more than
// maxNPYElements.
func npyElements(shape []int) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && n > maxNPYElements/int64(d) {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, int64(maxNPYElements))
		}
		n *= int64(d)
	}
	return n, nil
}

// decodeNPYData fills t from raw, which holds exactly its elements in
// byte order o.
func decodeNPYData(t *tensor.Tensor, raw []byte, o binary.ByteOrder) error {
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(o.Uint32(raw[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(o.Uint64(raw[8*i:]))
		}
	case []uint16: // uint16 and float16 bit patterns
		for i := range d {
			d[i] = o.Uint16(raw[2*i:])
		}
	case []int8:
		for i := range d {
			d[i] = int8(raw[i])
		}
	case []int16:
		for i := range d {
			d[i] = int16(o.Uint16(raw[2*i:]))
		}
	case []int32:
		for i := range d {
			d[i] = int32(o.Uint32(raw[4*i:]))
		}
	case []int64:
		for i := range d {
			d[i] = int64(o.Uint64(raw[8*i:]))
		}
	case []uint8:
		copy(d, raw)
	case []uint32:
		for i := range d {
			d[i] = o.Uint32(raw[4*i:])
		}
	case []uint64:
		for i := range d {
			d[i] = o.Uint64(raw[8*i:])
		}
	case []bool:
		for i := range d {
			switch raw[i] {
			case 0:
			case 1:
				d[i] = true
			default:
				return fmt.Errorf("bool element %d is %d, not 0 or 1", i, raw[i])
			}
		}
	default:
		panic(fmt.Sprintf("decodeNPYData: no decoding for %v", t.DType))
	}
	return nil
}

// parsePyDict parses the subset of Python literals that .npy headers
// use: a dict with string keys whose values are strings, True, False or
// tuples of non-negative integers. Values come back as string, bool and
// []int.
func parsePyDict(s string) (map[string]any, error) {
	p := &pyParser{s: s}
	if !p.eat('{') {
		return nil, errors.New("not a dict literal")
	}
	d := map[string]any{}
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if !p.eat(':') {
			return nil, fmt.Errorf("no ':' after key %q", key)
		}
		v, err := p.value()
		if err != nil {
			return nil, fmt.Errorf("key %q: %v", key, err)
		}
		if _, dup := d[key]; dup {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		d[key] = v
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return nil, fmt.Errorf("no ',' or '}' after key %q", key)
		}
	}
	if rest := strings.TrimSpace(p.s[p.i:]); rest != "" {
		return nil, fmt.Errorf("text %q after the dict", rest)
	}
	return d, nil
}

// pyParser walks a Python literal.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) skipSpace() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// eat consumes c, after spaces, if it comes next.
func (p *pyParser) eat(c byte) bool {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a quoted string without escapes.
func (p *pyParser) str() (string, error) {
	p.skipSpace()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("expected a string at offset %d", p.i)
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", fmt.Errorf("escapes in string %q are not supported", v)
	}
	p.i += end + 2
	return v, nil
}

func (p *pyParser) value() (any, error) {
	p.skipSpace()
	rest := p.s[p.i:]
	switch {
	case strings.HasPrefix(rest, "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(rest, "False"):
		p.i += 5
		return false, nil
	case strings.HasPrefix(rest, "("):
		return p.tuple()
	}
	return p.str()
}

// tuple reads "()", "(3,)" or "(2, 3)".
func (p *pyParser) tuple() ([]int, error) {
	p.eat('(')
	out := []int{}
	for {
		if p.eat(')') {
			return out, nil
		}
		p.skipSpace()
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if start == p.i {
			return nil, fmt.Errorf("expected a non-negative integer at offset %d", start)
		}
		v, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		if err != nil || v > maxNPYElements {
			return nil, fmt.Errorf("dimension %s is too large", p.s[start:p.i])
		}
		out = append(out, int(v))
		if p.eat(')') {
			return out, nil
		}
		if !p.eat(',') {
			return nil, fmt.Errorf("no ',' or ')' in the tuple at offset %d", p.i)
		}
	}
}
