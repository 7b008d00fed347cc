package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// RemoveOptions are the options of Remove.
type RemoveOptions struct {
	Force bool
	// InUse reports whether a container uses the image; nil means never.
	InUse func(imageID string) bool
}

// PruneOptions are the options of Prune.
type PruneOptions struct {
	All   bool // also images with names, not only dangling ones
	InUse func(imageID string) bool
}

// Remove removes a name or an image, with Docker's semantics: removing one
// of several names of an image only untags it; removing the last name, or
// the image by id, deletes the image and every layer no other image uses.
// An image with several names cannot be removed by id, and an image used by
// a container cannot lose its last name, unless Force (which untags but
// keeps an in-use image's content). It returns Docker's "Untagged: ..." and
// "Deleted: ..." lines.
func (s *Store) Remove(ctx context.Context, ref string, o RemoveOptions) ([]string, error) {
	gc, err := s.lockGC(ctx, true)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	l, err := s.lockMeta(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	id, err := s.resolve(ref, repos)
	if err != nil {
		return nil, err
	}
	inUse := o.InUse != nil && o.InUse(id)
	tags := namesOf(repos, id)
	if name, ok := tagName(ref, repos, id); ok {
		if len(tags) > 1 {
			delete(repos.Tags, name)
			return []string{"Untagged: " + familiar(name)}, s.writeReposLocked(repos)
		}
		if inUse && !o.Force {
			return nil, fmt.Errorf("image %q: unable to remove the last name of an image a container uses: remove the container or use --force: %w", ref, errdefs.ErrFailedPrecondition)
		}
	} else {
		if len(tags) > 1 && !o.Force {
			return nil, fmt.Errorf("image %q is referenced by several names (%s): remove them by name or use --force: %w", ref, strings.Join(familiarAll(tags), ", "), errdefs.ErrConflict)
		}
		if inUse && !o.Force {
			return nil, fmt.Errorf("image %q is used by a container: remove the container or use --force: %w", ref, errdefs.ErrFailedPrecondition)
		}
	}
	lines, _, err := s.deleteLocked(repos, id, inUse)
	return lines, err
}

// namesOf returns the tag and digest names of id, sorted.
func namesOf(repos *repositories, id string) []string {
	var out []string
	for n, i := range repos.Tags {
		if i == id {
			out = append(out, n)
		}
	}
	for n, i := range repos.Digests {
		if i == id {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func familiarAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = familiar(n)
	}
	return out
}

// tagName reports whether ref named id through a tag or digest, and which.
func tagName(ref string, repos *repositories, id string) (string, bool) {
	r, err := parseReference(ref)
	if err != nil {
		return "", false
	}
	name := r.String()
	if r.Digest != "" {
		name = r.Repo + "@" + r.Digest
		return name, repos.Digests[name] == id
	}
	return name, repos.Tags[name] == id
}

// deleteLocked untags id everywhere and, unless keep, deletes its record
// and sweeps unreferenced content. The caller holds gc.lock exclusively and
// the meta lock. It returns the output lines and the bytes reclaimed.
func (s *Store) deleteLocked(repos *repositories, id string, keep bool) ([]string, int64, error) {
	var lines []string
	for _, n := range namesOf(repos, id) {
		delete(repos.Tags, n)
		delete(repos.Digests, n)
		lines = append(lines, "Untagged: "+familiar(n))
	}
	if len(lines) > 0 {
		if err := s.writeReposLocked(repos); err != nil {
			return nil, 0, err
		}
	}
	if keep {
		return lines, 0, nil
	}
	if err := os.Remove(s.recordPath(id)); err != nil && !os.IsNotExist(err) {
		return lines, 0, fmt.Errorf("image %s: remove record: %w", id, err)
	}
	lines = append(lines, "Deleted: "+id)
	n, err := s.sweepLocked()
	return lines, n, err
}

// sweepLocked removes every snapshot and blob no image record references,
// and leftovers of interrupted writes. The caller holds gc.lock
// exclusively, so no import is in progress.
func (s *Store) sweepLocked() (int64, error) {
	recs, err := s.listRecords()
	if err != nil {
		return 0, err
	}
	blobs := map[string]bool{}
	snaps := map[string]bool{}
	for _, rec := range recs {
		blobs[strings.TrimPrefix(rec.ID, "sha256:")] = true
		diffIDs := make([]string, len(rec.Layers))
		for i, l := range rec.Layers {
			diffIDs[i] = l.DiffID
			blobs[strings.TrimPrefix(l.DiffID, "sha256:")] = true
		}
		for _, c := range ChainIDs(diffIDs) {
			snaps[strings.TrimPrefix(c, "sha256:")] = true
		}
	}
	var reclaimed int64
	var firstErr error
	note := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	sweepDir(filepath.Join(s.root, "snapshots"), snaps, func(p string, _ os.FileInfo) { note(os.RemoveAll(p)) })
	sweepDir(filepath.Join(s.root, "blobs", "sha256"), blobs, func(p string, fi os.FileInfo) {
		reclaimed += fi.Size()
		note(os.Remove(p))
	})
	sweepDir(filepath.Join(s.root, "tmp"), nil, func(p string, _ os.FileInfo) { note(os.RemoveAll(p)) })
	if firstErr != nil {
		return reclaimed, fmt.Errorf("image store sweep: %w", firstErr)
	}
	return reclaimed, nil
}

// sweepDir calls del for every entry of dir whose name is not in keep.
func sweepDir(dir string, keep map[string]bool, del func(string, os.FileInfo)) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if keep[e.Name()] {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		del(filepath.Join(dir, e.Name()), fi)
	}
}

// Prune removes dangling images (without names), or with All every image,
// leaving out images InUse reports. It returns the "Untagged:"/"Deleted:"
// lines and the bytes reclaimed.
func (s *Store) Prune(ctx context.Context, o PruneOptions) ([]string, int64, error) {
	gc, err := s.lockGC(ctx, true)
	if err != nil {
		return nil, 0, err
	}
	defer gc.Unlock()
	l, err := s.lockMeta(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer l.Unlock()
	repos, err := s.readRepos()
	if err != nil {
		return nil, 0, err
	}
	recs, err := s.listRecords()
	if err != nil {
		return nil, 0, err
	}
	var lines []string
	var total int64
	for _, rec := range recs {
		if (!o.All && len(namesOf(repos, rec.ID)) > 0) || (o.InUse != nil && o.InUse(rec.ID)) {
			continue
		}
		out, n, err := s.deleteLocked(repos, rec.ID, false)
		lines, total = append(lines, out...), total+n
		if err != nil {
			return lines, total, err
		}
	}
	return lines, total, nil
}
