//go:build !unix

package conformance

import "os"

// peakRSS reports that the peak resident memory of a process is not read
// on this system.
func peakRSS(*os.ProcessState) (int64, bool) { return 0, false }
