package conformance

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Manifest records, per case, how it is judged when it is not simply
// expected to pass under the default tolerance. Each line reads
//
//	SUITE/CASE  KIND  REASON...
//
// where KIND is "exclude" (the case is known not to pass; it still runs,
// and passing is reported so the line can go), "random" (the outputs are
// random: checked by dtype, shape, range and determinism, not values) or
// "tolerance=NAME" (compared under a named looser level). Blank lines and
// lines starting with # are comments.
type Manifest struct {
	Entries map[string]Entry
}

// Entry is one manifest line.
type Entry struct {
	Key    string // SUITE/CASE
	Kind   string // "exclude", "random" or "tolerance"
	Level  *Tolerance
	Reason string
}

// ReadManifest parses a manifest file.
func ReadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseManifest(f, path)
}

func parseManifest(r io.Reader, name string) (*Manifest, error) {
	m := &Manifest{Entries: map[string]Entry{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 3 {
			return nil, fmt.Errorf("%s:%d: want SUITE/CASE KIND REASON", name, line)
		}
		e := Entry{Key: fields[0], Kind: fields[1], Reason: strings.Join(fields[2:], " ")}
		switch {
		case e.Kind == "exclude" || e.Kind == "random":
		case strings.HasPrefix(e.Kind, "tolerance="):
			level := tolerances[strings.TrimPrefix(e.Kind, "tolerance=")]
			if level == nil {
				return nil, fmt.Errorf("%s:%d: unknown tolerance level %q", name, line, e.Kind)
			}
			e.Kind, e.Level = "tolerance", level
		default:
			return nil, fmt.Errorf("%s:%d: unknown kind %q", name, line, e.Kind)
		}
		if _, dup := m.Entries[e.Key]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", name, line, e.Key)
		}
		m.Entries[e.Key] = e
	}
	return m, sc.Err()
}

// Write writes the manifest in its file format, sorted by case, with a
// header comment.
func (m *Manifest) Write(w io.Writer, header string) error {
	keys := make([]string, 0, len(m.Entries))
	for k := range m.Entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		fmt.Fprintf(bw, "# %s\n", line)
	}
	fmt.Fprintln(bw)
	for _, k := range keys {
		e := m.Entries[k]
		kind := e.Kind
		if e.Level != nil {
			kind = "tolerance=" + e.Level.Name
		}
		fmt.Fprintf(bw, "%-60s %-16s %s\n", k, kind, e.Reason)
	}
	return bw.Flush()
}
