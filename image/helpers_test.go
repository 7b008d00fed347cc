package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/testutil"
)

// ent is one entry of a tar built by a test.
type ent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	uid  int
	pax  map[string]string
}

func mkTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, Uid: e.uid, Gid: e.uid, PAXRecords: e.pax}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: typ, PAXRecords: e.pax}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readTar returns name -> header and body of every entry.
func readTar(t testing.TB, data []byte) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	hdrs := map[string]*tar.Header{}
	bodies := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var b bytes.Buffer
		b.ReadFrom(tr)
		hdrs[h.Name] = h
		bodies[h.Name] = b.String()
	}
	return hdrs, bodies
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New(Options{Root: filepath.Join(t.TempDir(), "image")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// entries lists a directory's names, leaving out dot files.
func entries(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func importBusybox(t testing.TB, s *Store, ref string, changes ...string) *Image {
	t.Helper()
	img, err := s.Import(context.Background(), bytes.NewReader(busybox(t)), ImportOptions{Ref: ref, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func busybox(t testing.TB) []byte { return testutil.BusyboxTar(t) }
