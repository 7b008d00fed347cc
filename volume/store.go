package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/du"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

const (
	dataDir    = "_data"
	metaFile   = "volume.json"
	storeLock  = ".lock"
	trashPrefx = ".trash-"
)

// Options configure a Store. The zero value uses /var/lib/berth/volumes.
type Options struct {
	Root string // directory holding one subdirectory per volume (layout.Volumes())
}

// Store is the set of volumes under one root. It holds no state in memory:
// every call reads the disk, so several processes may share a root.
type Store struct {
	root string
}

// Volume describes one volume.
type Volume struct {
	Name       string
	Driver     string
	Mountpoint string // the host directory a container mounts (<root>/<name>/_data)
	Labels     map[string]string
	Options    map[string]string // driver options (type, device, o)
	CreatedAt  time.Time
	Anonymous  bool // created without a name, or labelled com.docker.volume.anonymous
}

// CreateOptions are the optional parts of a new volume.
type CreateOptions struct {
	Driver    string // "" or "local"
	Labels    map[string]string
	Options   map[string]string // local driver options: type, device, o
	Anonymous bool              // mark as anonymous (implied by an empty name)
}

// record is volume.json.
type record struct {
	Name      string            `json:"Name"`
	Driver    string            `json:"Driver"`
	Labels    map[string]string `json:"Labels,omitempty"`
	Options   map[string]string `json:"Options,omitempty"`
	CreatedAt time.Time         `json:"CreatedAt"`
}

// New returns the store rooted at o.Root, creating the directory.
func New(o Options) (*Store, error) {
	root := o.Root
	if root == "" {
		root = "/var/lib/berth/volumes"
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("volume store %q: %w", o.Root, err)
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("volume store: %w", err)
	}
	return &Store{root: root}, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) dir(name string) string { return filepath.Join(s.root, name) }

// lock takes the store-wide lock that serialises create, remove and prune.
func (s *Store) lock(ctx context.Context) (*lockfile.Handle, error) {
	l, err := lockfile.Lock(ctx, filepath.Join(s.root, storeLock))
	if err != nil {
		return nil, fmt.Errorf("lock volume store %q: %w", s.root, err)
	}
	return l, nil
}

