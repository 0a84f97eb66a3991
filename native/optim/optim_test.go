package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Tolerances. The float32 optimizers are compared with float64
// recomputations: after ten steps the parameters agree to a few float32
// rounding errors relative to their size.
const (
	refTolAbs = 1e-6 // absolute part of the reference comparison
	refTolRel = 1e-5 // relative part of the reference comparison
	quadTol   = 1e-3 // distance to a quadratic's minimiser after training
)

// randVec returns n values from N(0, scale^2).
func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * r.NormFloat64())
	}
	return v
}

// compare reports the largest difference between got and want, and the
// first index where |got-want| > absTol + relTol*|want|.
func compare(t *testing.T, what string, got []float32, want []float64, absTol, relTol float64) {
	t.Helper()
	maxDiff, first := 0.0, -1
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		maxDiff = math.Max(maxDiff, d)
		if first < 0 && !(d <= absTol+relTol*math.Abs(want[i])) {
			first = i
		}
	}
	if first >= 0 {
		t.Errorf("%s: max |diff| %.3g; first mismatch at %d: got %.9g, want %.9g (tolerance %.1g + %.1g*|want|)",
			what, maxDiff, first, got[first], want[first], absTol, relTol)
	}
}

// refSGD is a float64 recomputation of one SGD step.
func refSGD(w, v, g []float64, lr, mom, wd float64) {
	for i := range w {
		v[i] = mom*v[i] - wd*lr*w[i] - lr*g[i]
		w[i] += v[i]
	}
}

// refAdam is a float64 recomputation of Adam (decoupled=false) or AdamW
// at step t >= 1.
func refAdam(w, m, s, g []float64, t int, lr, b1, b2, eps, wd float64, decoupled bool) {
	for i := range w {
		gi := g[i]
		if !decoupled {
			gi += wd * w[i]
		}
		m[i] = b1*m[i] + (1-b1)*gi
		s[i] = b2*s[i] + (1-b2)*gi*gi
		mh := m[i] / (1 - math.Pow(b1, float64(t)))
		sh := s[i] / (1 - math.Pow(b2, float64(t)))
		upd := mh / (math.Sqrt(sh) + eps)
		if decoupled {
			upd += wd * w[i]
		}
		w[i] -= lr * upd
	}
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestAgainstReference runs ten steps of every optimizer on random
// parameters and gradients (with a varying learning rate) and compares
// with the float64 recomputation after each step.
func TestAgainstReference(t *testing.T) {
	const n, steps = 1000, 10
	type reference func(w []float64, state [][]float64, g []float64, t int, lr float64)
	cases := []struct {
		name string
		opt  Optimizer
		nbuf int
		ref  reference
	}{
		{"sgd", NewSGD(0.9, 0.0005), 1, func(w []float64, st [][]float64, g []float64, _ int, lr float64) {
			refSGD(w, st[0], g, lr, 0.9, 0.0005)
		}},
		{"sgd-strong-decay", NewSGD(0.5, 0.1), 1, func(w []float64, st [][]float64, g []float64, _ int, lr float64) {
			refSGD(w, st[0], g, lr, 0.5, 0.1)
		}},
		{"adam", NewAdam(0.9, 0.999, 1e-8, 0.01), 2, func(w []float64, st [][]float64, g []float64, t int, lr float64) {
			refAdam(w, st[0], st[1], g, t, lr, 0.9, 0.999, 1e-8, 0.01, false)
		}},
		{"adamw", NewAdamW(0.8, 0.99, 1e-6, 0.1), 2, func(w []float64, st [][]float64, g []float64, t int, lr float64) {
			refAdam(w, st[0], st[1], g, t, lr, 0.8, 0.99, 1e-6, 0.1, true)
		}},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(ci)))
			w := randVec(r, n, 1)
			w64 := to64(w)
			st := make([][]float64, c.nbuf)
			for i := range st {
				st[i] = make([]float64, n)
			}
			for step := 1; step <= steps; step++ {
				g := randVec(r, n, 0.5)
				lr := float32(0.01 * (1 + 0.1*float64(step)))
				c.opt.Step(w, g, lr)
				c.ref(w64, st, to64(g), step, float64(lr))
				compare(t, fmt.Sprintf("parameters after step %d", step), w, w64, refTolAbs, refTolRel)
			}
			s := c.opt.State()
			if s.Step != steps {
				t.Errorf("state step %d, want %d", s.Step, steps)
			}
			for i := range st {
				compare(t, fmt.Sprintf("state buffer %d", i), s.Buffers[i], st[i], refTolAbs, refTolRel)
			}
		})
	}
}

