//go:build !berthcore

package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/internal/errdefs"
)

// writeProject writes a compose file into a fresh folder and returns it.
func writeProject(t *testing.T, yaml string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const shopYAML = `services:
  web:
    image: busybox
    depends_on: [db]
    profiles: [front]
  db:
    image: busybox:1.36
    volumes: [data:/data]
volumes:
  data: {}
networks:
  back: {}
`

func TestComposeConfigCommand(t *testing.T) {
	dir := writeProject(t, shopYAML)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"config", "--services"}, "db\n"},
		{[]string{"--profile", "front", "config", "--services"}, "db\nweb\n"},
		{[]string{"config", "--volumes"}, "data\n"},
		{[]string{"config", "--profiles"}, "front\n"},
		{[]string{"--profile", "front", "config", "--images"}, "busybox:1.36\nbusybox\n"},
		{[]string{"config", "-q"}, ""},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := runBerthVolume(t, t.TempDir(), append([]string{"--project-directory", dir}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.want {
				t.Errorf("got %q, want %q", out, tc.want)
			}
		})
	}
	out, err := runBerthVolume(t, t.TempDir(), "-f", filepath.Join(dir, "compose.yaml"), "-p", "other", "config", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Name     string
		Services map[string]any
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Name != "other" || doc.Services["db"] == nil {
		t.Errorf("json config: %v %+v", err, doc)
	}
}

func TestComposeConfigInvalidFile(t *testing.T) {
	dir := writeProject(t, "services:\n  web:\n    image: busybox\n    ports: {bad: 1}\n")
	_, err := runBerthVolume(t, t.TempDir(), "--project-directory", dir, "config")
	var fe *compose.FileError
	if !errors.As(err, &fe) || fe.Line != 4 || !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("err = %v, want a file error at line 4", err)
	}
	if code := exitCode(err); code == 0 {
		t.Errorf("exit code 0 for an invalid file")
	}
}

// TestComposeBuildWithoutBuildSections: build has nothing to do in a project
// without build: sections; --pull cannot work without a registry.
func TestComposeBuildWithoutBuildSections(t *testing.T) {
	dir := writeProject(t, shopYAML)
	if _, err := runBerthVolume(t, t.TempDir(), "--project-directory", dir, "build"); err != nil {
		t.Errorf("build: %v", err)
	}
	if _, err := runBerthVolume(t, t.TempDir(), "--project-directory", dir, "build", "--pull"); !errors.Is(err, errdefs.ErrNotImplemented) {
		t.Errorf("build --pull: err = %v", err)
	}
}

func TestComposeScaleFlag(t *testing.T) {
	got, err := parseScale([]string{"web=3", "db=0"})
	if err != nil || got["web"] != 3 || got["db"] != 0 {
		t.Fatalf("parseScale: %v %v", got, err)
	}
	for _, bad := range []string{"web", "web=x", "=2", "web=-1"} {
		if _, err := parseScale([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
