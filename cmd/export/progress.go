package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/onnxkit/onnxkit/native/train"
)

// progress shows the training epoch in progress: on a terminal as a bar
// redrawn in place, elsewhere (a log file, a pipe) as plain lines, one
// every plainEvery steps and one for the last step.
type progress struct {
	w     io.Writer
	plain bool
	bar   *progressbar.ProgressBar
}

// plainEvery is how often, in steps, the plain-line display reports.
const plainEvery = 5

// newProgress returns a display writing to w; plain lines unless w is a
// terminal.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, plain: !ok || !term.IsTerminal(int(f.Fd()))}
}

// describe is the text shown beside the bar, and the plain line's body.
func describe(p train.StepProgress) string {
	return fmt.Sprintf("epoch %d/%d loss %.3f acc %4.1f%% %5.1f img/s",
		p.Epoch, p.Epochs, p.Loss, 100*p.Accuracy, float64(p.Images)/p.Elapsed.Seconds())
}

// step is the trainer's OnStep callback.
func (d *progress) step(p train.StepProgress) {
	if d.plain {
		if p.Step%plainEvery == 0 || p.Step == p.Steps {
			fmt.Fprintf(d.w, "%s, step %d/%d (%d%%)\n", describe(p), p.Step, p.Steps, 100*p.Step/p.Steps)
		}
		return
	}
	if p.Step == 1 || d.bar == nil {
		d.bar = progressbar.NewOptions(p.Steps,
			progressbar.OptionSetWriter(d.w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(200*time.Millisecond),
			// The finished bar stays, at 100%, on its own line.
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(d.w) }),
		)
	}
	d.bar.Describe(describe(p))
	d.bar.Set(p.Step)
	if p.Step == p.Steps {
		d.bar.Finish()
		d.bar = nil
	}
}
