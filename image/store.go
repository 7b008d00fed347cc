package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/internal/atomicfile"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/internal/lockfile"
)

// Options configures a Store. The zero value uses /var/lib/berth/image.
type Options struct {
	Root string // the store's directory (layout.Images())
}

// Store is an image store rooted at one directory. It is safe for use by
// several goroutines and several processes at once.
type Store struct {
	root string
}

// record is what the store keeps per image besides its config blob.
type record struct {
	ID     string        `json:"id"`
	Layers []layerRecord `json:"layers"` // bottom first
	Added  time.Time     `json:"added"`
}

type layerRecord struct {
	DiffID string `json:"diffID"` // also the blob digest: layers are stored uncompressed
	Size   int64  `json:"size"`   // bytes of file content in the layer
}

// repositories maps fully qualified names to image ids.
type repositories struct {
	Tags    map[string]string `json:"tags"`              // "docker.io/library/busybox:latest" -> id
	Digests map[string]string `json:"digests,omitempty"` // "repo@sha256:..." -> id
}

// New opens (creating if needed) the store at o.Root.
func New(o Options) (*Store, error) {
	root := o.Root
	if root == "" {
		root = "/var/lib/berth/image"
	}
	for _, d := range []string{"blobs/sha256", "images", "snapshots", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("image store %q: %w", root, err)
		}
	}
	return &Store{root: root}, nil
}

func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.root, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func (s *Store) recordPath(id string) string {
	return filepath.Join(s.root, "images", strings.TrimPrefix(id, "sha256:")+".json")
}

func (s *Store) snapshotPath(chainID string) string {
	return filepath.Join(s.root, "snapshots", strings.TrimPrefix(chainID, "sha256:"))
}

func (s *Store) reposPath() string { return filepath.Join(s.root, "repositories.json") }

// lockMeta takes the exclusive lock for record and tag writes.
func (s *Store) lockMeta(ctx context.Context) (*lockfile.Handle, error) {
	l, err := lockfile.Lock(ctx, filepath.Join(s.root, "lock"))
	if err != nil {
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	return l, nil
}

// lockGC takes gc.lock: shared for anything that adds content, exclusive
// for anything that deletes it.
func (s *Store) lockGC(ctx context.Context, exclusive bool) (*lockfile.Handle, error) {
	p := filepath.Join(s.root, "gc.lock")
	var l *lockfile.Handle
	var err error
	if exclusive {
		l, err = lockfile.Lock(ctx, p)
	} else {
		l, err = lockfile.RLock(ctx, p)
	}
	if err != nil {
		return nil, fmt.Errorf("image store gc lock: %w", err)
	}
	return l, nil
}

func (s *Store) readRepos() (*repositories, error) {
	r := &repositories{}
	if err := atomicfile.ReadJSON(s.reposPath(), r); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", s.reposPath(), err)
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	if r.Digests == nil {
		r.Digests = map[string]string{}
	}
	return r, nil
}

// writeReposLocked replaces repositories.json; the caller holds lockMeta.
func (s *Store) writeReposLocked(r *repositories) error {
	return atomicfile.WriteJSON(s.reposPath(), r, 0o600)
}

func (s *Store) readRecord(id string) (*record, error) {
	var rec record
	if err := atomicfile.ReadJSON(s.recordPath(id), &rec); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("image %q: %w", id, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("image %q: read record: %w", id, err)
	}
	return &rec, nil
}

func (s *Store) listRecords() ([]*record, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "images"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []*record
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		rec, err := s.readRecord("sha256:" + name)
		if errdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func (s *Store) readConfig(id string) (*configFile, []byte, error) {
	data, err := os.ReadFile(s.blobPath(id))
	if err != nil {
		return nil, nil, fmt.Errorf("image %q: config blob: %w", id, err)
	}
	var cf configFile
	if err := json.Unmarshal(data, &cf); err != nil {
		return nil, nil, fmt.Errorf("image %q: config blob: %w", id, err)
	}
	return &cf, data, nil
}

// image assembles the Image for a record, with its names from repos.
func (s *Store) image(rec *record, repos *repositories) (*Image, error) {
	cf, _, err := s.readConfig(rec.ID)
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, len(rec.Layers))
	for i, l := range rec.Layers {
		sizes[i] = l.Size
	}
	img := fromConfig(rec.ID, cf, sizes)
	for name, id := range repos.Tags {
		if id == rec.ID {
			img.RepoTags = append(img.RepoTags, familiar(name))
		}
	}
	for name, id := range repos.Digests {
		if id == rec.ID {
			img.RepoDigests = append(img.RepoDigests, familiar(name))
		}
	}
	sort.Strings(img.RepoTags)
	sort.Strings(img.RepoDigests)
	return img, nil
}

// Get finds an image by name[:tag], name@digest, full id ("sha256:<hex>" or
// <hex>) or unique id prefix. It fails with ErrNotFound when nothing
// matches and ErrInvalidArgument when an id prefix is ambiguous.
func (s *Store) Get(ctx context.Context, ref string) (*Image, error) {
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	id, err := s.resolve(ref, repos)
	if err != nil {
		return nil, err
	}
	rec, err := s.readRecord(id)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, errdefs.ErrNotFound)
	}
	return s.image(rec, repos)
}

