package compose

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"
)

// LogOptions shape the multiplexed log output of `up` and `logs`.
type LogOptions struct {
	NoColor    bool
	NoPrefix   bool
	Timestamps bool
	// Names are the prefixes known in advance (e.g. "web-1"), so the
	// column is aligned from the first line; later names widen it.
	Names []string
}

// LogMux interleaves the logs of several containers on one writer, a whole
// line at a time, each line prefixed with its container's short name padded
// to the longest name and coloured per container: "web-1  | hello".
type LogMux struct {
	mu     sync.Mutex
	w      io.Writer
	o      LogOptions
	width  int
	colors map[string]string
	now    func() time.Time
}

// logColors are the prefix colours, in the order Docker Compose uses them.
var logColors = []string{"36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1"}

// NewLogMux returns a multiplexer writing to w.
func NewLogMux(w io.Writer, o LogOptions) *LogMux {
	m := &LogMux{w: w, o: o, colors: map[string]string{}, now: time.Now}
	for _, n := range o.Names {
		m.register(n)
	}
	return m
}

// ShortName is a container's name without its project prefix: the log
// prefix ("demo-web-1" -> "web-1").
func ShortName(project, container string) string {
	return strings.TrimPrefix(container, project+"-")
}

func (m *LogMux) register(name string) string {
	if len(name) > m.width {
		m.width = len(name)
	}
	c, ok := m.colors[name]
	if !ok {
		c = logColors[len(m.colors)%len(logColors)]
		m.colors[name] = c
	}
	return c
}

// Line writes one line (without its newline) of name's log, stamped t
// when timestamps are on.
func (m *LogMux) Line(name string, t time.Time, line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	color := m.register(name)
	var b strings.Builder
	if !m.o.NoPrefix {
		prefix := name + strings.Repeat(" ", m.width-len(name)) + "  | "
		if m.o.NoColor {
			b.WriteString(prefix)
		} else {
			b.WriteString("\x1b[" + color + "m" + prefix + "\x1b[0m")
		}
	}
	if m.o.Timestamps {
		b.WriteString(t.UTC().Format(time.RFC3339Nano) + " ")
	}
	b.WriteString(line)
	b.WriteByte('\n')
	io.WriteString(m.w, b.String())
}

// Add makes name known, widening the prefix column when needed.
func (m *LogMux) Add(name string) {
	m.mu.Lock()
	m.register(name)
	m.mu.Unlock()
}

// Writer returns a writer for name's log stream: complete lines go out
// prefixed, a trailing partial line is held until it ends or Close.
func (m *LogMux) Writer(name string) io.WriteCloser {
	m.mu.Lock()
	m.register(name)
	m.mu.Unlock()
	return &lineWriter{m: m, name: name}
}

type lineWriter struct {
	m    *LogMux
	name string
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSuffix(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		w.m.Line(w.name, w.m.now(), line)
	}
	return len(p), nil
}

func (w *lineWriter) Close() error {
	if len(w.buf) > 0 {
		w.m.Line(w.name, w.m.now(), string(w.buf))
		w.buf = nil
	}
	return nil
}
