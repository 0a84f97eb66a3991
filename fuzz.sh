#!/usr/bin/env bash
# Runs every Go fuzz target of the module (every `func FuzzX(f *testing.F)`
# in a _test.go file) for FUZZTIME each: 10s by default, as CI does
# (.ci/run); the scheduled long run (README, "Fuzzing") sets FUZZTIME=10m.
# A target that fails stops the script with its status; the failing input
# is saved under the package's testdata/fuzz/FuzzX and becomes a
# regression case of every later `go test`.
#
# FuzzDifferential (conformance) needs ONNX Runtime, like test.sh.
set -euo pipefail
cd "$(dirname "$0")"
fuzztime=${FUZZTIME:-10s}
parallel=${FUZZPARALLEL:-2}
# Go spends up to a minute minimizing each new interesting input, outside
# -fuzztime, and a short run whose time ends during a minimization fails
# with "context deadline exceeded" (seen on FuzzIRRoundTrip, whose inputs
# all ran in milliseconds). Short runs keep new inputs as found; a failing
# input is still saved, unminimized. FUZZMINIMIZETIME=60s restores Go's
# default for long runs.
minimize=${FUZZMINIMIZETIME:-0}
targets=$(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
	grep -v '^./.cache/' | sort |
	while read -r file; do
		for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
			echo "./$(dirname "${file#./}") $name"
		done
	done)
count=$(echo "$targets" | grep -c . || true)
echo "fuzz.sh: $count targets, $fuzztime each"
while read -r pkg name; do
	[ -n "$pkg" ] || continue
	echo "== $name ($pkg)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" -parallel "$parallel" "$pkg"
done <<<"$targets"
