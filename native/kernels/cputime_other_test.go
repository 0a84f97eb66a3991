//go:build !unix

package kernels

import "time"

// processCPUTime returns 0 where getrusage is not there: benchmarks
// then report no CPU time.
func processCPUTime() time.Duration { return 0 }
