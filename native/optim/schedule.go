package optim

import (
	"errors"
	"fmt"
	"math"
)

// Schedule gives the learning rate to use for a step. epoch counts
// finished passes over the data (0 during the first) and step counts
// optimizer steps since the start of training (0 for the first step);
// epoch-based schedules ignore step and step-based ones ignore epoch.
type Schedule interface {
	LR(epoch, step int) float32
}

// Constant is a fixed learning rate.
type Constant float32

// LR returns the constant.
func (c Constant) LR(epoch, step int) float32 { return float32(c) }

// StepDecay multiplies the rate by Gamma every Every epochs:
// LR = Base * Gamma^floor(epoch/Every). AlexNet divided by 10 by hand
// when the validation error stopped improving; this is the fixed-interval
// version (Gamma 0.1).
type StepDecay struct {
	Base  float32
	Gamma float32
	Every int // epochs between decays, > 0
}

// NewStepDecay returns a StepDecay, checking that every > 0.
func NewStepDecay(base, gamma float32, every int) (StepDecay, error) {
	if every <= 0 {
		return StepDecay{}, fmt.Errorf("optim: step decay every %d epochs: must be positive", every)
	}
	return StepDecay{Base: base, Gamma: gamma, Every: every}, nil
}

// LR returns Base * Gamma^floor(epoch/Every). It panics if Every <= 0
// (NewStepDecay rejects that).
func (s StepDecay) LR(epoch, step int) float32 {
	if s.Every <= 0 {
		panic(fmt.Sprintf("optim: StepDecay.Every = %d must be positive", s.Every))
	}
	return float32(float64(s.Base) * math.Pow(float64(s.Gamma), float64(epoch/s.Every)))
}

// WarmupCosine rises linearly for Warmup steps and then follows half a
// cosine from Base down to Min, reached at step Total and kept after:
//
//	step < Warmup:  LR = Base * (step+1) / Warmup
//	otherwise:      p  = min(1, (step-Warmup) / (Total-Warmup))
//	                LR = Min + (Base-Min) * (1 + cos(pi*p)) / 2
//
// so the first step after the warm-up uses Base exactly.
type WarmupCosine struct {
	Base, Min     float32
	Warmup, Total int // steps; 0 <= Warmup < Total
}

// NewWarmupCosine returns a WarmupCosine, checking 0 <= warmup < total.
func NewWarmupCosine(base, minLR float32, warmup, total int) (WarmupCosine, error) {
	if warmup < 0 || total <= warmup {
		return WarmupCosine{}, fmt.Errorf("optim: cosine schedule with %d warm-up steps of %d: want 0 <= warm-up < total", warmup, total)
	}
	return WarmupCosine{Base: base, Min: minLR, Warmup: warmup, Total: total}, nil
}

// LR returns the rate of the given step. It panics unless
// 0 <= Warmup < Total (NewWarmupCosine rejects that).
func (s WarmupCosine) LR(epoch, step int) float32 {
	if s.Warmup < 0 || s.Total <= s.Warmup {
		panic(fmt.Sprintf("optim: WarmupCosine with Warmup %d and Total %d: want 0 <= Warmup < Total", s.Warmup, s.Total))
	}
	if step < s.Warmup {
		return float32(float64(s.Base) * float64(step+1) / float64(s.Warmup))
	}
	p := math.Min(1, float64(step-s.Warmup)/float64(s.Total-s.Warmup))
	return float32(float64(s.Min) + float64(s.Base-s.Min)*(1+math.Cos(math.Pi*p))/2)
}

// PlateauMode says whether a smaller or a larger metric is better.
type PlateauMode int

// The two plateau modes.
const (
	Min PlateauMode = iota // lower is better (a loss)
	Max                    // higher is better (an accuracy)
)