// resolve maps a reference to an image id.
func (s *Store) resolve(ref string, repos *repositories) (string, error) {
	if r, err := parseReference(ref); err == nil {
		if r.Digest != "" {
			if id, ok := repos.Digests[r.Repo+"@"+r.Digest]; ok {
				return id, nil
			}
		} else if id, ok := repos.Tags[r.String()]; ok {
			return id, nil
		}
	}
	hex := strings.TrimPrefix(ref, "sha256:")
	if isHex(hex) {
		if len(hex) == 64 {
			if _, err := os.Stat(s.recordPath(hex)); err == nil {
				return "sha256:" + hex, nil
			}
		} else if id, err := s.resolvePrefix(ref, hex); err == nil || !errdefs.IsNotFound(err) {
			return id, err
		}
	}
	return "", notFound(ref)
}

func notFound(ref string) error {
	return fmt.Errorf("image %q: %w: import, load, pull or build it first", ref, errdefs.ErrNotFound)
}

func (s *Store) resolvePrefix(ref, hex string) (string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "images"))
	if err != nil {
		return "", fmt.Errorf("list images: %w", err)
	}
	var match string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !strings.HasPrefix(name, hex) {
			continue
		}
		if match != "" {
			return "", fmt.Errorf("image id prefix %q is ambiguous: give more characters: %w", ref, errdefs.ErrInvalidArgument)
		}
		match = "sha256:" + name
	}
	if match == "" {
		return "", notFound(ref)
	}
	return match, nil
}

// List returns every image, newest first.
func (s *Store) List(ctx context.Context) ([]*Image, error) {
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	recs, err := s.listRecords()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(recs))
	for _, rec := range recs {
		img, err := s.image(rec, repos)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while listing
			}
			return nil, err
		}
		out = append(out, img)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Tag gives the image src the name dst (name[:tag]); an existing dst moves
// to the new image, as in Docker.
func (s *Store) Tag(ctx context.Context, src, dst string) error {
	r, err := parseReference(dst)
	if err != nil {
		return err
	}
	if r.Digest != "" {
		return fmt.Errorf("tag %q: a tag cannot contain a digest: %w", dst, errdefs.ErrInvalidArgument)
	}
	l, err := s.lockMeta(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	repos, err := s.readRepos()
	if err != nil {
		return err
	}
	id, err := s.resolve(src, repos)
	if err != nil {
		return err
	}
	repos.Tags[r.String()] = id
	return s.writeReposLocked(repos)
}

// setTagsLocked points the given references at id; the caller holds lockMeta.
func (s *Store) setTagsLocked(id string, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	repos, err := s.readRepos()
	if err != nil {
		return err
	}
	for _, ref := range refs {
		r, err := parseReference(ref)
		if err != nil {
			return err
		}
		repos.Tags[r.String()] = id
	}
	return s.writeReposLocked(repos)
}
