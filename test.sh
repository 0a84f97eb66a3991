#!/usr/bin/env bash
# Runs every check and test of onnxkit: formatting, go vet, staticcheck,
# then `go test` over the whole module, including the ONNX backend suite and
# the cross-checks against ONNX Runtime, and ends with a summary of every
# skipped test with its reason.
#
# Tiers (see README): `./test.sh` is the main tier; `./test.sh -short` the
# fast one (every package, under a minute); ONNXKIT_LONG_TESTS=1 adds the
# long cases (.ci/run runs them after the main tier). Arguments go to
# `go test`.
#
# It prepares what it can by itself: ONNX Runtime 1.30's CPU library is
# taken from the npm package onnxruntime-node into .cache/onnxruntime unless
# ONNXRUNTIME_SHARED_LIBRARY_PATH points at a copy. The ONNX backend test
# suite comes from Debian's libonnx-testdata (or ONNX_TESTDATA), ONNX 1.23's
# node tests from ../shared/onnx-backend-1.23 beside the repository (or
# ONNX_TESTDATA_1_23), and the onnx checker from Debian's python3-onnx;
# .ci/run installs the Debian packages.
# With CI set, a missing component fails the run instead of skipping tests.
set -euo pipefail
cd "$(dirname "$0")"

ort_version=1.30.0
if [ -z "${ONNXRUNTIME_SHARED_LIBRARY_PATH:-}" ]; then
	lib=.cache/onnxruntime/libonnxruntime.so.1
	if [ ! -f "$lib" ] && command -v npm >/dev/null; then
		echo "test.sh: fetching ONNX Runtime $ort_version (npm package onnxruntime-node)"
		tmp=$(mktemp -d)
		(cd "$tmp" && npm pack --silent "onnxruntime-node@$ort_version" >/dev/null)
		tar -xzf "$tmp/onnxruntime-node-$ort_version.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
		mkdir -p .cache/onnxruntime
		mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib.tmp"
		mv "$lib.tmp" "$lib"
		rm -rf "$tmp"
	fi
	if [ -f "$lib" ]; then
		export ONNXRUNTIME_SHARED_LIBRARY_PATH="$PWD/$lib"
	fi
fi
if [ -n "${CI:-}" ]; then
	missing=()
	[ -f "${ONNXRUNTIME_SHARED_LIBRARY_PATH:-/nonexistent}" ] || missing+=("ONNX Runtime library")
	[ -d "${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}" ] || missing+=("ONNX backend test suite")
	[ -d "${ONNX_TESTDATA_1_23:-../shared/onnx-backend-1.23}/node" ] || missing+=("ONNX 1.23 node tests (../shared/onnx-backend-1.23)")
	/usr/bin/python3 -c 'import onnx' 2>/dev/null || missing+=("python3-onnx")
	if [ ${#missing[@]} -gt 0 ]; then
		echo "test.sh: CI is set and these are missing: ${missing[*]}" >&2
		exit 1
	fi
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go tool staticcheck ./...
echo "== go test${ONNXKIT_LONG_TESTS:+ (long tier)}"
# go test -json keeps every test's result and skip reason for the summary;
# testsummary prints what go test prints without -v, then the summary.
mkdir -p .cache
go test -json -timeout 60m "$@" ./... | tee .cache/go-test.json | go run ./internal/cmd/testsummary
echo "== go test -race (concurrent runs of one program or session)"
go test -race -timeout 10m -run 'Concurrent|Cancel|Overlap|Endless|RunAfterError|ThreadsArePerSession|With|Share|WorkBuffers' \
	. ./native ./native/parallel ./native/internal/arena ./native/kernels

