package train

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is an epoch's progress bar: step, loss, accuracy, images per
// second and the time left. A nil writer makes it do nothing.
type progress struct {
	bar   *progressbar.ProgressBar
	title string
}

func newProgress(w io.Writer, steps int, title string) *progress {
	if w == nil {
		return &progress{}
	}
	return &progress{title: title, bar: progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(title),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *progress) update(loss, acc float64, images int, elapsed time.Duration) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s loss %.3f acc %4.1f%% %5.1f img/s", p.title, loss, 100*acc, float64(images)/elapsed.Seconds()))
	p.bar.Add(1)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
