package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// byteSize is a flag value of bytes, written as a whole number with an
// optional binary unit: 1073741824, 1024MiB, 1GiB, 1G.
type byteSize int64

// byteUnits are the accepted units, longest spelling first.
var byteUnits = []struct {
	suffix string
	shift  uint
}{
	{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10},
	{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}, {"B", 0},
}

// String writes the size in bytes.
func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

// Set parses a size.
func (b *byteSize) Set(s string) error {
	num, shift := strings.TrimSpace(s), uint(0)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, shift = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("%q is not a positive size in bytes (such as 8GiB)", s)
	}
	if n > math.MaxInt64>>shift {
		return fmt.Errorf("%q is too large", s)
	}
	*b = byteSize(n << shift)
	return nil
}

// Type names the value in the usage.
func (b *byteSize) Type() string { return "bytes" }
