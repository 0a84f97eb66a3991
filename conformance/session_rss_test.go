package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/onnxkit/onnxkit"
)

// sessionRSSChildEnv, when set to "MODEL GOROUTINES MAXRUNS", makes the
// test binary a child that runs MODEL at batch 1 on one Session of
// benchThreads threads (MaxConcurrentRuns MAXRUNS, 0 for the default)
// from GOROUTINES goroutines at once, sessionRSSRuns runs each, and
// prints the peak resident memory of the runs (VmHWM, reset once the
// session is made and warm), then exits. BenchmarkSessionPeakRSS starts
// it.
const sessionRSSChildEnv = "ONNXKIT_SESSION_RSS_CHILD"

// sessionRSSRuns is how many runs each goroutine of the child makes.
const sessionRSSRuns = 6

func init() {
	if spec := os.Getenv(sessionRSSChildEnv); spec != "" {
		if err := sessionRSSChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// BenchmarkSessionPeakRSS runs the Keras AlexNet at batch 1 on one
// Session from 1 and from 8 goroutines, each in a child process, and
// reports the peak resident memory of the runs in MiB and the ratio of
// 8 goroutines to one (issue 14's target: under 1.5); with the default
// bound on the runs that compute at once, and with every run computing
// at once (MaxConcurrentRuns 8). The peak is reset after the session is
// made and has run once, so that it is the runs' (the weights included),
// not that of reading and decoding the file.
func BenchmarkSessionPeakRSS(b *testing.B) {
	path := alexnetFile(b)
	var one, eight, unbounded float64
	for range b.N {
		one += sessionPeakRSS(b, path, 1, 0)
		eight += sessionPeakRSS(b, path, 8, 0)
		unbounded += sessionPeakRSS(b, path, 8, 8)
	}
	n := float64(b.N)
	b.ReportMetric(one/n, "1-goroutine-MiB")
	b.ReportMetric(eight/n, "8-goroutines-MiB")
	b.ReportMetric(unbounded/n, "8-unbounded-MiB")
	b.ReportMetric(eight/one, "8/1")
	b.ReportMetric(unbounded/one, "8-unbounded/1")
}

// sessionPeakRSS runs the child of sessionRSSChildEnv and returns the
// peak it printed, in MiB.
func sessionPeakRSS(b *testing.B, path string, goroutines, maxRuns int) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", sessionRSSChildEnv, path, goroutines, maxRuns))
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("child of %d goroutines: %v\n%s", goroutines, err, out)
	}
	var kib float64
	if _, err := fmt.Sscanf(string(out), "VmHWM: %f kB", &kib); err != nil {
		b.Fatalf("child of %d goroutines printed %q: %v", goroutines, out, err)
	}
	return kib / 1024
}

// sessionRSSChild is the child's work; spec is "MODEL GOROUTINES
// MAXRUNS".
func sessionRSSChild(spec string) error {
	f := strings.Fields(spec)
	if len(f) != 3 {
		return fmt.Errorf("%s=%q: want MODEL GOROUTINES MAXRUNS", sessionRSSChildEnv, spec)
	}
	goroutines, err1 := strconv.Atoi(f[1])
	maxRuns, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%s=%q: want MODEL GOROUTINES MAXRUNS", sessionRSSChildEnv, spec)
	}
	s, err := onnxkit.Open(f[0], onnxkit.Options{Threads: benchThreads, MaxConcurrentRuns: maxRuns})
	if err != nil {
		return err
	}
	in := batchOneInputs(s)
	if _, err := s.Run(context.Background(), in); err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	// Writing 5 resets the process's VmHWM to its current resident
	// memory (Linux 4.0 and later).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range sessionRSSRuns {
				if _, err := s.Run(context.Background(), in); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return printPeakRSS()
}
