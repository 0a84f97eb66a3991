//go:build unix

package conformance

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// peakRSS returns the peak resident memory of the finished process ps, in
// bytes, and whether the system reported it.
func peakRSS(ps *os.ProcessState) (int64, bool) {
	usage, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	if runtime.GOOS == "darwin" {
		return int64(usage.Maxrss), true // bytes on macOS
	}
	return int64(usage.Maxrss) * 1024, true // KiB on Linux and the BSDs
}

// processCPU returns the CPU time, user and system, that this process's
// threads have used so far, and whether the system reported it.
func processCPU() (time.Duration, bool) {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0, false
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()), true
}
