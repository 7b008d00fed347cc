package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// These tests check berth's archives against an independent implementation
// of both formats (go-containerregistry), in both directions.

func TestSavedArchiveReadsInOtherTools(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := importBusybox(t, s, "interop:1", `CMD ["sh"]`)
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{"interop:1"}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	tag, _ := name.NewTag("interop:1")
	gimg, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, &tag)
	if err != nil {
		t.Fatalf("docker-save reader: %v", err)
	}
	checkImage(t, gimg)
	if id, _ := gimg.ConfigName(); id.String() != img.ID {
		t.Errorf("config digest %s, want %s", id, img.ID)
	}
	dir := t.TempDir()
	if err := Unpack(ctx, bytes.NewReader(data), dir); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("OCI layout reader: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	limg, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, limg)
	if id, _ := limg.ConfigName(); id.String() != img.ID {
		t.Errorf("OCI config digest %s, want %s", id, img.ID)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/library/interop:1" {
		t.Errorf("index %+v", im.Manifests)
	}
}

func TestLoadArchivesWrittenByOtherTools(t *testing.T) {
	ctx := context.Background()
	gimg, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := gimg.ConfigName()
	t.Run("docker-save", func(t *testing.T) {
		tag, _ := name.NewTag("example.com/rand:v1")
		var buf bytes.Buffer
		if err := tarball.Write(tag, gimg, &buf); err != nil {
			t.Fatal(err)
		}
		s := newStore(t)
		imgs, err := s.Load(ctx, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].ID != want.String() || len(imgs[0].Layers) != 3 || imgs[0].RepoTags[0] != "example.com/rand:v1" {
			t.Fatalf("loaded %+v, want %s", imgs, want)
		}
		if h := imgs[0].History; len(h) != 3 || h[0].Size == 0 {
			t.Errorf("image without history steps: want one per layer, got %+v", h)
		}
	})
	t.Run("oci-layout", func(t *testing.T) {
		dir := t.TempDir()
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(gimg, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "example.com/rand:oci"})); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		tarDir(t, dir, &buf)
		s := newStore(t)
		imgs, err := s.Load(ctx, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].ID != want.String() || imgs[0].RepoTags[0] != "example.com/rand:oci" {
			t.Fatalf("loaded %+v, want %s", imgs, want)
		}
		if _, err := s.Layers(ctx, imgs[0].ID); err != nil {
			t.Error(err)
		}
	})
}

// tarDir tars a directory of plain files.
func tarDir(t *testing.T, dir string, w io.Writer) {
	tw := tar.NewWriter(w)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, _ := os.ReadFile(p)
		tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
		return nil
	})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkImage reads every layer as the other tool sees it and checks that
// its content hashes to the diff id the config lists.
func checkImage(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) || len(layers) == 0 {
		t.Fatalf("%d layers, config lists %d", len(layers), len(cf.RootFS.DiffIDs))
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := digestOf(data); got != cf.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d content is %s, config says %s", i, got, cf.RootFS.DiffIDs[i])
		}
	}
	if _, err := img.Manifest(); err != nil {
		t.Error(err)
	}
}
