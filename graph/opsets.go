package graph

import (
	"maps"
	"slices"
)

//go:generate /usr/bin/python3 gen_opsets.py

// MLDomain is the domain of the ONNX traditional machine-learning operators.
const MLDomain = "ai.onnx.ml"

// The table behind the functions below (opsets_table.go) lists, for the
// default domain, ai.onnx.preview.training and ai.onnx.ml, the opset
// versions at which each operator was defined or redefined: up to opset 22
// for the default domain, 3 for ai.onnx.ml and 1 for the training domain.

// canonicalDomain reads "ai.onnx" as the default domain.
func canonicalDomain(domain string) string {
	if domain == "ai.onnx" {
		return DefaultDomain
	}
	return domain
}

// OpVersion returns the version of the definition of op that a model
// importing domain at version opset uses: the newest since-version at or
// below opset. ok is false when the domain or op is unknown, when op was
// first defined after opset, or when that definition is deprecated (see
// OpDeprecated). An engine picks per-version semantics by since.
func OpVersion(domain, op string, opset int64) (since int64, ok bool) {
	domain = canonicalDomain(domain)
	versions := opsetTable[domain][op]
	i, found := slices.BinarySearch(versions, opset)
	if found {
		since = versions[i]
	} else if i > 0 {
		since = versions[i-1]
	} else {
		return 0, false
	}
	if dep, ok := deprecatedOps[domain][op]; ok && since >= dep {
		return since, false
	}
	return since, true
}

// OpDeprecated reports whether op is deprecated in domain at version
// opset, and the version that deprecated it.
func OpDeprecated(domain, op string, opset int64) (since int64, deprecated bool) {
	dep, ok := deprecatedOps[canonicalDomain(domain)][op]
	return dep, ok && opset >= dep
}

// OpVersions returns the ascending opset versions at which op was defined
// or redefined in domain, or nil when the op is unknown. Softmax, for
// example, gives [1 11 13].
func OpVersions(domain, op string) []int64 {
	return slices.Clone(opsetTable[canonicalDomain(domain)][op])
}

// KnownOps returns the names of the operators of domain in the table, sorted.
func KnownOps(domain string) []string {
	return slices.Sorted(maps.Keys(opsetTable[canonicalDomain(domain)]))
}

// KnownDomain reports whether the table covers domain, and the newest
// opset version of it that the table knows.
func KnownDomain(domain string) (latest int64, ok bool) {
	latest, ok = latestOpset[canonicalDomain(domain)]
	return latest, ok
}
