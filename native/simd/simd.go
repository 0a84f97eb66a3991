// Package simd chooses the instruction-set level the native engine's
// kernels run at: the vector instructions that linalg, vec and kernels
// may use. The levels are ordered, each a superset of the one below:
//
//	Generic  portable Go only (every architecture)
//	AVX2     amd64 with AVX2 and FMA
//	AVX512   amd64 with AVX-512F (and AVX2 and FMA)
//
// By default the level is the highest this CPU supports. The environment
// variable ONNXKIT_CPU=avx512|avx2|generic, read once at start-up, sets
// a lower one (to compare paths, or to rule one out); a level above what
// the CPU has is not honoured, and StartupError reports it, naming the
// missing CPU feature, for commands to refuse to run. Tests call Force
// to run their kernels at each level in turn (see the package
// native/internal/leveltest).
//
// A loop with an assembly version asks the level at the moment of the
// call, so that a forced level takes effect at once:
//
//	if simd.Has(simd.AVX2) {
//		scaleAddAVX2(len(dst), &dst[0], &src[0], a, b)
//		return
//	}
//	// the portable Go loop
//
// Has is one atomic load; there is nothing to cache.
package simd

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// Level is an instruction-set level; a higher level may use every
// instruction of a lower one.
type Level int

// The levels, lowest first.
const (
	Generic Level = iota // portable Go, no assembly
	AVX2                 // amd64 AVX2 and FMA
	AVX512               // amd64 AVX-512F, with AVX2 and FMA
)

// EnvVar is the environment variable that sets the level at start-up.
const EnvVar = "ONNXKIT_CPU"

var levelNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the level's name as ONNXKIT_CPU spells it.
func (l Level) String() string {
	if l < Generic || l > AVX512 {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel returns the level named s ("avx512", "avx2" or "generic",
// in any case).
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(s, name) {
			return Level(l), nil
		}
	}
	return Generic, fmt.Errorf("simd: unknown CPU level %q (want avx512, avx2 or generic)", s)
}

// features lists what a CPU has of what the levels need.
type features struct {
	avx2, fma, avx512f bool
}

// missing returns the first CPU feature level l needs that f lacks, or
// "" when f has them all.
func (f features) missing(l Level) string {
	switch {
	case l >= AVX2 && !f.avx2:
		return "avx2"
	case l >= AVX2 && !f.fma:
		return "fma"
	case l >= AVX512 && !f.avx512f:
		return "avx512f"
	}
	return ""
}

// highest returns the highest level f supports.
func (f features) highest() Level {
	l := AVX512
	for f.missing(l) != "" {
		l--
	}
	return l
}

var (
	cpuFeatures = detect()
	supported   = cpuFeatures.highest()
	// current holds the Level in use.
	current      atomic.Int32
	startupError error
)

func init() {
	l, err := fromEnv(os.Getenv(EnvVar), cpuFeatures)
	current.Store(int32(l))
	startupError = err
}

// fromEnv returns the level the value of ONNXKIT_CPU asks for on a CPU
// with features f: the highest f supports when value is empty, and that
// same level with an error when value names an unknown level or one the
// CPU cannot run.
func fromEnv(value string, f features) (Level, error) {
	if value == "" {
		return f.highest(), nil
	}
	l, err := ParseLevel(value)
	if err != nil {
		return f.highest(), fmt.Errorf("%s=%s: %w", EnvVar, value, err)
	}
	if feature := f.missing(l); feature != "" {
		return f.highest(), fmt.Errorf("%s=%s: this CPU lacks %s (it supports %s at most)", EnvVar, value, feature, f.highest())
	}
	return l, nil
}

// StartupError returns the error in ONNXKIT_CPU, or nil: an unknown
// level, or one that needs a feature this CPU lacks (the error names
// it). The level in use is then Supported(); commands should report the
// error and stop rather than run at a level the user did not ask for.
func StartupError() error { return startupError }

// Supported returns the highest level this CPU supports.
func Supported() Level { return supported }

// Levels returns the levels this CPU supports, highest first; the last
// is Generic.
func Levels() []Level {
	var ls []Level
	for l := supported; l >= Generic; l-- {
		ls = append(ls, l)
	}
	return ls
}

// Current returns the level in use.
func Current() Level { return Level(current.Load()) }

// Has reports whether the kernels may use the instructions of level l
// now: Current() >= l.
func Has(l Level) bool { return Level(current.Load()) >= l }

// Check returns an error naming the missing CPU feature when this CPU
// cannot run level l, nil when it can.
func Check(l Level) error {
	if l < Generic || l > AVX512 {
		return fmt.Errorf("simd: unknown CPU level %d", int(l))
	}
	if feature := cpuFeatures.missing(l); feature != "" {
		return fmt.Errorf("simd: CPU level %s needs %s, which this CPU lacks", l, feature)
	}
	return nil
}

// Force makes l the level in use and returns a function that restores
// the previous one, or an error (and no change) when this CPU cannot run
// l. It is meant for tests and benchmarks, which run a kernel at every
// level in turn: kernels that run while the level changes may use
// either level, so no kernel may be running concurrently with it.
func Force(l Level) (restore func(), err error) {
	if err := Check(l); err != nil {
		return nil, err
	}
	prev := current.Swap(int32(l))
	return func() { current.Store(prev) }, nil
}