// Create makes a volume. An empty name makes an anonymous volume with a
// random 64-hex name. Creating a name that exists returns the existing
// volume unchanged, as Docker does.
func (s *Store) Create(ctx context.Context, name string, o CreateOptions) (*Volume, error) {
	if o.Driver != "" && o.Driver != DefaultDriver {
		return nil, fmt.Errorf("volume driver %q: %w: only %q is supported", o.Driver, errdefs.ErrNotImplemented, DefaultDriver)
	}
	labels := maps.Clone(o.Labels)
	if name == "" {
		var err error
		if name, err = anonymousName(); err != nil {
			return nil, err
		}
		o.Anonymous = true
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := validateOptions(o.Options); err != nil {
		return nil, fmt.Errorf("volume %q: %w", name, err)
	}
	if o.Anonymous {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[AnonymousLabel] = ""
	}
	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if v, err := s.get(name); err == nil {
		return v, nil
	} else if !errdefs.IsNotFound(err) {
		return nil, err
	}
	return s.createLocked(name, labels, o.Options)
}

// createLocked writes a new volume; the store lock must be held. volume.json
// is written last: a volume without it does not exist and is overwritten.
func (s *Store) createLocked(name string, labels, opts map[string]string) (*Volume, error) {
	dir := s.dir(name)
	if err := os.MkdirAll(filepath.Join(dir, dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("volume %q: %w", name, err)
	}
	rec := record{Name: name, Driver: DefaultDriver, Labels: labels, Options: maps.Clone(opts),
		CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if err := atomicfile.WriteJSON(filepath.Join(dir, metaFile), rec, 0o600); err != nil {
		return nil, fmt.Errorf("volume %q: %w", name, err)
	}
	return s.toVolume(rec), nil
}

func (s *Store) toVolume(r record) *Volume {
	_, anon := r.Labels[AnonymousLabel]
	v := &Volume{Name: r.Name, Driver: r.Driver, Mountpoint: filepath.Join(s.dir(r.Name), dataDir),
		Labels: r.Labels, Options: r.Options, CreatedAt: r.CreatedAt, Anonymous: anon}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if v.Options == nil {
		v.Options = map[string]string{}
	}
	if v.Driver == "" {
		v.Driver = DefaultDriver
	}
	return v
}

// Get returns the named volume, or an ErrNotFound error.
func (s *Store) Get(ctx context.Context, name string) (*Volume, error) {
	if err := ValidateName(name); err != nil {
		return nil, fmt.Errorf("volume %q: %w", name, errdefs.ErrNotFound)
	}
	return s.get(name)
}

func (s *Store) get(name string) (*Volume, error) {
	var rec record
	if err := atomicfile.ReadJSON(filepath.Join(s.dir(name), metaFile), &rec); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("volume %q: %w", name, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("volume %q: read metadata: %w", name, err)
	}
	rec.Name = name
	return s.toVolume(rec), nil
}

// List returns every volume, sorted by name.
func (s *Store) List(ctx context.Context) ([]*Volume, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for _, e := range ents {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue
		}
		v, err := s.get(e.Name())
		if errdefs.IsNotFound(err) {
			continue // half-created or being removed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *Volume) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Remove deletes a volume and its data. inUse (may be nil) reports whether a
// container uses the volume; a volume in use is not removed
// (ErrFailedPrecondition). A volume mounted by Mount is unmounted first.
func (s *Store) Remove(ctx context.Context, name string, inUse func(name string) bool) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	if inUse != nil && inUse(name) {
		return fmt.Errorf("volume %q is in use: %w: remove the containers using it first", name, errdefs.ErrFailedPrecondition)
	}
	_, err = s.removeLocked(ctx, name, false)
	return err
}

// removeLocked unmounts and deletes a volume; the store lock must be held.
// With measure it returns the bytes the data used.
func (s *Store) removeLocked(ctx context.Context, name string, measure bool) (int64, error) {
	data := filepath.Join(s.dir(name), dataDir)
	if err := unmountData(data); err != nil {
		return 0, fmt.Errorf("volume %q: %w", name, err)
	}
	var size int64
	if measure {
		size, _ = du.Size(ctx, data)
	}
	// Rename first: the volume disappears at once, and a crash during the
	// deletion leaves only a trash directory the next removal sweeps.
	trash, err := os.MkdirTemp(s.root, trashPrefx)
	if err != nil {
		return 0, fmt.Errorf("volume %q: %w", name, err)
	}
	dst := filepath.Join(trash, name)
	if err := os.Rename(s.dir(name), dst); err != nil {
		os.Remove(trash)
		return 0, fmt.Errorf("remove volume %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return size, fmt.Errorf("remove volume %q data: %w", name, err)
	}
	s.sweepTrashLocked()
	return size, nil
}

// sweepTrashLocked deletes leftovers of interrupted removals.
func (s *Store) sweepTrashLocked() {
	ents, _ := os.ReadDir(s.root)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), trashPrefx) {
			os.RemoveAll(filepath.Join(s.root, e.Name()))
		}
	}
}

// PruneOptions select the volumes Prune removes.
type PruneOptions struct {
	All    bool     // also named volumes; by default only anonymous ones (Docker 23+)
	Labels []string // label filters, all must match (see MatchLabels)
}

// PruneReport is what Prune removed.
type PruneReport struct {
	Removed        []string
	SpaceReclaimed int64 // bytes
}

// Prune removes volumes no container uses (inUse may be nil): anonymous
// volumes only unless o.All, and only those matching every label filter.
func (s *Store) Prune(ctx context.Context, inUse func(name string) bool, o PruneOptions) (PruneReport, error) {
	var rep PruneReport
	for _, f := range o.Labels {
		if _, _, _, err := parseLabelFilter(f); err != nil {
			return rep, err
		}
	}
	l, err := s.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer l.Unlock()
	vols, err := s.List(ctx)
	if err != nil {
		return rep, err
	}
	for _, v := range vols {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if (!o.All && !v.Anonymous) || !MatchLabels(v.Labels, o.Labels) || (inUse != nil && inUse(v.Name)) {
			continue
		}
		n, err := s.removeLocked(ctx, v.Name, true)
		if err != nil {
			return rep, err
		}
		rep.Removed = append(rep.Removed, v.Name)
		rep.SpaceReclaimed += n
	}
	return rep, nil
}

// IsEmpty reports whether the volume's data directory has no entries; the
// first mount of an empty volume copies the image's content into it.
func (s *Store) IsEmpty(name string) (bool, error) {
	v, err := s.Get(context.Background(), name)
	if err != nil {
		return false, err
	}
	return dirEmpty(v.Mountpoint)
}

func dirEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// Size returns the bytes the volume's files use (hard links counted once).
func (s *Store) Size(ctx context.Context, name string) (int64, error) {
	v, err := s.Get(ctx, name)
	if err != nil {
		return 0, err
	}
	n, err := du.Size(ctx, v.Mountpoint)
	if err != nil {
		return 0, fmt.Errorf("volume %q size: %w", name, err)
	}
	return n, nil
}
