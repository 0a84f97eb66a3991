//go:build !unix

package conformance

import (
	"os"
	"time"
)

// peakRSS reports that the peak resident memory of a process is not read
// on this system.
func peakRSS(*os.ProcessState) (int64, bool) { return 0, false }

// processCPU reports that the process's CPU time is not read on this
// system.
func processCPU() (time.Duration, bool) { return 0, false }
