package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/lockfile"
)

// The name index: <Root>/.names/<name> is a symbolic link to the id of the
// container holding that name, so finding a container by name reads one link
// and one config instead of every container's config (a compose project of
// N services did O(N) config reads per create).
//
// Create writes the link before the container's directory and Remove
// deletes it after, all under .names.lock, so the index never misses a
// container. A link whose container is gone or now has another name (a
// create, remove or rename interrupted half-way) is stale: lookups check the
// config and ignore it, and the next Create or Rename of that name replaces
// it.
const namesDir = ".names"

func (m *Manager) namesLock() string           { return filepath.Join(m.opts.Root, ".names.lock") }
func (m *Manager) nameLink(name string) string { return filepath.Join(m.opts.Root, namesDir, name) }

// idByName returns the id of the container named name, or "".
func (m *Manager) idByName(name string) string {
	id, err := os.Readlink(m.nameLink(name))
	if err != nil || !idPattern.MatchString(id) {
		return ""
	}
	var sc storedConfig
	if atomicfile.ReadJSON(m.configPath(id), &sc) != nil || sc.Name != name {
		return "" // stale
	}
	return id
}

// linkName points name at id, replacing a stale link. Callers hold the
// names lock and have checked that name is free.
func (m *Manager) linkName(name, id string) error {
	link := m.nameLink(name)
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Symlink(id, link)
}

// unlinkName removes name's link if it still points at id (the name may
// have been taken by another container since). Callers hold the names lock.
func (m *Manager) unlinkName(name, id string) {
	if got, err := os.Readlink(m.nameLink(name)); err == nil && got == id {
		os.Remove(m.nameLink(name))
	}
}

// releaseName is unlinkName under the names lock, for Remove.
func (m *Manager) releaseName(ctx context.Context, name, id string) {
	nl, err := lockfile.Lock(context.WithoutCancel(ctx), m.namesLock())
	if err != nil {
		return // a stale link is harmless
	}
	defer nl.Unlock()
	m.unlinkName(name, id)
}

// ensureNameIndex builds the index of a root made before it existed, once:
// into a temporary directory renamed into place, under the names lock.
func (m *Manager) ensureNameIndex() error {
	dir := filepath.Join(m.opts.Root, namesDir)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	nl, err := lockfile.Lock(context.Background(), m.namesLock())
	if err != nil {
		return err
	}
	defer nl.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(m.opts.Root, namesDir+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	for _, id := range m.ids() {
		var sc storedConfig
		if atomicfile.ReadJSON(m.configPath(id), &sc) != nil || sc.Name == "" {
			continue
		}
		if err := os.Symlink(id, filepath.Join(tmp, sc.Name)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("name index: %w", err)
	}
	return nil
}
