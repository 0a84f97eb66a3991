package data

import (
	"fmt"
	"math"
)

// Split divides ds into train, validation and test sets, stratified by
// class: within each class of n items, round(valFrac*n) go to validation,
// round(testFrac*n) to test and the rest to train, the items being chosen
// by a shuffle seeded with (seed, class). The result depends only on the
// item order of ds, the seed and the fractions; each part keeps the
// dataset order and shares ds.Classes. The fractions must be in [0, 1)
// with valFrac+testFrac < 1.
func Split(ds *Dataset, seed uint64, valFrac, testFrac float64) (train, val, test *Dataset, err error) {
	if err := ds.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if !(valFrac >= 0 && testFrac >= 0 && valFrac+testFrac < 1) {
		return nil, nil, nil, fmt.Errorf("data: split fractions val %g, test %g: want non-negative with sum < 1", valFrac, testFrac)
	}
	byClass := make([][]int, len(ds.Classes))
	for i, it := range ds.Items {
		byClass[it.Label] = append(byClass[it.Label], i)
	}
	const (
		partTrain = iota
		partVal
		partTest
	)
	part := make([]int, len(ds.Items))
	for class, idx := range byClass {
		n := len(idx)
		nVal := int(math.Round(valFrac * float64(n)))
		nTest := int(math.Round(testFrac * float64(n)))
		if nVal+nTest > n { // only possible when rounding both up on a tiny class
			nVal = n - nTest
		}
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		newRNG(streamSplit, seed, uint64(class)).shuffle(perm)
		for k, j := range perm {
			switch {
			case k < nTest:
				part[idx[j]] = partTest
			case k < nTest+nVal:
				part[idx[j]] = partVal
			default:
				part[idx[j]] = partTrain
			}
		}
	}
	parts := [3]*Dataset{}
	for i := range parts {
		parts[i] = &Dataset{Classes: ds.Classes}
	}
	for i, it := range ds.Items {
		parts[part[i]].Items = append(parts[part[i]].Items, it)
	}
	return parts[partTrain], parts[partVal], parts[partTest], nil
}
