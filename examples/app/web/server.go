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
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	n, ok := v.(int64)
	if !ok {
		http.Error(w, fmt.Sprintf("INCR returned %T", v), http.StatusBadGateway)
		return
	}
	fmt.Fprintf(w, "hits: %d\n", n)
}

// healthz answers 200 when Redis answers PING.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	v, err := s.redis.do(r.Context(), "PING")
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if v != "PONG" {
		http.Error(w, fmt.Sprintf("PING returned %v", v), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logged writes "METHOD PATH STATUS DURATION from CLIENT" per request.
func (s *server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		client, _, _ := net.SplitHostPort(r.RemoteAddr)
		s.log.Printf("%s %s %d %s from %s", r.Method, r.URL.Path, rec.status,
			time.Since(start).Round(time.Microsecond), client)
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
