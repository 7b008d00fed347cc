package main

import (
	"io"
	"testing"
	"time"
)

func TestSplitCpArg(t *testing.T) {
	tests := []struct {
		in, ctr, path string
		inCtr         bool
	}{
		{"web:/etc/passwd", "web", "/etc/passwd", true},
		{"/tmp/x", "", "/tmp/x", false},
		{"./a:b", "", "./a:b", false},
		{"dir/a:b", "", "dir/a:b", false},
		{"-", "", "-", false},
		{"abc123:relative", "abc123", "relative", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, p, in := splitCpArg(tt.in)
			if c != tt.ctr || p != tt.path || in != tt.inCtr {
				t.Errorf("got (%q, %q, %v), want (%q, %q, %v)", c, p, in, tt.ctr, tt.path, tt.inCtr)
			}
		})
	}
}

func TestParseLogTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"10m", now.Add(-10 * time.Minute), false},
		{"2026-01-01T00:00:00Z", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"1700000000", time.Unix(1700000000, 0), false},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLogTime("--since", tt.in, now)
			if (err != nil) != tt.bad {
				t.Fatalf("error %v, want error %v", err, tt.bad)
			}
			if !tt.bad && !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if n, err := parseTail("all"); err != nil || n != -1 {
		t.Errorf("tail all = %d %v", n, err)
	}
	if n, err := parseTail("5"); err != nil || n != 5 {
		t.Errorf("tail 5 = %d %v", n, err)
	}
	if _, err := parseTail("-3"); err == nil {
		t.Error("tail -3 accepted")
	}
}

// The container commands must build their flag sets without clashing with
// the root's persistent -f/-p (cobra panics on a shorthand clash).
func TestContainerCommandsBuild(t *testing.T) {
	root := newRootCmd()
	root.SetOut(io.Discard)
	for _, args := range [][]string{
		{"container", "run", "--help"}, {"container", "logs", "--help"}, {"container", "rm", "--help"},
		{"container", "inspect", "--help"}, {"container", "ps", "--help"}, {"container", "exec", "--help"},
	} {
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}
