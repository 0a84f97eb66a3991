// Command testsummary reads the output of `go test -json` on its standard
// input, prints what `go test` prints without -v (each package's result
// line, and the output of the tests that fail), and ends with a summary:
// every failed test, and every skipped test with its reason.
// It exits with status 1 if a test or package failed, or if the input
// is not go test's JSON.
//
//	go test -json ./... | go run ./internal/cmd/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	failed, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json's TestEvent).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// result is what the summary keeps of one test or package.
type result struct {
	name   string
	reason string
}

// summarize prints r's package lines and failed tests' output to w and
// appends the summary. It reports whether anything failed.
func summarize(r io.Reader, w io.Writer) (failed bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	// output holds each running test's output, printed if it fails.
	output := map[string][]string{}
	var skips, fails []result
	counts := map[string]int{}
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// The build's own messages (compile errors) are not JSON.
			fmt.Fprintln(w, string(line))
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if e.Test != "" {
				output[key] = append(output[key], e.Output)
			} else if strings.TrimSpace(e.Output) != "PASS" {
				fmt.Fprint(w, e.Output)
			}
		case "skip", "fail", "pass":
			name := strings.TrimSpace(e.Package + " " + e.Test)
			switch {
			case e.Test == "" && e.Action == "skip":
				skips = append(skips, result{name: name, reason: "no test files"})
			case e.Test == "" && e.Action == "fail":
				fails = append(fails, result{name: name})
			case e.Action == "skip":
				skips = append(skips, result{name: name, reason: skipReason(output[key])})
			case e.Action == "fail":
				fails = append(fails, result{name: name})
				for _, o := range output[key] {
					fmt.Fprint(w, o)
				}
			}
			if e.Test != "" {
				counts[e.Action]++
			}
			delete(output, key)
		case "build-fail":
			fails = append(fails, result{name: e.Package + " (build)"})
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	sort.Slice(skips, func(i, j int) bool { return skips[i].name < skips[j].name })
	fmt.Fprintf(w, "\n== summary: %d passed, %d failed, %d skipped\n", counts["pass"], counts["fail"], counts["skip"])
	if len(skips) > 0 {
		fmt.Fprintf(w, "skipped (%d):\n", len(skips))
		for _, s := range skips {
			if s.reason == "" {
				s.reason = "(no reason given)"
			}
			fmt.Fprintf(w, "  %s: %s\n", s.name, s.reason)
		}
	}
	if len(fails) > 0 {
		fmt.Fprintf(w, "FAILED (%d):\n", len(fails))
		for _, f := range fails {
			fmt.Fprintf(w, "  %s\n", f.name)
		}
	}
	return len(fails) > 0, nil
}

// skipReason is the reason t.Skip printed: the last line of the skipped
// test's output that is not go test's framing (=== RUN, --- SKIP),
// without the file:line prefix.
func skipReason(lines []string) string {
	last := ""
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") {
			last = l
		}
	}
	if file, rest, ok := strings.Cut(last, ": "); ok && strings.Contains(file, ".go:") {
		return rest
	}
	return last
}
