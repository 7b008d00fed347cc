package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// handLayers returns two layer tars and a config naming their diff ids.
func handLayers(t testing.TB) (l1, l2, config []byte) {
	l1 = mkTar(t, ent{name: "etc/", typ: tar.TypeDir}, ent{name: "etc/os-release", body: "hand"})
	l2 = mkTar(t, ent{name: "app/", typ: tar.TypeDir}, ent{name: "app/run", body: "#!/bin/sh\necho hi\n", mode: 0o755})
	config = fmt.Appendf(nil, `{"architecture":%q,"os":"linux","created":"2024-01-02T03:04:05Z",`+
		`"config":{"Env":["PATH=/bin"],"Cmd":["/app/run"],"ExposedPorts":{"8080/tcp":{}},"Volumes":{"/data":{}},"StopSignal":"SIGINT",`+
		`"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":3}},`+
		`"rootfs":{"type":"layers","diff_ids":[%q,%q]},`+
		`"history":[{"created_by":"layer one"},{"created_by":"ENV x","empty_layer":true},{"created_by":"layer two"}]}`,
		runtime.GOARCH, digestOf(l1), digestOf(l2))
	return l1, l2, config
}

func TestLoadHandWrittenDockerArchive(t *testing.T) {
	l1, l2, config := handLayers(t)
	manifest := mustJSON(t, []map[string]any{{
		"Config":   "cfg.json",
		"RepoTags": []string{"hand:made", "registry.example.com:5000/x/y:1"},
		"Layers":   []string{"aaa/layer.tar", "bbb/layer.tar"},
	}})
	archive := mkTar(t,
		ent{name: "manifest.json", body: string(manifest)},
		ent{name: "cfg.json", body: string(config)},
		ent{name: "aaa/", typ: tar.TypeDir},
		ent{name: "aaa/layer.tar", body: string(l1)},
		ent{name: "ccc/", typ: tar.TypeDir},
		ent{name: "ccc/layer.tar", body: string(gz(t, l2))},
		ent{name: "bbb/", typ: tar.TypeDir},
		ent{name: "bbb/layer.tar", typ: tar.TypeSymlink, link: "../ccc/layer.tar"},
	)
	for name, data := range map[string][]byte{"plain": archive, "gzip": gz(t, archive)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			imgs, err := s.Load(ctx, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 1 {
				t.Fatalf("%d images", len(imgs))
			}
			img := imgs[0]
			if img.ID != digestOf(config) {
				t.Errorf("id %s, want digest of config %s", img.ID, digestOf(config))
			}
			if !slices.Equal(img.RepoTags, []string{"hand:made", "registry.example.com:5000/x/y:1"}) {
				t.Errorf("tags %v", img.RepoTags)
			}
			c := img.Config
			if !slices.Equal(c.Cmd, []string{"/app/run"}) || c.StopSignal != "SIGINT" || !slices.Equal(c.Volumes, []string{"/data"}) ||
				c.Healthcheck == nil || c.Healthcheck.Retries != 3 || c.Healthcheck.Interval.Seconds() != 1 {
				t.Errorf("config %+v", c)
			}
			if len(img.History) != 3 || img.History[1].Size != 0 || img.History[2].Size != int64(len("#!/bin/sh\necho hi\n")) {
				t.Errorf("history %+v", img.History)
			}
			dirs, err := s.Layers(ctx, "hand:made")
			if err != nil {
				t.Fatal(err)
			}
			if len(dirs) != 2 {
				t.Fatalf("layers %v", dirs)
			}
			if _, err := os.Stat(filepath.Join(dirs[0], "app/run")); err != nil {
				t.Errorf("top layer (first) lacks app/run: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dirs[1], "etc/os-release")); err != nil {
				t.Errorf("bottom layer (last) lacks etc/os-release: %v", err)
			}
		})
	}
}

func TestLoadRejectsBadArchives(t *testing.T) {
	l1, l2, config := handLayers(t)
	manifest := mustJSON(t, []map[string]any{{"Config": "cfg.json", "Layers": []string{"l1.tar"}}})
	badTag := mustJSON(t, []map[string]any{{"Config": "cfg.json", "RepoTags": []string{"UPPER:case"}, "Layers": []string{"l1.tar", "l2.tar"}}})
	cases := map[string][]byte{
		"not-an-image":     mkTar(t, ent{name: "hello", body: "x"}),
		"diff-id-mismatch": mkTar(t, ent{name: "manifest.json", body: string(manifest)}, ent{name: "cfg.json", body: string(config)}, ent{name: "l1.tar", body: string(l1)}),
		"missing-layer":    mkTar(t, ent{name: "manifest.json", body: string(manifest)}, ent{name: "cfg.json", body: string(config)}),
		"hostile-layer":    hostileLoad(t),
		"bad-repo-tag": mkTar(t, ent{name: "manifest.json", body: string(badTag)}, ent{name: "cfg.json", body: string(config)},
			ent{name: "l1.tar", body: string(l1)}, ent{name: "l2.tar", body: string(l2)}),
		"garbage-manifest": mkTar(t, ent{name: "manifest.json", body: "{"}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Load(context.Background(), bytes.NewReader(data))
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
			if imgs, _ := s.List(context.Background()); len(imgs) != 0 {
				t.Errorf("%d images loaded", len(imgs))
			}
			if left := entries(t, filepath.Join(s.root, "tmp")); len(left) != 0 {
				t.Errorf("tmp leftovers %v", left)
			}
			if _, err := os.Lstat("/tmp/berth-escaped"); err == nil {
				t.Errorf("hostile layer wrote /tmp/berth-escaped")
			}
		})
	}
}

