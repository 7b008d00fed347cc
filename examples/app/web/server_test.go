package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRedis is a hand-written stand-in for Redis on 127.0.0.1 that knows
// PING and INCR, enough to drive the handlers over a real socket.
type fakeRedis struct {
	ln       net.Listener
	mu       sync.Mutex
	counters map[string]int64
}

func startFakeRedis(t *testing.T) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRedis{ln: ln, counters: map[string]int64{}}
	t.Cleanup(func() { ln.Close() })
	go f.serve()
	return f
}

func (f *fakeRedis) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.handle(c)
	}
}

func (f *fakeRedis) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		v, err := readReply(r) // a command is an array of bulk strings
		if err != nil {
			return
		}
		args, _ := v.([]any)
		if len(args) == 0 {
			io.WriteString(c, "-ERR empty command\r\n")
			continue
		}
		switch cmd, _ := args[0].(string); strings.ToUpper(cmd) {
		case "PING":
			io.WriteString(c, "+PONG\r\n")
		case "INCR":
			key, _ := args[1].(string)
			f.mu.Lock()
			f.counters[key]++
			n := f.counters[key]
			f.mu.Unlock()
			io.WriteString(c, ":"+strconv.FormatInt(n, 10)+"\r\n")
		default:
			io.WriteString(c, "-ERR unknown command '"+cmd+"'\r\n")
		}
	}
}

func newTestServer(addr string) (*server, *bytes.Buffer) {
	var logs bytes.Buffer
	return &server{redis: redisClient{addr: addr, timeout: time.Second}, log: log.New(&logs, "", 0)}, &logs
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestHitsCount(t *testing.T) {
	f := startFakeRedis(t)
	s, logs := newTestServer(f.ln.Addr().String())
	h := s.routes()
	for i := 1; i <= 3; i++ {
		code, body := get(t, h, "/")
		if want := "hits: " + strconv.Itoa(i) + "\n"; code != http.StatusOK || body != want {
			t.Fatalf("GET / #%d = %d %q, want 200 %q", i, code, body, want)
		}
	}
	if n := strings.Count(logs.String(), "GET / 200"); n != 3 {
		t.Fatalf("want 3 log lines for GET /, got %d:\n%s", n, logs.String())
	}
}

func TestHealthz(t *testing.T) {
	f := startFakeRedis(t)
	s, _ := newTestServer(f.ln.Addr().String())
	if code, body := get(t, s.routes(), "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("GET /healthz = %d %q, want 200 ok", code, body)
	}
}

func TestRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s, logs := newTestServer(addr)
	h := s.routes()
	for _, path := range []string{"/", "/healthz"} {
		if code, body := get(t, h, path); code != http.StatusServiceUnavailable || !strings.Contains(body, addr) {
			t.Errorf("GET %s with redis down = %d %q, want 503 naming %s", path, code, body, addr)
		}
	}
	if !strings.Contains(logs.String(), "GET /healthz 503") || !strings.Contains(logs.String(), "from 192.0.2.1: redis "+addr) {
		t.Errorf("log lacks the failed request and its reason:\n%s", logs.String())
	}
}

func TestUnknownPath(t *testing.T) {
	s, _ := newTestServer("127.0.0.1:1")
	if code, _ := get(t, s.routes(), "/nope"); code != http.StatusNotFound {
		t.Fatalf("GET /nope = %d, want 404", code)
	}
}

func TestProbe(t *testing.T) {
	f := startFakeRedis(t)
	s, _ := newTestServer(f.ln.Addr().String())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, addr, s.routes()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	var perr error
	for range 100 { // until the listener is up
		if perr = probe(addr); perr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if perr != nil {
		t.Fatalf("probe of a healthy server: %v", perr)
	}
	f.ln.Close() // redis goes away: the server turns unhealthy
	if err := probe(addr); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("probe with redis down = %v, want a 503 error", err)
	}
}

func TestProbeBadListenAddr(t *testing.T) {
	if err := probe("8080"); err == nil || !strings.Contains(err.Error(), "LISTEN_ADDR") {
		t.Fatalf("probe(\"8080\") = %v, want an error naming LISTEN_ADDR", err)
	}
}
