package runtime

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// maxLogLine is Docker's json-file chunk size: longer lines are split into
// entries of this size, only the last one ending in "\n".
const maxLogLine = 16 * 1024

// logEntry is one line of a Docker json-file log.
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logWriter appends entries to a json-file log and hands each chunk to an
// optional sink (the attach clients).
type logWriter struct {
	mu   sync.Mutex
	f    *os.File
	sink func(stream string, p []byte)
}

func openLog(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	return &logWriter{f: f}, nil
}

func (w *logWriter) write(stream string, p []byte) {
	line, err := json.Marshal(logEntry{Log: string(p), Stream: stream, Time: time.Now().UTC()})
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Write(append(line, '\n'))
	if w.sink != nil {
		w.sink(stream, p)
	}
}

func (w *logWriter) setSink(s func(stream string, p []byte)) {
	w.mu.Lock()
	w.sink = s
	w.mu.Unlock()
}

func (w *logWriter) Close() error { return w.f.Close() }

// copyStream logs r's lines as stream until EOF; lines longer than
// maxLogLine are split.
func (w *logWriter) copyStream(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			w.write(stream, chunk)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// copyRaw logs whatever r delivers, as it arrives (a terminal's output has
// no reliable line structure).
func (w *logWriter) copyRaw(stream string, r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w.write(stream, buf[:n])
		}
		if err != nil {
			return
		}
	}
}
