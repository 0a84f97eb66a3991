//go:build !amd64

package linalg

// StandIns are Blocked Gemms for tests only; outside amd64 there are no
// assembly kernels to stand in for.
var StandIns []Blocked
