package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/berth/berth/internal/errdefs"
)

// OCI and Docker media types berth reads and writes.
const (
	mediaOCIIndex     = "application/vnd.oci.image.index.v1+json"
	mediaOCIManifest  = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIConfig    = "application/vnd.oci.image.config.v1+json"
	mediaOCILayer     = "application/vnd.oci.image.layer.v1.tar"
	mediaDockerList   = "application/vnd.docker.distribution.manifest.list.v2+json"
	annotationName    = "io.containerd.image.name"
	annotationRefName = "org.opencontainers.image.ref.name"
)

// archive is an image archive spooled to a temp dir: its regular files by
// name, and its links (symlinks resolved relative to their dir).
type archive struct {
	dir   string
	files map[string]string
	links map[string]string
}

// dockerManifest is one entry of a `docker save` manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// ociIndex is an OCI index.json or image index blob.
type ociIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []descriptor `json:"manifests"`
}

// ociManifest is an OCI (or Docker schema 2) image manifest.
type ociManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

// Load reads a `docker save` archive (manifest.json) or an OCI image layout
// tar (index.json), plain or compressed, and adds its images with their
// names. Layers already in the store are not unpacked again.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]*Image, error) {
	gc, err := s.lockGC(ctx, false)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	a, err := s.spool(ctx, r)
	if a != nil {
		defer os.RemoveAll(a.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var ids []string
	switch {
	case a.has("manifest.json"):
		ids, err = s.loadDocker(ctx, a)
	case a.has("index.json"):
		ids, err = s.loadOCI(ctx, a)
	default:
		err = fmt.Errorf("neither manifest.json nor index.json found: not a docker save archive or OCI image layout: %w", errdefs.ErrInvalidArgument)
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var out []*Image
	for _, id := range ids {
		img, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// spool copies the archive's files into a temp dir under the store.
func (s *Store) spool(ctx context.Context, r io.Reader) (*archive, error) {
	dr, err := decompress(ctxReader{ctx, r})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	defer dr.Close()
	dir, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "load-")
	if err != nil {
		return nil, err
	}
	a := &archive{dir: dir, files: map[string]string{}, links: map[string]string{}}
	tr := tar.NewReader(dr)
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if err != nil {
			return a, fmt.Errorf("read archive: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		switch hdr.Typeflag {
		case tar.TypeReg:
			p := filepath.Join(dir, fmt.Sprint(i))
			if err := writeFileFrom(p, tr); err != nil {
				return a, err
			}
			a.files[name] = p
		case tar.TypeSymlink:
			a.links[name] = path.Join(path.Dir(name), hdr.Linkname)
		case tar.TypeLink:
			a.links[name] = path.Clean(hdr.Linkname)
		}
	}
}

func writeFileFrom(p string, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (a *archive) resolve(name string) (string, bool) {
	name = path.Clean(strings.TrimPrefix(name, "/"))
	for range 16 {
		if p, ok := a.files[name]; ok {
			return p, true
		}
		next, ok := a.links[name]
		if !ok {
			return "", false
		}
		name = next
	}
	return "", false
}

func (a *archive) has(name string) bool { _, ok := a.resolve(name); return ok }

func (a *archive) open(name string) (*os.File, error) {
	p, ok := a.resolve(name)
	if !ok {
		return nil, fmt.Errorf("archive has no file %q: %w", name, errdefs.ErrInvalidArgument)
	}
	return os.Open(p)
}

func (a *archive) read(name string) ([]byte, error) {
	f, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<20))
}

func (a *archive) readJSON(name string, v any) error {
	data, err := a.read(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w: %w", name, err, errdefs.ErrInvalidArgument)
	}
	return nil
}

// layerFrom stores the layer at name in the archive, once per load.
func (s *Store) layerFrom(ctx context.Context, a *archive, name string, seen map[string]layerRecord) (layerRecord, error) {
	if l, ok := seen[name]; ok {
		return l, nil
	}
	f, err := a.open(name)
	if err != nil {
		return layerRecord{}, err
	}
	defer f.Close()
	l, err := s.writeLayer(ctx, f, true)
	if err != nil {
		return l, fmt.Errorf("%s: %w", name, err)
	}
	seen[name] = l
	return l, nil
}

func (s *Store) loadDocker(ctx context.Context, a *archive) ([]string, error) {
	var ms []dockerManifest
	if err := a.readJSON("manifest.json", &ms); err != nil {
		return nil, err
	}
	seen := map[string]layerRecord{}
	var ids []string
	for _, m := range ms {
		config, err := a.read(m.Config)
		if err != nil {
			return nil, err
		}
		var layers []layerRecord
		for _, ln := range m.Layers {
			l, err := s.layerFrom(ctx, a, ln, seen)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
		id, err := s.addImage(ctx, config, layers, m.RepoTags)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func blobName(digest string) (string, error) {
	if !isDigest(digest) {
		return "", fmt.Errorf("unsupported digest %q: %w", digest, errdefs.ErrInvalidArgument)
	}
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:"), nil
}

// readBlob reads a small blob (index, manifest, config) and checks its digest.
func (a *archive) readBlob(digest string) ([]byte, error) {
	name, err := blobName(digest)
	if err != nil {
		return nil, err
	}
	data, err := a.read(name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if "sha256:"+hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("blob %s: content does not match its digest: %w", digest, errdefs.ErrInvalidArgument)
	}
	return data, nil
}

func (s *Store) loadOCI(ctx context.Context, a *archive) ([]string, error) {
	var idx ociIndex
	if err := a.readJSON("index.json", &idx); err != nil {
		return nil, err
	}
	seen := map[string]layerRecord{}
	var ids []string
	for _, d := range idx.Manifests {
		md, err := a.pickManifest(d, 0)
		if err != nil {
			return nil, err
		}
		id, err := s.loadOCIManifest(ctx, a, md, refOf(d.Annotations), seen)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// refOf is the image name an index entry's annotations give, if any.
func refOf(ann map[string]string) []string {
	if n := ann[annotationName]; n != "" {
		return []string{n}
	}
	if n := ann[annotationRefName]; n != "" {
		if r, err := parseReference(n); err == nil && strings.ContainsAny(n, ":/") {
			return []string{r.String()}
		}
	}
	return nil
}

// pickManifest follows nested indexes to the manifest for this platform.
func (a *archive) pickManifest(d descriptor, depth int) (descriptor, error) {
	if d.MediaType != mediaOCIIndex && d.MediaType != mediaDockerList {
		return d, nil
	}
	if depth > 4 {
		return d, fmt.Errorf("index nesting too deep: %w", errdefs.ErrInvalidArgument)
	}
	data, err := a.readBlob(d.Digest)
	if err != nil {
		return d, err
	}
	var idx ociIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return d, fmt.Errorf("index %s: %w: %w", d.Digest, err, errdefs.ErrInvalidArgument)
	}
	for _, m := range idx.Manifests {
		if m.Platform == nil || (m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH) {
			return a.pickManifest(m, depth+1)
		}
	}
	return d, fmt.Errorf("index %s has no image for linux/%s: %w", d.Digest, runtime.GOARCH, errdefs.ErrNotFound)
}

func (s *Store) loadOCIManifest(ctx context.Context, a *archive, d descriptor, refs []string, seen map[string]layerRecord) (string, error) {
	data, err := a.readBlob(d.Digest)
	if err != nil {
		return "", err
	}
	var m ociManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("manifest %s: %w: %w", d.Digest, err, errdefs.ErrInvalidArgument)
	}
	config, err := a.readBlob(m.Config.Digest)
	if err != nil {
		return "", err
	}
	var layers []layerRecord
	for _, ld := range m.Layers {
		name, err := blobName(ld.Digest)
		if err != nil {
			return "", err
		}
		l, err := s.layerFrom(ctx, a, name, seen)
		if err != nil {
			return "", err
		}
		layers = append(layers, l)
	}
	return s.addImage(ctx, config, layers, refs)
}
