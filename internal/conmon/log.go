package conmon

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// MaxLogLine is Docker's json-file chunk size: longer lines are split into
// entries of this size, only the last one ending in "\n".
const MaxLogLine = 16 * 1024

// LogEntry is one line of a Docker json-file log.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Log appends entries to a json-file log and hands each chunk to an
// optional sink (the attach clients).
type Log struct {
	mu   sync.Mutex
	f    *os.File
	sink func(stream string, p []byte)
}

// OpenLog opens (creating) the json-file log at path for appending.
func OpenLog(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	return &Log{f: f}, nil
}

// NewLog writes to an open log file (one inherited across an exec).
func NewLog(f *os.File) *Log { return &Log{f: f} }

// File is the log's file.
func (w *Log) File() *os.File { return w.f }

func (w *Log) write(stream string, p []byte) {
	line, err := json.Marshal(LogEntry{Log: string(p), Stream: stream, Time: time.Now().UTC()})
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

// SetSink sets the function that also receives each chunk (nil: none).
func (w *Log) SetSink(s func(stream string, p []byte)) {
	w.mu.Lock()
	w.sink = s
	w.mu.Unlock()
}

// Close closes the log file.
func (w *Log) Close() error { return w.f.Close() }

// CopyStream logs r's lines as stream until EOF or an error; lines longer
// than MaxLogLine are split.
func (w *Log) CopyStream(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, MaxLogLine)
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

// CopyRaw logs whatever r delivers, as it arrives (a terminal's output has
// no reliable line structure).
func (w *Log) CopyRaw(stream string, r io.Reader) {
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
