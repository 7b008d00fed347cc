package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// serveOptions are Serve's knobs; tests change them.
type serveOptions struct {
	Port       int           // 53
	UDPSockets int           // readers per address; 0 = number of CPUs
	IdleGrace  time.Duration // exit after this long without networks
	Poll       time.Duration // periodic stat of records.json (fsnotify fallback)
	ResolvConf string        // host resolv.conf for default upstreams
	try, total time.Duration // forwarding timeouts (0 = defaults)
}

func (o *serveOptions) defaults() {
	if o.Port == 0 {
		o.Port = 53
	}
	if o.UDPSockets == 0 {
		o.UDPSockets = runtime.NumCPU()
	}
	if o.IdleGrace == 0 {
		o.IdleGrace = 3 * time.Second
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
}

// Serve runs the DNS server for the snapshots in dir until ctx is done or
// no network has been left for a few seconds. It fails with
// ErrAlreadyExists when another server holds dir's lock.
func Serve(ctx context.Context, dir string) error {
	return serve(ctx, dir, serveOptions{})
}

// server is one running Serve.
type server struct {
	dir       string
	opt       serveOptions
	res       resolver
	listeners map[[4]byte]*listener
	pins      map[pinKey]string // interface first seen holding a gateway
	stamp     fileStamp
}

func serve(ctx context.Context, dir string, opt serveOptions) error {
	opt.defaults()
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("dns directory %s: %w", dir, err)
	}
	// Wait a little: Ensure and Stop probe the lock by taking it for a
	// moment, which must not make a starting server give up.
	lctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	lock, err := lockfile.Lock(lctx, filepath.Join(dir, serverLock))
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("dns server for %s: %w: another server holds %s", dir, errdefs.ErrAlreadyExists, serverLock)
	}
	if err != nil {
		return fmt.Errorf("dns server lock in %s: %w", dir, err)
	}
	defer lock.Unlock()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("dns server: watch %s: %w", dir, err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("dns server: watch %s: %w", dir, err)
	}
	s := &server{dir: dir, opt: opt, listeners: map[[4]byte]*listener{}, pins: map[pinKey]string{}}
	s.res.fwd.try, s.res.fwd.total = opt.try, opt.total
	defer s.closeAll()
	s.reload(ctx, true)
	pid := filepath.Join(dir, pidFile)
	if err := atomicfile.WriteFileNoSync(pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("dns server: write %s: %w", pid, err)
	}
	defer removeIfOurs(pid)
	return s.loop(ctx, w)
}

// loop reloads on file events and ticks until ctx ends or the server has
// had no network for IdleGrace.
func (s *server) loop(ctx context.Context, w *fsnotify.Watcher) error {
	tick := time.NewTicker(min(s.opt.Poll, s.opt.IdleGrace/2))
	defer tick.Stop()
	lastBusy := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("dns server: file watcher closed")
			}
			if filepath.Base(ev.Name) == recordsFile {
				s.reload(ctx, false)
			}
		case <-w.Errors:
			s.reload(ctx, false)
		case <-tick.C:
			s.reload(ctx, false)
		}
		if len(s.listeners) > 0 {
			lastBusy = time.Now()
			continue
		}
		if time.Since(lastBusy) >= s.opt.IdleGrace {
			s.reload(ctx, true) // last look, in case a writer just added a network
			if len(s.listeners) == 0 {
				return nil
			}
		}
	}
}

// reload swaps in the snapshot on disk if it changed (or force), then
// opens listeners for new gateways and closes those of removed ones. The
// sockets of unchanged networks are never touched.
func (s *server) reload(ctx context.Context, force bool) {
	st := stampOf(filepath.Join(s.dir, recordsFile))
	if !force && st == s.stamp && s.res.tbl.Load() != nil {
		s.reconcile(ctx) // bridges come and go; binds that failed are retried
		return
	}
	snap, err := ReadSnapshot(s.dir)
	if err != nil {
		slog.Warn("dns server: keeping the previous records", "err", err)
		return
	}
	s.stamp = st
	t := buildTable(snap, serverDefaults(s.opt.ResolvConf))
	s.res.tbl.Store(t)
	s.reconcile(ctx)
	loaded := filepath.Join(s.dir, loadedFile)
	if err := atomicfile.WriteFileNoSync(loaded, []byte(strconv.FormatUint(t.serial, 10)+"\n"), 0o644); err != nil {
		slog.Warn("dns server: write loaded serial", "err", err)
	}
}

// reconcile makes the listeners match the live networks of the current
// table: a network is live while its gateway address is on its bridge
// and no other process serves that address. The bridge is
// NetworkView.Bridge or, when the snapshot does not name it, the
// interface that held the address when the server first saw it. So a
// server whose networks were torn down without a snapshot update closes
// its sockets and exits, even when another root's new bridge gets the
// same address, and it never shares (SO_REUSEPORT) an address with
// another root's server.
func (s *server) reconcile(ctx context.Context) {
	t := s.res.tbl.Load()
	for key := range s.pins {
		if nt := t.byGateway[key.gw]; nt == nil || nt.name != key.network {
			delete(s.pins, key)
		}
	}
	live := map[[4]byte]bool{}
	for gw, nt := range t.byGateway {
		key := pinKey{nt.name, gw}
		bridge := nt.bridge
		if bridge == "" {
			bridge = s.pins[key]
		}
		live[gw] = gatewayLive(gw, bridge)
		if live[gw] && bridge == "" {
			s.pins[key] = interfaceWith(gw) // "" for addresses only routed locally (127.0.0.2)
		}
	}
	for gw, l := range s.listeners {
		if !live[gw] {
			l.close()
			delete(s.listeners, gw)
		}
	}
	for gw, nt := range t.byGateway {
		if s.listeners[gw] != nil || !live[gw] {
			continue
		}
		if portTaken(gw, s.opt.Port) {
			slog.Warn("dns server: address served by another process", "gateway", netip.AddrFrom4(gw), "network", nt.name)
			continue
		}
		l, err := openListener(ctx, gw, s.opt.Port, s.opt.UDPSockets, &netHandler{r: &s.res, gw: gw})
		if err != nil {
			slog.Warn("dns server: listener", "err", err)
			continue
		}
		s.listeners[gw] = l
	}
}

// pinKey names one network's gateway for the interface pins.
type pinKey struct {
	network string
	gw      [4]byte
}

func (s *server) closeAll() {
	for gw, l := range s.listeners {
		l.close()
		delete(s.listeners, gw)
	}
}

// fileStamp identifies one version of a file cheaply.
type fileStamp struct {
	ino   uint64
	size  int64
	mtime int64
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
}

// removeIfOurs removes a pid file that still names this process.
func removeIfOurs(path string) {
	data, err := os.ReadFile(path)
	if err == nil && string(data) == strconv.Itoa(os.Getpid())+"\n" {
		os.Remove(path)
	}
}
