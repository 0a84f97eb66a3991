package simd

import "golang.org/x/sys/cpu"

// detect reads the CPU's features. x/sys/cpu reports AVX2 and AVX-512F
// only when the operating system saves the YMM and ZMM registers.
func detect() features {
	return features{avx2: cpu.X86.HasAVX2, fma: cpu.X86.HasFMA, avx512f: cpu.X86.HasAVX512F}
}
