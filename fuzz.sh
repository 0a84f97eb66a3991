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
# -fuzztime; short runs keep new inputs as found (a failing input is still
# saved, unminimized). FUZZMINIMIZETIME=60s restores Go's default for long
# runs.
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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# fuzz runs one target; its output goes to the terminal and to $log.
fuzz() {
	go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" -parallel "$parallel" "$1" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}
while read -r pkg name; do
	[ -n "$pkg" ] || continue
	echo "== $name ($pkg)"
	if fuzz "$pkg" "$name"; then
		continue
	fi
	# Go 1.26's fuzzing coordinator can report "context deadline exceeded"
	# when -fuzztime ends while a worker is still answering (golang/go#75804,
	# fixed in Go 1.27): the target fails without a failing input. Such a
	# run, and only such a run, is repeated once; a second failure of any
	# kind stops the script. A real finding always names its input.
	if grep -q 'Failing input written to' "$log" || ! grep -q '^    context deadline exceeded$' "$log"; then
		exit 1
	fi
	echo "== $name ($pkg): again, after Go's fuzzing deadline race (golang/go#75804)"
	fuzz "$pkg" "$name"
done <<<"$targets"
