package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// savedImage is one image to write, with the names to record for it.
type savedImage struct {
	rec   *record
	names []string // fully qualified
}

// Save writes the images refs name (names, ids or id prefixes) to w as a
// tar in `docker save` format (manifest.json, repositories) that is also an
// OCI image layout (index.json, oci-layout, blobs/sha256), so both Docker
// and OCI tools can load it. A name is recorded for images given by name.
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string) error {
	repos, err := s.readRepos()
	if err != nil {
		return err
	}
	var imgs []*savedImage
	byID := map[string]*savedImage{}
	for _, ref := range refs {
		id, err := s.resolve(ref, repos)
		if err != nil {
			return err
		}
		si := byID[id]
		if si == nil {
			rec, err := s.readRecord(id)
			if err != nil {
				return err
			}
			si = &savedImage{rec: rec}
			byID[id] = si
			imgs = append(imgs, si)
		}
		if name, ok := tagName(ref, repos, id); ok && !strings.Contains(name, "@") {
			si.names = append(si.names, name)
		}
	}
	tw := tar.NewWriter(w)
	if err := s.writeSaved(ctx, tw, imgs); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return tw.Close()
}

func (s *Store) writeSaved(ctx context.Context, tw *tar.Writer, imgs []*savedImage) error {
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	written := map[string]bool{}
	var manifests []dockerManifest
	idx := ociIndex{SchemaVersion: 2, MediaType: mediaOCIIndex}
	legacy := map[string]map[string]string{}
	for _, si := range imgs {
		dm, desc, err := s.writeImageBlobs(ctx, tw, si.rec, written)
		if err != nil {
			return err
		}
		for _, n := range si.names {
			dm.RepoTags = append(dm.RepoTags, familiar(n))
			r, _ := parseReference(n)
			d := desc
			d.Annotations = map[string]string{annotationName: n, annotationRefName: r.Tag}
			idx.Manifests = append(idx.Manifests, d)
			repo := familiar(r.Repo)
			if legacy[repo] == nil {
				legacy[repo] = map[string]string{}
			}
			if len(si.rec.Layers) > 0 {
				legacy[repo][r.Tag] = strings.TrimPrefix(si.rec.Layers[len(si.rec.Layers)-1].DiffID, "sha256:")
			}
		}
		if len(si.names) == 0 {
			idx.Manifests = append(idx.Manifests, desc)
		}
		manifests = append(manifests, dm)
	}
	files := []struct {
		name string
		v    any
	}{
		{"index.json", idx},
		{"manifest.json", manifests},
		{"oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"}},
		{"repositories", legacy},
	}
	for _, f := range files {
		data, err := json.Marshal(f.v)
		if err != nil {
			return err
		}
		if err := writeTarFile(tw, f.name, data); err != nil {
			return err
		}
	}
	return nil
}

// writeImageBlobs writes an image's layers, config and OCI manifest as
// blobs (skipping ones already written) and returns its manifest.json entry
// and the manifest's descriptor.
func (s *Store) writeImageBlobs(ctx context.Context, tw *tar.Writer, rec *record, written map[string]bool) (dockerManifest, descriptor, error) {
	dm := dockerManifest{Config: "blobs/sha256/" + strings.TrimPrefix(rec.ID, "sha256:")}
	m := ociManifest{SchemaVersion: 2, MediaType: mediaOCIManifest}
	for _, l := range rec.Layers {
		size, err := s.copyBlob(ctx, tw, l.DiffID, written)
		if err != nil {
			return dm, descriptor{}, err
		}
		dm.Layers = append(dm.Layers, "blobs/sha256/"+strings.TrimPrefix(l.DiffID, "sha256:"))
		m.Layers = append(m.Layers, descriptor{MediaType: mediaOCILayer, Digest: l.DiffID, Size: size})
	}
	size, err := s.copyBlob(ctx, tw, rec.ID, written)
	if err != nil {
		return dm, descriptor{}, err
	}
	m.Config = descriptor{MediaType: mediaOCIConfig, Digest: rec.ID, Size: size}
	data, err := json.Marshal(m)
	if err != nil {
		return dm, descriptor{}, err
	}
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if !written[digest] {
		written[digest] = true
		if err := writeTarFile(tw, "blobs/sha256/"+hex.EncodeToString(sum[:]), data); err != nil {
			return dm, descriptor{}, err
		}
	}
	return dm, descriptor{MediaType: mediaOCIManifest, Digest: digest, Size: int64(len(data))}, nil
}

// copyBlob writes a store blob into the tar once and returns its size.
func (s *Store) copyBlob(ctx context.Context, tw *tar.Writer, digest string, written map[string]bool) (int64, error) {
	f, err := os.Open(s.blobPath(digest))
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", digest, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if written[digest] {
		return fi.Size(), nil
	}
	written[digest] = true
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:"),
		Mode: 0o644, Size: fi.Size(), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, err
	}
	if _, err := io.CopyN(tw, ctxReader{ctx, f}, fi.Size()); err != nil {
		return 0, fmt.Errorf("blob %s: %w", digest, err)
	}
	return fi.Size(), nil
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
