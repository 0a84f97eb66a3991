package kernels

import (
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// TestThreadIndependence runs the kernels other than Conv (which has its
// own test) with one and with two workers, on sizes large enough for the
// work to be split, and requires bitwise equal results.
// It runs at every CPU level the machine has (leveltest.Run).
func TestThreadIndependence(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(111)
		bn := BatchNormParams{N: 8, C: 8, Spatial: 32 * 32, Epsilon: 1e-5, Momentum: 0.9}
		pool := PoolParams{N: 4, C: 8, H: 32, W: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2,
			PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1}
		// inference's paths: unit strides (unitMax) and 2x2/2 averages
		// of even planes (halvesSums)
		unitPool := PoolParams{N: 4, C: 8, H: 14, W: 14, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1}
		halvesPool := PoolParams{N: 4, C: 8, H: 32, W: 32, KH: 2, KW: 2, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1}
		lrn := LRNParams{N: 4, C: 16, Spatial: 32 * 32, Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 1}
		mm := MatMulParams{BatchA: []int{8, 1}, BatchB: []int{4}, M: 16, K: 24, N: 32}
		sm := SoftmaxParams{Outer: 64, Axis: 1000, Inner: 1}

		bnX := uniform(rng, bn.N*bn.C*bn.Spatial, -2, 2)
		bnScale, bnBias := uniform(rng, bn.C, 0.5, 1.5), uniform(rng, bn.C, -1, 1)
		oh, ow := pool.OutSize()
		poolX := uniform(rng, pool.N*pool.C*pool.H*pool.W, -1, 1)
		poolG := uniform(rng, pool.N*pool.C*oh*ow, -1, 1)
		lrnX := uniform(rng, lrn.N*lrn.C*lrn.Spatial, -2, 2)
		mmA := uniform(rng, 8*mm.M*mm.K, -1, 1)
		mmB := uniform(rng, 4*mm.K*mm.N, -1, 1)
		mmG := uniform(rng, 8*4*mm.M*mm.N, -1, 1)
		smX := uniform(rng, sm.Outer*sm.Axis, -3, 3)

		sameWithThreads(t, func() map[string][]float32 {
			out := map[string][]float32{}
			y, mean, inv := make([]float32, len(bnX)), make([]float32, bn.C), make([]float32, bn.C)
			rm, rv := make([]float32, bn.C), make([]float32, bn.C)
			BatchNormTrainingForward(&bn, bnX, bnScale, bnBias, rm, rv, y, mean, inv)
			dx, ds, db := make([]float32, len(bnX)), make([]float32, bn.C), make([]float32, bn.C)
			BatchNormTrainingBackward(&bn, bnX, bnScale, mean, inv, y, dx, ds, db)
			out["bn y"], out["bn dx"], out["bn dscale"], out["bn dbias"], out["bn running var"] = y, dx, ds, db, rv

			py, arg := make([]float32, len(poolG)), make([]int64, len(poolG))
			MaxPoolForward(&pool, poolX, py, arg)
			pdx := make([]float32, len(poolX))
			MaxPoolBackward(&pool, arg, poolG, pdx)
			ay := make([]float32, len(poolG))
			AveragePoolForward(&pool, poolX, ay)
			AveragePoolBackward(&pool, poolG, pdx)
			out["maxpool y"], out["avgpool y"], out["pool dx"] = py, ay, pdx
			values := make([]float32, len(poolG))
			MaxPoolValues(&pool, poolX, values)
			uoh, uow := unitPool.OutSize()
			unit := make([]float32, unitPool.N*unitPool.C*uoh*uow)
			MaxPoolValues(&unitPool, poolX, unit)
			hoh, how := halvesPool.OutSize()
			halves := make([]float32, halvesPool.N*halvesPool.C*hoh*how)
			AveragePoolForward(&halvesPool, poolX, halves)
			out["maxpool values"], out["maxpool unit strides"], out["avgpool 2x2/2"] = values, unit, halves

			ly, ls := make([]float32, len(lrnX)), make([]float32, len(lrnX))
			LRNForward(&lrn, lrnX, ly, ls)
			ldx := make([]float32, len(lrnX))
			LRNBackward(&lrn, lrnX, ly, ls, lrnX, ldx)
			out["lrn y"], out["lrn dx"] = ly, ldx

			my := make([]float32, len(mmG))
			MatMulForward(&mm, mmA, mmB, my)
			mda, mdb := make([]float32, len(mmA)), make([]float32, len(mmB))
			MatMulBackward(&mm, mmA, mmB, mmG, mda, mdb)
			out["matmul y"], out["matmul da"], out["matmul db"] = my, mda, mdb

			sy, sdx := make([]float32, len(smX)), make([]float32, len(smX))
			SoftmaxForward(&sm, smX, sy)
			SoftmaxBackward(&sm, sy, smX, sdx)
			out["softmax y"], out["softmax dx"] = sy, sdx
			return out
		})
	})
}

// sameWithThreads calls run with one and with two workers and requires
// every output it names to be bitwise equal between the two.
func sameWithThreads(t *testing.T, run func() map[string][]float32) {
	t.Helper()
	defer parallel.SetThreads(parallel.Threads())
	defer parallel.SetGrain(parallel.SetGrain(1 << 16)) // split small loops too
	parallel.SetThreads(1)
	one := run()
	parallel.SetThreads(2)
	two := run()
	for name, v := range one {
		identical(t, name+" with 1 vs 2 threads", v, two[name])
	}
}