// TestQuadratic minimises f(w) = sum_i a_i (w_i - c_i)^2 / 2 with
// gradient a*(w-c). With L2 weight decay wd the minimiser of
// f + wd*|w|^2/2 is a*c/(a+wd); SGD and Adam must reach it. AdamW (no
// decay here) must reach c. Adam needs the annealed cosine rate to settle.
func TestQuadratic(t *testing.T) {
	const n = 64
	r := rand.New(rand.NewPCG(2, 3))
	a := make([]float64, n)
	c := make([]float64, n)
	for i := range a {
		a[i] = 0.5 + 1.5*r.Float64()
		c[i] = 2 * r.NormFloat64()
	}
	cosine, err := NewWarmupCosine(0.05, 0, 50, 3000)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		opt   Optimizer
		wd    float64
		sched Schedule
		steps int
	}{
		{"sgd", NewSGD(0.9, 0.05), 0.05, Constant(0.1), 500},
		{"adam", NewAdam(0.9, 0.999, 1e-8, 0.05), 0.05, cosine, 3000},
		{"adamw", NewAdamW(0.9, 0.999, 1e-8, 0), 0, cosine, 3000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := randVec(rand.New(rand.NewPCG(4, 5)), n, 1)
			g := make([]float32, n)
			for step := 0; step < tc.steps; step++ {
				for i := range g {
					g[i] = float32(a[i] * (float64(w[i]) - c[i]))
				}
				tc.opt.Step(w, g, tc.sched.LR(0, step))
			}
			want := make([]float64, n)
			for i := range want {
				want[i] = a[i] * c[i] / (a[i] + tc.wd)
			}
			compare(t, "minimiser", w, want, quadTol, 0)
		})
	}
}

// TestResumeBitwise checks that exporting the state after 10 steps and
// importing it into a fresh optimizer continues exactly as an
// uninterrupted run of 20 steps.
func TestResumeBitwise(t *testing.T) {
	const n, half = 300, 10
	makers := map[string]func() Optimizer{
		"sgd":   func() Optimizer { return NewSGD(0.9, 0.0005) },
		"adam":  func() Optimizer { return NewAdam(0.9, 0.999, 1e-8, 0.01) },
		"adamw": func() Optimizer { return NewAdamW(0.9, 0.95, 1e-8, 0.1) },
	}
	sched, err := NewWarmupCosine(0.01, 0.001, 3, 2*half)
	if err != nil {
		t.Fatal(err)
	}
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(6, 7))
			w0 := randVec(r, n, 1)
			grads := make([][]float32, 2*half)
			for i := range grads {
				grads[i] = randVec(r, n, 1)
			}
			full := append([]float32(nil), w0...)
			o := mk()
			for s := 0; s < 2*half; s++ {
				o.Step(full, grads[s], sched.LR(0, s))
			}
			part := append([]float32(nil), w0...)
			o1 := mk()
			for s := 0; s < half; s++ {
				o1.Step(part, grads[s], sched.LR(0, s))
			}
			saved := o1.State()
			// Advancing o1 further must not change the exported copy.
			scratch := append([]float32(nil), part...)
			o1.Step(scratch, grads[0], 1)

			o2 := mk()
			if err := o2.SetState(saved); err != nil {
				t.Fatal(err)
			}
			// Nor may changing the exported copy change o2.
			for _, b := range saved.Buffers {
				for i := range b {
					b[i] = 1e6
				}
			}
			for s := half; s < 2*half; s++ {
				o2.Step(part, grads[s], sched.LR(0, s))
			}
			for i := range full {
				if math.Float32bits(part[i]) != math.Float32bits(full[i]) {
					t.Fatalf("resumed run differs at %d: %.9g vs uninterrupted %.9g", i, part[i], full[i])
				}
			}
			if got := o2.State().Step; got != 2*half {
				t.Errorf("step count %d after resuming, want %d", got, 2*half)
			}
		})
	}
}

// TestSetStateErrors checks that malformed states are rejected.
func TestSetStateErrors(t *testing.T) {
	cases := []struct {
		name string
		opt  Optimizer
		s    State
		want string
	}{
		{"wrong kind", NewSGD(0.9, 0), State{Kind: "adam"}, `kind "adam"`},
		{"negative step", NewAdam(0.9, 0.999, 1e-8, 0), State{Kind: "adam", Step: -1}, "negative step"},
		{"steps without buffers", NewSGD(0.9, 0), State{Kind: "sgd", Step: 3}, "without buffers"},
		{"buffer count", NewAdamW(0.9, 0.999, 1e-8, 0), State{Kind: "adam", Step: 1, Buffers: [][]float32{{1}}}, "1 buffers, want 2"},
		{"buffer lengths", NewAdam(0.9, 0.999, 1e-8, 0), State{Kind: "adam", Step: 1, Buffers: [][]float32{{1, 2}, {3}}}, "buffer 1 has 1 values"},
	}
	for _, c := range cases {
		err := c.opt.SetState(c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestStepLengthMismatchPanics checks the documented precondition.
func TestStepLengthMismatchPanics(t *testing.T) {
	for _, o := range []Optimizer{NewSGD(0.9, 0), NewAdam(0.9, 0.999, 1e-8, 0)} {
		o.Step(make([]float32, 4), []float32{1, 2, 3, 4}, 0.1)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%T: Step with a different length did not panic", o)
				}
			}()
			o.Step(make([]float32, 5), make([]float32, 5), 0.1)
		}()
	}
}
