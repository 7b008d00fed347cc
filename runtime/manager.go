package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/layout"
	"github.com/berth/berth/internal/lockfile"
)

// Manager creates and operates containers under one root. It holds no
// state in memory: every method reads the disk, so any number of berth
// processes may use the same root at once.
type Manager struct {
	opts Options
	// exits are the exit codes (int) by id of containers whose attached
	// Start in this process saw them exit: Wait still returns them once
	// the container was removed (run --rm: its exit hook may remove it
	// before the CLI asks).
	exits sync.Map
}

// New returns a Manager for o, creating its directories.
func New(o Options) (*Manager, error) {
	if o.Root == "" || o.RunRoot == "" || o.LibcontainerRoot == "" {
		return nil, fmt.Errorf("runtime: Root, RunRoot and LibcontainerRoot must be set: %w", errdefs.ErrInvalidArgument)
	}
	for _, d := range []string{o.Root, o.RunRoot, o.LibcontainerRoot} {
		if err := layout.MkdirSpread(d); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	if err := os.Mkdir(seccompMemoDir(o.RunRoot), 0o700); err != nil && !os.IsExist(err) {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	m := &Manager{opts: o}
	if err := m.ensureNameIndex(); err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return m, nil
}

// storedConfig is config.json: the Spec plus the creation time.
type storedConfig struct {
	Spec
	Created time.Time
}

func (m *Manager) dir(id string) string        { return filepath.Join(m.opts.Root, id) }
func (m *Manager) runDir(id string) string     { return filepath.Join(m.opts.RunRoot, id) }
func (m *Manager) configPath(id string) string { return filepath.Join(m.dir(id), "config.json") }
func (m *Manager) statePath(id string) string  { return filepath.Join(m.dir(id), "state.json") }
func (m *Manager) lockPath(id string) string   { return filepath.Join(m.dir(id), ".lock") }
func (m *Manager) rootfsDir(id string) string  { return filepath.Join(m.runDir(id), "rootfs") }
func (m *Manager) monitorLockPath(id string) string {
	return filepath.Join(m.runDir(id), "monitor.lock")
}

// LogPath is the container's json-file log.
func (m *Manager) LogPath(id string) string {
	return filepath.Join(m.dir(id), id+"-json.log")
}

// UpperDir is the container's overlay upper dir (its changes to the image),
// for commit.
func (m *Manager) UpperDir(id string) string { return filepath.Join(m.dir(id), "upper") }

func (m *Manager) workDir(id string) string { return filepath.Join(m.dir(id), "work") }

// AttachSocket is the monitor's attach socket of the container.
func (m *Manager) AttachSocket(id string) string { return filepath.Join(m.runDir(id), "attach.sock") }

var (
	idPattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lock takes the container's lock; callers of *Locked functions hold it.
func (m *Manager) lock(ctx context.Context, id string) (*lockfile.Handle, error) {
	if _, err := os.Stat(m.dir(id)); err != nil {
		return nil, fmt.Errorf("container %q: %w", id, errdefs.ErrNotFound)
	}
	return lockfile.Lock(ctx, m.lockPath(id))
}

// Create stores a new container from spec. An empty ID gets a random 64-hex
// one; an empty Name gets a generated one. A Name in use fails with
// ErrAlreadyExists.
func (m *Manager) Create(ctx context.Context, spec Spec) (*Container, error) {
	if len(spec.Process.Args) == 0 {
		return nil, fmt.Errorf("container %q: no command given: %w", spec.Name, errdefs.ErrInvalidArgument)
	}
	if spec.ID == "" {
		spec.ID = newID()
	}
	if !idPattern.MatchString(spec.ID) {
		return nil, fmt.Errorf("container id %q: must be 64 lower-case hex digits: %w", spec.ID, errdefs.ErrInvalidArgument)
	}
	spec.Name = strings.TrimPrefix(spec.Name, "/")
	if spec.Name == "" {
		spec.Name = generateName(spec.ID)
	}
	if !namePattern.MatchString(spec.Name) {
		return nil, fmt.Errorf("invalid container name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", spec.Name, errdefs.ErrInvalidArgument)
	}
	warnings, err := toOCISpecCheck(spec)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", spec.Name, err)
	}
	nl, err := lockfile.Lock(ctx, m.namesLock())
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", spec.Name, err)
	}
	defer nl.Unlock()
	if other := m.idByName(spec.Name); other != "" {
		return nil, fmt.Errorf("container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name: %w",
			"/"+spec.Name, other, errdefs.ErrAlreadyExists)
	}
	if _, err := os.Lstat(m.dir(spec.ID)); err == nil {
		return nil, fmt.Errorf("container id %q: %w", spec.ID, errdefs.ErrAlreadyExists)
	}
	// The link first: a container is never without it (see names.go).
	if err := m.linkName(spec.Name, spec.ID); err != nil {
		return nil, fmt.Errorf("container %q: name index: %w", spec.Name, err)
	}
	if err := os.Mkdir(m.dir(spec.ID), 0o711); err != nil {
		m.unlinkName(spec.Name, spec.ID)
		if os.IsExist(err) {
			return nil, fmt.Errorf("container id %q: %w", spec.ID, errdefs.ErrAlreadyExists)
		}
		return nil, fmt.Errorf("container %q: %w", spec.Name, err)
	}
	c := &Container{ID: spec.ID, Name: spec.Name, Created: time.Now().UTC(), Spec: spec, State: State{Status: StatusCreated}, Warnings: warnings}
	// No state.json yet: a container without one is a created one (load),
	// which saves a file and its two fsyncs per create.
	err = atomicfile.WriteJSON(m.configPath(spec.ID), storedConfig{Spec: spec, Created: c.Created}, 0o600)
	if err != nil {
		os.RemoveAll(m.dir(spec.ID))
		m.unlinkName(spec.Name, spec.ID)
		return nil, fmt.Errorf("container %q: store: %w", spec.Name, err)
	}
	return c, nil
}

func (m *Manager) ids() []string {
	ents, _ := os.ReadDir(m.opts.Root)
	var ids []string
	for _, e := range ents {
		if e.IsDir() && idPattern.MatchString(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

func (m *Manager) writeState(id string, s State) error {
	return atomicfile.WriteJSON(m.statePath(id), s, 0o600)
}

// resolve turns a name, full id or unique id prefix into an id.
func (m *Manager) resolve(ref string) (string, error) {
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" {
		return "", fmt.Errorf("empty container reference: %w", errdefs.ErrInvalidArgument)
	}
	if idPattern.MatchString(ref) {
		if _, err := os.Stat(m.configPath(ref)); err == nil {
			return ref, nil
		}
	}
	if id := m.idByName(ref); id != "" {
		return id, nil
	}
	var found []string
	for _, id := range m.ids() {
		if strings.HasPrefix(id, ref) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", errdefs.Errorf(errdefs.ErrNotFound, "no such container: %s", ref)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("container reference %q is ambiguous (%d matches): use more of the id or the name: %w", ref, len(found), errdefs.ErrInvalidArgument)
	}
}

// load reads a container by id, without checking its monitor.
func (m *Manager) load(id string) (*Container, error) {
	var sc storedConfig
	if err := atomicfile.ReadJSON(m.configPath(id), &sc); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errdefs.Errorf(errdefs.ErrNotFound, "no such container: %s", id)
		}
		return nil, fmt.Errorf("container %s: read config: %w", id, err)
	}
	c := &Container{ID: id, Name: sc.Name, Created: sc.Created, Spec: sc.Spec}
	if err := atomicfile.ReadJSON(m.statePath(id), &c.State); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %s: read state: %w", id, err)
	}
	if c.State.Status == "" {
		c.State.Status = StatusCreated
	}
	return c, nil
}

