// Package leveltest runs tests at every CPU level (package simd) the
// machine supports, so that one go test run proves the AVX-512, AVX2 and
// portable Go paths of a kernel alike on an AVX-512 machine:
//
//	func TestScaleAdd(t *testing.T) {
//		leveltest.Run(t, func(t *testing.T) {
//			// compare ScaleAdd with its float64 reference
//		})
//	}
//
// runs the body in the subtests TestScaleAdd/avx512, TestScaleAdd/avx2
// and TestScaleAdd/generic (those the CPU has), each with its level
// forced. The level is global: the body must not call t.Parallel.
package leveltest

import (
	"testing"

	"github.com/onnxkit/onnxkit/native/simd"
)

// Run calls f in one subtest per CPU level this machine supports,
// highest first, named by the level, with that level in force; the
// level in use before is restored after each. A bad ONNXKIT_CPU fails
// the test (simd.StartupError).
func Run(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	if err := simd.StartupError(); err != nil {
		t.Fatal(err)
	}
	for _, l := range simd.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore, err := simd.Force(l)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t)
		})
	}
}

// Bench is Run for benchmarks: one sub-benchmark per level.
func Bench(b *testing.B, f func(b *testing.B)) {
	b.Helper()
	if err := simd.StartupError(); err != nil {
		b.Fatal(err)
	}
	for _, l := range simd.Levels() {
		b.Run(l.String(), func(b *testing.B) {
			restore, err := simd.Force(l)
			if err != nil {
				b.Fatal(err)
			}
			defer restore()
			f(b)
		})
	}
}