// Plateau lowers the learning rate when a monitored metric stops
// improving, evaluated once per epoch by Observe. A metric m improves on
// the best value b when, in mode Min,
//
//	m < b*(1-Threshold)  (relative threshold, the default)
//	m < b-Threshold      (AbsThreshold set)
//
// and symmetrically (m > b*(1+Threshold), m > b+Threshold) in mode Max.
// Each epoch without improvement counts as bad; cooldown epochs after a
// reduction are not counted. When more than Patience bad epochs have
// accumulated the rate becomes max(rate*Factor, MinLR) and a cooldown of
// Cooldown epochs begins. LR returns the current rate for every step.
type Plateau struct {
	Mode         PlateauMode
	Factor       float32 // multiplier applied on a plateau, in (0, 1)
	Patience     int     // bad epochs tolerated before reducing
	Cooldown     int     // epochs after a reduction during which bad epochs are not counted
	MinLR        float32 // floor of the rate
	Threshold    float64 // minimal improvement (see above)
	AbsThreshold bool    // Threshold is absolute instead of relative

	state PlateauState
}

// PlateauState is the mutable part of a Plateau, for checkpoints.
type PlateauState struct {
	LR           float32 // current rate
	Best         float64 // best metric so far (meaningless while Seen is false)
	Seen         bool    // whether a metric has been observed
	Bad          int     // bad epochs since the last improvement or reduction
	CooldownLeft int     // remaining cooldown epochs
}

// NewPlateau returns a Plateau starting at rate base, with the given
// settings copied from cfg (its state is ignored). It checks the settings.
func NewPlateau(base float32, cfg Plateau) (*Plateau, error) {
	if !(cfg.Factor > 0 && cfg.Factor < 1) {
		return nil, fmt.Errorf("optim: plateau factor %g must be in (0, 1)", cfg.Factor)
	}
	if cfg.Patience < 0 || cfg.Cooldown < 0 || cfg.Threshold < 0 || cfg.MinLR < 0 {
		return nil, errors.New("optim: plateau patience, cooldown, threshold and minimum rate must not be negative")
	}
	if cfg.Mode != Min && cfg.Mode != Max {
		return nil, fmt.Errorf("optim: unknown plateau mode %d", cfg.Mode)
	}
	p := cfg
	p.state = PlateauState{LR: base}
	return &p, nil
}

// LR returns the current rate.
func (p *Plateau) LR(epoch, step int) float32 { return p.state.LR }

// better reports whether metric improves on the best value.
func (p *Plateau) better(metric float64) bool {
	if !p.state.Seen {
		return true
	}
	b := p.state.Best
	switch {
	case p.Mode == Min && p.AbsThreshold:
		return metric < b-p.Threshold
	case p.Mode == Min:
		return metric < b*(1-p.Threshold)
	case p.AbsThreshold:
		return metric > b+p.Threshold
	default:
		return metric > b*(1+p.Threshold)
	}
}

// Observe records the metric of a finished epoch and reports whether the
// rate was reduced. A NaN metric counts as no improvement.
func (p *Plateau) Observe(metric float64) (reduced bool) {
	st := &p.state
	if !math.IsNaN(metric) && p.better(metric) {
		st.Best, st.Seen, st.Bad = metric, true, 0
	} else {
		st.Bad++
	}
	if st.CooldownLeft > 0 {
		st.CooldownLeft--
		st.Bad = 0
	}
	if st.Bad > p.Patience {
		lr := max(st.LR*p.Factor, p.MinLR)
		st.Bad = 0
		if lr < st.LR {
			st.LR = lr
			st.CooldownLeft = p.Cooldown
			return true
		}
	}
	return false
}

// State returns the mutable state.
func (p *Plateau) State() PlateauState { return p.state }

// SetState restores a state returned by State.
func (p *Plateau) SetState(s PlateauState) error {
	if s.Bad < 0 || s.CooldownLeft < 0 || !(s.LR >= 0) {
		return fmt.Errorf("optim: invalid plateau state %+v", s)
	}
	p.state = s
	return nil
}
