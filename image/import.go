package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// ImportOptions are the options of Import.
type ImportOptions struct {
	Ref     string   // name[:tag] to give the image; "" leaves it untagged
	Changes []string // Dockerfile-style lines, see ParseChanges
	Message string   // history comment; default "Imported from <Source>"
	Source  string   // where the tar came from, for the default message ("-" for stdin)
}

// CommitOptions are the options of Commit.
type CommitOptions struct {
	Ref     string
	Author  string
	Message string
	Changes []string
	Config  *ImageConfig // replaces the parent's config before Changes apply
	// CreatedBy is the history entry's created_by (e.g. the container's command).
	CreatedBy string
}

// Import makes a one-layer image from a root filesystem tar (plain, gzip,
// zstd or bzip2), like `docker import`.
func (s *Store) Import(ctx context.Context, r io.Reader, o ImportOptions) (*Image, error) {
	if o.Ref != "" {
		if _, err := parseReference(o.Ref); err != nil {
			return nil, err
		}
	}
	cfg, err := ParseChanges(o.Changes, ImageConfig{})
	if err != nil {
		return nil, err
	}
	gc, err := s.lockGC(ctx, false)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	layer, err := s.writeLayer(ctx, r, false)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	comment := o.Message
	if comment == "" {
		src := o.Source
		if src == "" {
			src = "-"
		}
		comment = "Imported from " + src
	}
	now := time.Now().UTC()
	cf := configFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      &now,
		Comment:      o.Message,
		RootFS:       rootFS{Type: "layers", DiffIDs: []string{layer.DiffID}},
		History:      []historyEntry{{Created: &now, Comment: comment}},
	}
	cf.Config.apply(cfg)
	img, err := s.finish(ctx, &cf, []layerRecord{layer}, o.Ref)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return img, nil
}

// finish stores a new config and its layers and returns the image.
func (s *Store) finish(ctx context.Context, cf *configFile, layers []layerRecord, ref string) (*Image, error) {
	data, err := json.Marshal(cf)
	if err != nil {
		return nil, err
	}
	var refs []string
	if ref != "" {
		refs = []string{ref}
	}
	id, err := s.addImage(ctx, data, layers, refs)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Commit makes a new image from parentID ("" for none) plus the overlay
// upper directory upperDir as one more layer. Overlay whiteouts become
// ".wh." entries in the layer. With upperDir "" the new image only changes
// the config (an empty_layer history entry, as a Dockerfile's CMD or ENV).
func (s *Store) Commit(ctx context.Context, upperDir, parentID string, o CommitOptions) (*Image, error) {
	if o.Ref != "" {
		if _, err := parseReference(o.Ref); err != nil {
			return nil, err
		}
	}
	cf := configFile{Architecture: runtime.GOARCH, OS: "linux", RootFS: rootFS{Type: "layers"}}
	var layers []layerRecord
	if parentID != "" {
		repos, err := s.readRepos()
		if err != nil {
			return nil, err
		}
		if parentID, err = s.resolve(parentID, repos); err != nil {
			return nil, err
		}
		rec, err := s.readRecord(parentID)
		if err != nil {
			return nil, err
		}
		pcf, _, err := s.readConfig(parentID)
		if err != nil {
			return nil, err
		}
		cf, layers = *pcf, rec.Layers
		cf.Parent, cf.ContainerConfig, cf.DockerVersion = parentID, nil, ""
	}
	base := cf.Config.toImageConfig()
	if o.Config != nil {
		base = *o.Config
	}
	cfg, err := ParseChanges(o.Changes, base)
	if err != nil {
		return nil, err
	}
	cf.Config.apply(cfg)
	gc, err := s.lockGC(ctx, false)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	now := time.Now().UTC()
	cf.Created, cf.Author, cf.Comment = &now, o.Author, o.Message
	cf.History = append(append([]historyEntry(nil), cf.History...),
		historyEntry{Created: &now, Author: o.Author, Comment: o.Message, CreatedBy: o.CreatedBy, EmptyLayer: upperDir == ""})
	if upperDir != "" {
		layer, err := s.commitLayer(ctx, upperDir)
		if err != nil {
			return nil, err
		}
		cf.RootFS.DiffIDs = append(append([]string(nil), cf.RootFS.DiffIDs...), layer.DiffID)
		layers = append(append([]layerRecord(nil), layers...), layer)
	}
	img, err := s.finish(ctx, &cf, layers, o.Ref)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return img, nil
}

// commitLayer tars upperDir into a layer blob.
func (s *Store) commitLayer(ctx context.Context, upperDir string) (layerRecord, error) {
	if fi, err := os.Stat(upperDir); err != nil || !fi.IsDir() {
		return layerRecord{}, fmt.Errorf("commit: upper dir %q: %w", upperDir, errdefs.ErrNotFound)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTree(ctx, pw, upperDir, true)) }()
	layer, err := s.writeLayer(ctx, pr, true)
	pr.CloseWithError(err)
	if err != nil {
		return layer, fmt.Errorf("commit %s: %w", upperDir, err)
	}
	return layer, nil
}

// Layers returns the snapshot directories of an image's layers, TOP FIRST
// (overlay lowerdir order), unpacking any that are missing.
func (s *Store) Layers(ctx context.Context, imageID string) ([]string, error) {
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	id, err := s.resolve(imageID, repos)
	if err != nil {
		return nil, err
	}
	gc, err := s.lockGC(ctx, false)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	rec, err := s.readRecord(id)
	if err != nil {
		return nil, err
	}
	diffIDs := make([]string, len(rec.Layers))
	for i, l := range rec.Layers {
		diffIDs[i] = l.DiffID
	}
	chains := ChainIDs(diffIDs)
	out := make([]string, len(chains))
	for i, c := range chains {
		if err := s.ensureSnapshot(ctx, c, diffIDs[i]); err != nil {
			return nil, fmt.Errorf("image %s: %w", id, err)
		}
		out[len(chains)-1-i] = s.snapshotPath(c)
	}
	return out, nil
}
