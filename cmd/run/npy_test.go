package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// npyV1 assembles a version 1.0 file: magic, version, little-endian
// uint16 header length, header, data. The header is used as given.
func npyV1(header string, data ...byte) []byte {
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// npyV2 is npyV1 for versions 2.0 and 3.0, whose header length is a
// uint32.
func npyV2(major byte, header string, data ...byte) []byte {
	b := []byte{0x93, 'N', 'U', 'M', 'P', 'Y', major, 0}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestReadNPY(t *testing.T) {
	tests := []struct {
		name  string
		file  []byte
		dtype graph.DType
		shape []int
		want  any
	}{
		{
			// 1.0f is 0x3f800000, -2.5f is 0xc0200000, 0.5f 0x3f000000
			// (sign, exponent 127+e, mantissa), stored low byte first.
			name: "v1 little-endian float32 2x2",
			file: npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }          \n",
				0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,
				0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x00),
			dtype: graph.Float32, shape: []int{2, 2}, want: []float32{1, -2.5, 0.5, 0},
		},
		{
			// Big endian: 0x0102 = 258, 0xfffe = -2 in two's complement.
			name: "v1 big-endian int16",
			file: npyV1("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }\n",
				0x01, 0x02, 0xff, 0xfe),
			dtype: graph.Int16, shape: []int{2}, want: []int16{258, -2},
		},
		{
			// 1.0 as float64 is 0x3ff0000000000000, here big-endian.
			name: "v1 big-endian float64 scalar",
			file: npyV1("{'descr': '>f8', 'fortran_order': False, 'shape': (), }\n",
				0x3f, 0xf0, 0, 0, 0, 0, 0, 0),
			dtype: graph.Float64, shape: []int{}, want: []float64{1},
		},
		{
			name: "v2 header, uint8 1x3",
			file: npyV2(2, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3), }\n",
				7, 200, 0),
			dtype: graph.Uint8, shape: []int{1, 3}, want: []uint8{7, 200, 0},
		},
		{
			// float16 1.0 is 0x3c00, -2.0 is 0xc000; kept as bit patterns.
			name: "v3 header, float16",
			file: npyV2(3, "{\"descr\": \"<f2\", \"fortran_order\": False, \"shape\": (2,)}\n",
				0x00, 0x3c, 0x00, 0xc0),
			dtype: graph.Float16, shape: []int{2}, want: []uint16{0x3c00, 0xc000},
		},
		{
			name: "bool",
			file: npyV1("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n",
				1, 0, 1),
			dtype: graph.Bool, shape: []int{3}, want: []bool{true, false, true},
		},
		{
			// int64 -1 is all ones; 0x0100000000000000 big-endian is 2^56.
			name: "big-endian int64 and uint32 sizes",
			file: npyV1("{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }\n",
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0x01, 0, 0, 0, 0, 0, 0, 0),
			dtype: graph.Int64, shape: []int{2}, want: []int64{-1, 1 << 56},
		},
		{
			name:  "empty array",
			file:  npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }\n"),
			dtype: graph.Float32, shape: []int{0, 5}, want: []float32{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readNPY(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != tc.dtype || !slices.Equal(got.Shape, tc.shape) {
				t.Fatalf("got %v, want %v%v", got, tc.dtype, tc.shape)
			}
			if !reflect.DeepEqual(got.Data, tc.want) {
				t.Errorf("data %v, want %v", got.Data, tc.want)
			}
		})
	}
}

func TestReadNPYMalformed(t *testing.T) {
	good := npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "unexpected EOF"},
		{"truncated preamble", good[:7], "unexpected EOF"},
		{"truncated header", good[:30], "does not fit"},
		{"truncated data", good[:len(good)-3], "needs 8 data bytes, the file has 5"},
		{"trailing bytes", append(append([]byte(nil), good...), 0), "needs 8 data bytes, the file has 9"},
		{"bad magic", append([]byte("\x93NUMPZ"), good[6:]...), "bad magic"},
		{"version 4", npyV2(4, "{}\n"), "version 4.0"},
		{"fortran order", npyV1("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", make([]byte, 16)...), "fortran_order is True"},
		{"complex dtype", npyV1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", make([]byte, 8)...), `dtype "<c8" is not supported`},
		{"object dtype", npyV1("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", make([]byte, 8)...), `dtype "|O" is not supported`},
		{"no byte order", npyV1("{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }\n", make([]byte, 4)...), "only for one-byte types"},
		{"missing shape", npyV1("{'descr': '<f4', 'fortran_order': False}\n"), `"shape" is missing`},
		{"unknown key", npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}\n"), "key \"x\""},
		{"duplicate key", npyV1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}\n"), "given twice"},
		{"not a dict", npyV1("['descr']\n"), "not a dict"},
		{"bad tuple", npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2; 3)}\n"), "no ',' or ')'"},
		{"negative dimension", npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}\n"), "non-negative integer"},
		// 2^31 * 2^31 elements would need an exabyte: refused before any
		// allocation.
		{"huge shape", npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648)}\n"), "more than 2147483648 elements"},
		{"claims more than the file", npyV1("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,)}\n", 1, 2, 3), "needs 8000000 data bytes, the file has 3"},
		{"bool not 0 or 1", npyV1("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}\n", 1, 2), "bool element 1 is 2"},
		{"header length beyond file", []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f{"), "does not fit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readNPY(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestReadNPYFileNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.npy")
	if err := os.WriteFile(path, npyV1("{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}\n", 0, 0, 0, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readNPYFile(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v does not name %s", err, path)
	}
}

// TestReadNPYShortRead checks that an EOF inside the data, with a size
// that claims more, is an unexpected EOF.
func TestReadNPYShortRead(t *testing.T) {
	file := npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", 0, 0, 0, 0)
	_, err := readNPY(bytes.NewReader(file), int64(len(file)+4))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzReadNPY checks that no input makes the reader panic, and that what
// it accepts has as many elements as its shape says.
func FuzzReadNPY(f *testing.F) {
	f.Add(npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40))
	f.Add(npyV2(2, "{'descr': '>i2', 'fortran_order': False, 'shape': (1, 1), }\n", 1, 2))
	f.Add(npyV1("{'descr': '|b1', 'fortran_order': False, 'shape': (), }\n", 1))
	f.Fuzz(func(t *testing.T, file []byte) {
		got, err := readNPY(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		if n := reflect.ValueOf(got.Data).Len(); n != got.Len() {
			t.Fatalf("%d elements for shape %v", n, got.Shape)
		}
	})
}
