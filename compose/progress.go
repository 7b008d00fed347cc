package compose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// Progress modes (--progress).
const (
	ProgressAuto  = "auto"
	ProgressTTY   = "tty"
	ProgressPlain = "plain"
	ProgressQuiet = "quiet"
	ProgressJSON  = "json"
)

// ProgressWriter is a Progress that renders to a writer; Close draws the
// final state.
type ProgressWriter interface {
	Progress
	Close() error
}

// NewProgressWriter returns the writer for mode: tty redraws a line per
// resource in place, plain prints a line per event, json a JSON object per
// event, quiet nothing; auto is tty when isTTY, else plain. title is the
// operation ("Running", "Stopping"...).
func NewProgressWriter(w io.Writer, mode string, isTTY bool, title string) (ProgressWriter, error) {
	switch mode {
	case "", ProgressAuto:
		if isTTY {
			return newTTYProgress(w, title, time.Now), nil
		}
		return &plainProgress{w: w}, nil
	case ProgressTTY:
		return newTTYProgress(w, title, time.Now), nil
	case ProgressPlain:
		return &plainProgress{w: w}, nil
	case ProgressJSON:
		return &jsonProgress{w: w}, nil
	case ProgressQuiet:
		return quietProgress{}, nil
	}
	return nil, fmt.Errorf("progress %q: use auto, tty, plain, json or quiet: %w", mode, errdefs.ErrInvalidArgument)
}

type quietProgress struct{}

func (quietProgress) Event(Event)  {}
func (quietProgress) Close() error { return nil }

// plainProgress prints " Container demo-web-1  Started" per event.
type plainProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *plainProgress) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf(" %s %s  %s", e.Kind, e.Name, e.Status)
	if e.Text != "" {
		line += ": " + e.Text
	}
	fmt.Fprintln(p.w, line)
}

func (p *plainProgress) Close() error { return nil }

// jsonProgress prints one JSON object per event.
type jsonProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *jsonProgress) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(struct {
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Status string `json:"status"`
		Text   string `json:"text,omitempty"`
		Done   bool   `json:"done"`
	}{e.Kind, e.Name, e.Status, e.Text, e.Done})
	fmt.Fprintf(p.w, "%s\n", b)
}

func (p *jsonProgress) Close() error { return nil }

// ttyProgress keeps a line per resource and redraws them all in place on
// every event, like Docker Compose's:
//
//	[+] Running 2/3
//	 ✔ Network demo_default    Created    0.1s
//	 ⠿ Container demo-db-1     Waiting    1.2s
type ttyProgress struct {
	mu     sync.Mutex
	w      io.Writer
	title  string
	now    func() time.Time
	lines  []*ttyLine
	byName map[string]*ttyLine
	drawn  int // lines printed by the last draw
}

type ttyLine struct {
	kind, name, status, text string
	start, end               time.Time
	done, failed             bool
}

func newTTYProgress(w io.Writer, title string, now func() time.Time) *ttyProgress {
	return &ttyProgress{w: w, title: title, now: now, byName: map[string]*ttyLine{}}
}

func (p *ttyProgress) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := e.Kind + " " + e.Name
	l, ok := p.byName[key]
	if !ok {
		l = &ttyLine{kind: e.Kind, name: e.Name, start: p.now()}
		p.byName[key] = l
		p.lines = append(p.lines, l)
	}
	l.status, l.text, l.done, l.failed = e.Status, e.Text, e.Done, e.Status == StatusError
	if e.Done {
		l.end = p.now()
	}
	p.draw()
}

func (p *ttyProgress) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	return nil
}

// draw moves the cursor up over the previous drawing and prints every line
// again, each cleared first.
func (p *ttyProgress) draw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	done := 0
	width := 0
	for _, l := range p.lines {
		if l.done {
			done++
		}
		if n := len(l.kind) + 1 + len(l.name); n > width {
			width = n
		}
	}
	fmt.Fprintf(&b, "\x1b[2K[+] %s %d/%d\n", p.title, done, len(p.lines))
	for _, l := range p.lines {
		mark := "⠿"
		switch {
		case l.failed:
			mark = "✘"
		case l.done:
			mark = "✔"
		}
		end := l.end
		if !l.done {
			end = p.now()
		}
		line := fmt.Sprintf(" %s %-*s  %-10s %5.1fs", mark, width, l.kind+" "+l.name, l.status, end.Sub(l.start).Seconds())
		if l.text != "" {
			line += "  " + l.text
		}
		fmt.Fprintf(&b, "\x1b[2K%s\n", line)
	}
	p.drawn = len(p.lines) + 1
	io.WriteString(p.w, b.String())
}
