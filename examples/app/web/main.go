// Command web is the web service of the examples/app compose project: it
// counts hits in Redis and answers GET / with "hits: N".
//
// Environment: REDIS_ADDR (default "redis:6379"), LISTEN_ADDR (default
// ":8080"). `web -healthcheck` asks the running server's /healthz and exits 0
// when it is healthy, so an image without a shell can still have a healthcheck.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "probe the running server's /healthz and exit 0 if healthy")
	flag.Parse()
	listen := envOr("LISTEN_ADDR", ":8080")
	if *healthcheck {
		if err := probe(listen); err != nil {
			fmt.Fprintln(os.Stderr, "web: unhealthy:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := log.New(os.Stdout, "", log.LstdFlags)
	s := &server{redis: redisClient{addr: envOr("REDIS_ADDR", "redis:6379"), timeout: 2 * time.Second}, log: logger}
	if err := serve(ctx, listen, s.routes()); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

// serve runs the HTTP server until ctx is cancelled, then drains it.
func serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(os.Stdout, "web: listening on %s\n", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// probe asks the local server's /healthz.
func probe(listen string) error {
	_, port, err := splitPort(listen)
	if err != nil {
		return err
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz: %s", resp.Status)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
