package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// maxFuzzSeed is the size of the largest suite model used as a seed.
const maxFuzzSeed = 16 << 10

// fuzzSeeds adds the models of testdata/malformed and, when the backend
// suite is installed, every 25th suite model of at most maxFuzzSeed bytes.
func fuzzSeeds(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(malformedDir, "*", "model.onnx"))
	if err != nil {
		f.Fatal(err)
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds in testdata/malformed")
	}
	suite := os.Getenv("ONNX_TESTDATA")
	if suite == "" {
		suite = testenv.DefaultSuiteDir
	}
	for _, s := range suites {
		found, _ := filepath.Glob(filepath.Join(suite, s, "*", "model.onnx"))
		for i := 0; i < len(found); i += 25 {
			// Large models would only slow the fuzzer down.
			if st, err := os.Stat(found[i]); err == nil && st.Size() <= maxFuzzSeed {
				seeds = append(seeds, found[i])
			}
		}
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// decodeError checks that a failure to decode is one of the package's two
// error types.
func decodeError(t *testing.T, err error) {
	var fe *FormatError
	var ue *UnsupportedError
	if !errors.As(err, &fe) && !errors.As(err, &ue) {
		t.Fatalf("error of type %T: %v", err, err)
	}
}

// FuzzUnmarshal checks that any input either gives a FormatError or an
// UnsupportedError, or decodes to a model that Marshal writes and that
// reads back and writes again to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			decodeError(t, err)
			return
		}
		first, err := Marshal(m)
		if err != nil {
			t.Fatalf("Marshal of a decoded model: %v", err)
		}
		m2, err := Unmarshal(first)
		if err != nil {
			t.Fatalf("Unmarshal of Marshal's output: %v", err)
		}
		second, err := Marshal(m2)
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("Marshal is not stable: %d bytes, then %d", len(first), len(second))
		}
	})
}

// FuzzIRRoundTrip checks that whatever decodes loses nothing on the way
// through the IR: the rewritten ModelProto equals the input's once both
// are normalized as in TestSuiteRoundTrip.
func FuzzIRRoundTrip(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			decodeError(t, err)
			return
		}
		out, err := Marshal(m)
		if err != nil {
			t.Fatalf("Marshal of a decoded model: %v", err)
		}
		var want, got onnxpb.ModelProto
		if err := proto.Unmarshal(data, &want); err != nil {
			t.Fatalf("Unmarshal accepted what proto.Unmarshal refuses: %v", err)
		}
		if err := proto.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		normalize(t, want.ProtoReflect())
		normalize(t, got.ProtoReflect())
		if !proto.Equal(&want, &got) {
			t.Fatalf("the rewritten model differs: %s", firstDifference(want.ProtoReflect(), got.ProtoReflect(), "model"))
		}
	})
}
