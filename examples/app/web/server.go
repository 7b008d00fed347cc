package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

// server holds the handlers' dependencies.
type server struct {
	redis redisClient
	log   *log.Logger
}

// routes returns the app's handler, logging one line per request.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.hits)
	mux.HandleFunc("GET /healthz", s.healthz)
	return s.logged(mux)
}

// hits increments the "hits" counter and reports it.
func (s *server) hits(w http.ResponseWriter, r *http.Request) {
	v, err := s.redis.do(r.Context(), "INCR", "hits")
	if err != nil {
		fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	n, ok := v.(int64)
	if !ok {
		fail(w, http.StatusBadGateway, fmt.Sprintf("INCR returned %T", v))
		return
	}
	fmt.Fprintf(w, "hits: %d\n", n)
}

// healthz answers 200 when Redis answers PING.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	v, err := s.redis.do(r.Context(), "PING")
	if err != nil {
		fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if v != "PONG" {
		fail(w, http.StatusServiceUnavailable, fmt.Sprintf("PING returned %v", v))
		return
	}
	fmt.Fprintln(w, "ok")
}

// fail answers with an error and hands its text to the request log.
func fail(w http.ResponseWriter, code int, msg string) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.err = msg
	}
	http.Error(w, msg, code)
}

// statusRecorder remembers the status code and error a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	err    string
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logged writes "METHOD PATH STATUS DURATION from CLIENT[: ERROR]" per request.
func (s *server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		client, _, _ := net.SplitHostPort(r.RemoteAddr)
		line := fmt.Sprintf("%s %s %d %s from %s", r.Method, r.URL.Path, rec.status,
			time.Since(start).Round(time.Microsecond), client)
		if rec.err != "" {
			line += ": " + rec.err
		}
		s.log.Print(line)
	})
}

// splitPort splits a listen address like ":8080" or "0.0.0.0:8080".
func splitPort(listen string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(listen)
	if err != nil {
		return "", "", fmt.Errorf("LISTEN_ADDR %q: %w", listen, err)
	}
	return host, port, nil
}