// Get returns the container named ref (name, full id or unique id prefix).
// A container whose monitor died shows as exited with code 255 and Error
// "monitor died".
func (m *Manager) Get(ctx context.Context, ref string) (*Container, error) {
	id, err := m.resolve(ref)
	if err != nil {
		return nil, err
	}
	c, err := m.load(id)
	if err != nil {
		return nil, err
	}
	m.checkMonitor(c)
	return c, nil
}

// List returns every container, newest first.
func (m *Manager) List(ctx context.Context) ([]*Container, error) {
	var out []*Container
	for _, id := range m.ids() {
		c, err := m.load(id)
		if err != nil {
			if errdefs.IsNotFound(err) {
				continue // removed meanwhile
			}
			return nil, err
		}
		m.checkMonitor(c)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// monitorAlive reports whether a monitor holds the container's monitor lock.
func (m *Manager) monitorAlive(id string) bool {
	h, ok, err := lockfile.TryLock(m.monitorLockPath(id))
	if err != nil {
		return false
	}
	if ok {
		h.Unlock()
		return false
	}
	return true
}

// checkMonitor marks c exited when its state says running but no monitor
// holds its lock (the monitor was killed). The state on disk is fixed too.
func (m *Manager) checkMonitor(c *Container) {
	if !c.State.Running() || m.monitorAlive(c.ID) {
		return
	}
	// Re-read under the lock: the monitor may have just finished cleanly.
	h, err := lockfile.Lock(context.Background(), m.lockPath(c.ID))
	if err != nil {
		return
	}
	defer h.Unlock()
	var s State
	if atomicfile.ReadJSON(m.statePath(c.ID), &s) == nil && !s.Running() {
		c.State = s
		return
	}
	if m.monitorAlive(c.ID) {
		return
	}
	c.State.Status = StatusExited
	c.State.ExitCode = 255
	c.State.Error = "monitor died"
	c.State.Pid = 0
	if c.State.FinishedAt.IsZero() {
		c.State.FinishedAt = time.Now().UTC()
	}
	m.writeState(c.ID, c.State)
}

// Rename changes a container's name.
func (m *Manager) Rename(ctx context.Context, ref, name string) error {
	name = strings.TrimPrefix(name, "/")
	if !namePattern.MatchString(name) {
		return fmt.Errorf("invalid container name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", name, errdefs.ErrInvalidArgument)
	}
	id, err := m.resolve(ref)
	if err != nil {
		return err
	}
	nl, err := lockfile.Lock(ctx, m.namesLock())
	if err != nil {
		return err
	}
	defer nl.Unlock()
	if other := m.idByName(name); other != "" && other != id {
		return errdefs.Errorf(errdefs.ErrAlreadyExists, "container name %q is already in use by container %q", "/"+name, other)
	}
	h, err := m.lock(ctx, id)
	if err != nil {
		return err
	}
	defer h.Unlock()
	var sc storedConfig
	if err := atomicfile.ReadJSON(m.configPath(id), &sc); err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	old := sc.Name
	if old == name {
		return nil
	}
	if err := m.linkName(name, id); err != nil {
		return fmt.Errorf("container %s: name index: %w", id, err)
	}
	sc.Name = name
	if err := atomicfile.WriteJSON(m.configPath(id), sc, 0o600); err != nil {
		m.unlinkName(name, id)
		return err
	}
	m.unlinkName(old, id)
	return nil
}

// updateState applies f to the container's state under its lock.
func (m *Manager) updateState(ctx context.Context, id string, f func(*State)) (State, error) {
	return m.updateStateSync(ctx, id, f, true)
}

// updateStateVolatile is updateState for facts that need not survive a
// power loss, because nothing they say outlives one: that the container
// runs (after a crash its monitor's lock is free, which reads as exited)
// or how its last probes went. The file is still replaced atomically, so a
// killed writer never leaves it torn; it is only not fsynced.
func (m *Manager) updateStateVolatile(ctx context.Context, id string, f func(*State)) (State, error) {
	return m.updateStateSync(ctx, id, f, false)
}

func (m *Manager) updateStateSync(ctx context.Context, id string, f func(*State), sync bool) (State, error) {
	h, err := m.lock(ctx, id)
	if err != nil {
		return State{}, err
	}
	defer h.Unlock()
	var s State
	if err := atomicfile.ReadJSON(m.statePath(id), &s); err != nil && !errors.Is(err, os.ErrNotExist) {
		return s, err
	}
	f(&s)
	if !sync {
		return s, atomicfile.WriteJSONNoSync(m.statePath(id), s, 0o600)
	}
	return s, m.writeState(id, s)
}

var (
	adjectives = []string{"brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lucid", "merry", "nifty", "proud", "quiet", "sharp", "witty", "zen"}
	nouns      = []string{"albatross", "beacon", "cove", "dinghy", "ferry", "galley", "harbor", "jetty", "keel", "lighthouse", "mooring", "pier", "quay", "schooner", "tide", "wharf"}
)

// generateName makes a Docker-like name from the id.
func generateName(id string) string {
	b, _ := hex.DecodeString(id[:4])
	return adjectives[int(b[0])%len(adjectives)] + "_" + nouns[int(b[1])%len(nouns)] + "_" + id[4:8]
}
