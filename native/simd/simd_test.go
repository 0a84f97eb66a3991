package simd

import (
	"strings"
	"testing"
)

// TestFromEnv checks the start-up level for each value of ONNXKIT_CPU on
// CPUs with each set of features: the level asked for when the CPU has
// it, otherwise the highest it has and an error naming the missing
// feature or the unknown level.
func TestFromEnv(t *testing.T) {
	none, avx2 := features{}, features{avx2: true, fma: true}
	avx2NoFMA := features{avx2: true}
	all := features{avx2: true, fma: true, avx512f: true}
	for _, tc := range []struct {
		value   string
		f       features
		want    Level
		wantErr string // a substring of the error, "" for none
	}{
		{"", all, AVX512, ""},
		{"", avx2, AVX2, ""},
		{"", avx2NoFMA, Generic, ""},
		{"", none, Generic, ""},
		{"avx512", all, AVX512, ""},
		{"AVX2", all, AVX2, ""},
		{"generic", all, Generic, ""},
		{"generic", none, Generic, ""},
		{"avx512", avx2, AVX2, "lacks avx512f"},
		{"avx2", none, Generic, "lacks avx2"},
		{"avx2", avx2NoFMA, Generic, "lacks fma"},
		{"avx512", none, Generic, "lacks avx2"},
		{"sse4", all, AVX512, `unknown CPU level "sse4"`},
	} {
		got, err := fromEnv(tc.value, tc.f)
		if got != tc.want {
			t.Errorf("%s=%q with %+v: level %s, want %s", EnvVar, tc.value, tc.f, got, tc.want)
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s=%q with %+v: %v, want no error", EnvVar, tc.value, tc.f, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s=%q with %+v: error %v, want one containing %q", EnvVar, tc.value, tc.f, err, tc.wantErr)
		}
	}
}

// TestParseLevelRoundTrip checks that every level parses back from its
// name.
func TestParseLevelRoundTrip(t *testing.T) {
	for _, l := range []Level{Generic, AVX2, AVX512} {
		got, err := ParseLevel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %s, %v", l.String(), got, err)
		}
	}
}

// TestForce forces every level this CPU has and checks Current and Has,
// then the restore; a level above Supported must be refused unchanged.
func TestForce(t *testing.T) {
	start := Current()
	levels := Levels()
	if levels[0] != Supported() || levels[len(levels)-1] != Generic {
		t.Fatalf("Levels() = %v, want %s down to generic", levels, Supported())
	}
	for _, l := range levels {
		restore, err := Force(l)
		if err != nil {
			t.Fatalf("Force(%s): %v", l, err)
		}
		if Current() != l || !Has(l) || Has(l+1) {
			t.Errorf("after Force(%s): Current() = %s, Has(%s) = %v, Has(%s) = %v", l, Current(), l, Has(l), l+1, Has(l+1))
		}
		restore()
		if Current() != start {
			t.Fatalf("after restoring from %s: Current() = %s, want %s", l, Current(), start)
		}
	}
	if Supported() < AVX512 {
		if _, err := Force(Supported() + 1); err == nil || !strings.Contains(err.Error(), "lacks") {
			t.Errorf("Force(%s) on a CPU that supports %s: %v, want an error naming the feature", Supported()+1, Supported(), err)
		}
		if Current() != start {
			t.Errorf("a refused Force changed the level to %s", Current())
		}
	}
}