// hostileLoad is a docker-save archive whose layer escapes through a symlink.
func hostileLoad(t *testing.T) []byte {
	layer := mkTar(t, ent{name: "l", typ: tar.TypeSymlink, link: "/tmp"}, ent{name: "l/berth-escaped", body: "x"})
	config := fmt.Sprintf(`{"os":"linux","rootfs":{"type":"layers","diff_ids":[%q]}}`, digestOf(layer))
	manifest := mustJSON(t, []map[string]any{{"Config": "c.json", "RepoTags": []string{"evil:1"}, "Layers": []string{"x.tar"}}})
	return mkTar(t, ent{name: "manifest.json", body: string(manifest)}, ent{name: "c.json", body: config}, ent{name: "x.tar", body: string(layer)})
}

func TestSaveRemoveLoadKeepsID(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := importBusybox(t, s, "bb:1", `CMD ["sh"]`)
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{"bb:1"}); err != nil {
		t.Fatal(err)
	}
	hdrs, bodies := readTar(t, buf.Bytes())
	for _, n := range []string{"manifest.json", "index.json", "oci-layout", "repositories", "blobs/sha256/" + img.ID[7:]} {
		if hdrs[n] == nil {
			t.Errorf("archive lacks %s", n)
		}
	}
	if !strings.Contains(bodies["manifest.json"], `"RepoTags":["bb:1"]`) {
		t.Errorf("manifest.json: %s", bodies["manifest.json"])
	}
	if _, err := s.Remove(ctx, "bb:1", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Load(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID != img.ID || !slices.Equal(imgs[0].RepoTags, []string{"bb:1"}) {
		t.Fatalf("loaded %+v, want id %s tag bb:1", imgs, img.ID)
	}
	if _, err := s.Layers(ctx, "bb:1"); err != nil {
		t.Error(err)
	}
}

// withoutDockerFiles drops manifest.json and repositories from a saved
// archive, leaving a pure OCI image layout.
func withoutDockerFiles(t testing.TB, data []byte) []byte {
	hdrs, bodies := readTar(t, data)
	var ents []ent
	for name, h := range hdrs {
		if name == "manifest.json" || name == "repositories" {
			continue
		}
		ents = append(ents, ent{name: name, typ: h.Typeflag, body: bodies[name]})
	}
	return mkTar(t, ents...)
}

func TestOCILayoutRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := newStore(t)
	img := importBusybox(t, a, "oci/rt:v2", `ENTRYPOINT ["/bin/sh"]`)
	var buf bytes.Buffer
	if err := a.Save(ctx, &buf, []string{"oci/rt:v2"}); err != nil {
		t.Fatal(err)
	}
	b := newStore(t)
	imgs, err := b.Load(ctx, bytes.NewReader(withoutDockerFiles(t, buf.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID != img.ID || !slices.Equal(imgs[0].RepoTags, []string{"oci/rt:v2"}) {
		t.Fatalf("loaded %+v", imgs)
	}
}

func TestLoadOCIMultiPlatformGzip(t *testing.T) {
	l1, l2, config := handLayers(t)
	g1, g2 := gz(t, l1), gz(t, l2)
	manifest := mustJSON(t, ociManifest{SchemaVersion: 2, MediaType: mediaOCIManifest,
		Config: descriptor{MediaType: mediaOCIConfig, Digest: digestOf(config), Size: int64(len(config))},
		Layers: []descriptor{{MediaType: mediaOCILayer + "+gzip", Digest: digestOf(g1)}, {MediaType: mediaOCILayer + "+gzip", Digest: digestOf(g2)}}})
	inner := mustJSON(t, ociIndex{SchemaVersion: 2, Manifests: []descriptor{
		{MediaType: mediaOCIManifest, Digest: digestOf([]byte("other")), Platform: &platform{OS: "linux", Architecture: "s390x"}},
		{MediaType: mediaOCIManifest, Digest: digestOf(manifest), Platform: &platform{OS: "linux", Architecture: runtime.GOARCH}},
	}})
	top := mustJSON(t, ociIndex{SchemaVersion: 2, Manifests: []descriptor{
		{MediaType: mediaOCIIndex, Digest: digestOf(inner), Annotations: map[string]string{annotationRefName: "example.org/multi:3"}},
	}})
	blob := func(d []byte) ent { return ent{name: "blobs/sha256/" + digestOf(d)[7:], body: string(d)} }
	archive := mkTar(t, ent{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`}, ent{name: "index.json", body: string(top)},
		blob(inner), blob(manifest), blob(config), blob(g1), blob(g2))
	s := newStore(t)
	imgs, err := s.Load(context.Background(), bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID != digestOf(config) || !slices.Equal(imgs[0].RepoTags, []string{"example.org/multi:3"}) {
		t.Fatalf("loaded %+v", imgs)
	}
}
