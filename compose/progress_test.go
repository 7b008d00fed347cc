package compose

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func progressEvents() []Event {
	return []Event{
		{Kind: "Network", Name: "demo_default", Status: StatusCreating},
		{Kind: "Network", Name: "demo_default", Status: StatusCreated, Done: true},
		containerEvent("demo-db-1", StatusCreating, false),
		containerEvent("demo-db-1", StatusStarted, true),
		containerEvent("demo-web-1", StatusWaiting, false),
		{Kind: "Container", Name: "demo-web-1", Status: StatusError, Text: `dependency "db" is unhealthy`, Done: true},
	}
}

func TestProgressPlainAndJSON(t *testing.T) {
	cases := []struct {
		mode string
		want string
	}{
		{ProgressPlain, ` Network demo_default  Creating
 Network demo_default  Created
 Container demo-db-1  Creating
 Container demo-db-1  Started
 Container demo-web-1  Waiting
 Container demo-web-1  Error: dependency "db" is unhealthy
`},
		{ProgressJSON, `{"kind":"Network","name":"demo_default","status":"Creating","done":false}
{"kind":"Network","name":"demo_default","status":"Created","done":true}
{"kind":"Container","name":"demo-db-1","status":"Creating","done":false}
{"kind":"Container","name":"demo-db-1","status":"Started","done":true}
{"kind":"Container","name":"demo-web-1","status":"Waiting","done":false}
{"kind":"Container","name":"demo-web-1","status":"Error","text":"dependency \"db\" is unhealthy","done":true}
`},
		{ProgressQuiet, ""},
		{ProgressAuto, " Network demo_default  Creating\n"}, // not a tty: plain
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewProgressWriter(&buf, tc.mode, false, "Running")
			if err != nil {
				t.Fatal(err)
			}
			events := progressEvents()
			if tc.mode == ProgressAuto {
				events = events[:1]
			}
			for _, e := range events {
				w.Event(e)
			}
			w.Close()
			if buf.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", buf.String(), tc.want)
			}
		})
	}
	if _, err := NewProgressWriter(nil, "fancy", false, ""); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestProgressTTYRedrawsInPlace(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := newTTYProgress(&buf, "Running", func() time.Time { clock = clock.Add(100 * time.Millisecond); return clock })
	for _, e := range progressEvents() {
		p.Event(e)
	}
	p.Close()
	out := buf.String()
	frames := strings.Split(out, "\x1b[4A") // after the first draws, the cursor goes up over header + 3 lines
	last := frames[len(frames)-1]
	want := "\x1b[2K[+] Running 3/3\n" +
		"\x1b[2K ✔ Network demo_default  Created      0.2s\n" +
		"\x1b[2K ✔ Container demo-db-1   Started      0.2s\n" +
		"\x1b[2K ✘ Container demo-web-1  Error        0.2s  dependency \"db\" is unhealthy\n"
	if last != want {
		t.Errorf("last frame:\n%q\nwant:\n%q", last, want)
	}
	if len(frames) < 3 {
		t.Errorf("expected several redraws, got %d frames", len(frames))
	}
}

func TestLogMux(t *testing.T) {
	cases := []struct {
		name string
		o    LogOptions
		want string
	}{
		{"aligned no color", LogOptions{NoColor: true, Names: []string{"web-1", "database-1"}},
			"web-1       | hello\ndatabase-1  | ready\nweb-1       | partial\n"},
		{"colour", LogOptions{Names: []string{"web-1", "database-1"}},
			"\x1b[36mweb-1       | \x1b[0mhello\n\x1b[33mdatabase-1  | \x1b[0mready\n\x1b[36mweb-1       | \x1b[0mpartial\n"},
		{"no prefix with timestamps", LogOptions{NoPrefix: true, Timestamps: true},
			"1970-01-01T00:00:01Z hello\n1970-01-01T00:00:01Z ready\n1970-01-01T00:00:01Z partial\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			m := NewLogMux(&buf, tc.o)
			m.now = func() time.Time { return time.Unix(1, 0) }
			web, db := m.Writer("web-1"), m.Writer("database-1")
			web.Write([]byte("hel"))
			web.Write([]byte("lo\npart"))
			db.Write([]byte("ready\r\n"))
			web.Write([]byte("ial"))
			web.Close()
			db.Close()
			if buf.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", buf.String(), tc.want)
			}
		})
	}
}

func TestLogMuxWholeLinesUnderConcurrency(t *testing.T) {
	var buf bytes.Buffer
	m := NewLogMux(&buf, LogOptions{NoColor: true, Names: []string{"a-1", "b-1"}})
	var wg sync.WaitGroup
	for _, name := range []string{"a-1", "b-1"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := m.Writer(name)
			for i := 0; i < 200; i++ {
				w.Write([]byte("0123456789"))
				w.Write([]byte("abcdef\n"))
			}
		}()
	}
	wg.Wait()
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if l != "a-1  | 0123456789abcdef" && l != "b-1  | 0123456789abcdef" {
			t.Fatalf("torn line %q", l)
		}
	}
	if ShortName("demo", "demo-web-1") != "web-1" {
		t.Error("ShortName")
	}
}
