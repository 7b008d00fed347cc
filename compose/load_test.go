package compose

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// dump renders the parts of a project a user relies on, with the testdata
// folder replaced by "TESTDATA".
func dump(t *testing.T, p *Project) []byte {
	t.Helper()
	abs, _ := filepath.Abs("testdata")
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(b), abs, "TESTDATA") + "\n")
}

func TestLoad(t *testing.T) {
	cases := []struct {
		name string
		dir  string
		opts LoadOptions
	}{
		{name: "override and dotenv", dir: "basic"},
		{name: "found from a subfolder", dir: "basic/sub", opts: LoadOptions{ProjectName: "fromsub"}},
		{name: "merged files", dir: "merge", opts: LoadOptions{Files: []string{"a.yaml", "b.yaml"}}},
		{name: "profiles off", dir: "profiles"},
		{name: "profile flag", dir: "profiles", opts: LoadOptions{Profiles: []string{"debug"}}},
		{name: "profiles from env", dir: "profiles", opts: LoadOptions{Env: []string{"COMPOSE_PROFILES=debug,tools"}}},
		{name: "extends", dir: "extends"},
		{name: "include", dir: "include"},
		{name: "unsupported keys", dir: "unsupported"},
		{name: "secrets and configs", dir: "secrets", opts: LoadOptions{Env: []string{"APP_KEY=k"}}},
		{name: "interpolation from env", dir: "interp", opts: LoadOptions{Env: []string{"DB_PASSWORD=pw"}, ProjectName: "interp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.SearchDir = filepath.Join("testdata", tc.dir)
			if o.Env == nil {
				o.Env = []string{}
			}
			p, err := Load(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(filepath.Dir(tc.dir+"/x"), "golden-"+strings.ReplaceAll(tc.name, " ", "-")+".json"), dump(t, p))
		})
	}
}

func TestLoadProjectName(t *testing.T) {
	cases := []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"folder name", LoadOptions{}, "basic"},
		{"flag", LoadOptions{ProjectName: "flagged"}, "flagged"},
		{"env", LoadOptions{Env: []string{"COMPOSE_PROJECT_NAME=fromenv"}}, "fromenv"},
		{"flag beats env", LoadOptions{ProjectName: "flagged", Env: []string{"COMPOSE_PROJECT_NAME=fromenv"}}, "flagged"},
		{"COMPOSE_FILE", LoadOptions{Env: []string{"COMPOSE_FILE=../merge/a.yaml:../merge/b.yaml"}}, "merged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.SearchDir = "testdata/basic"
			if o.Env == nil {
				o.Env = []string{}
			}
			p, err := Load(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tc.want {
				t.Errorf("name = %q, want %q", p.Name, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name     string
		dir      string
		opts     LoadOptions
		want     []string // substrings of the message
		wantLine int
	}{
		{name: "yaml syntax", dir: "invalid-yaml", want: []string{"invalid-yaml/compose.yaml:4"}, wantLine: 4},
		{name: "schema", dir: "invalid-schema", want: []string{"invalid-schema/compose.yaml:7", "services.app.ports.0.bogus"}, wantLine: 7},
		{name: "required variable", dir: "interp", want: []string{"interp/compose.yaml:5", "set DB_PASSWORD in .env"}, wantLine: 5},
		{name: "cycle", dir: "cycle", want: []string{"dependency cycle: ", "api -> web", "web -> api"}},
		{name: "no file", dir: "/", want: []string{"no configuration file provided"}},
		{name: "bad project name", dir: "basic", opts: LoadOptions{ProjectName: "Bad Name"}, want: []string{"Bad Name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.SearchDir = filepath.Join("testdata", tc.dir)
			if strings.HasPrefix(tc.dir, "/") {
				o.SearchDir = tc.dir
			}
			o.Env = []string{}
			_, err := Load(context.Background(), o)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.wantLine > 0 {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Line != tc.wantLine {
					t.Errorf("error %#v: want a FileError at line %d", err, tc.wantLine)
				}
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Errorf("error %v is not ErrInvalidArgument", err)
				}
			}
		})
	}
}

func TestLoadWarnsUnsupported(t *testing.T) {
	p, err := Load(context.Background(), LoadOptions{SearchDir: "testdata/unsupported", Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`service "app": key "cpu_shares" is not supported by berth and is ignored`,
		`service "app": key "deploy.mode" is not supported by berth and is ignored`,
		`service "app": key "logging" is not supported by berth and is ignored`,
	}
	if strings.Join(p.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(p.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if s, _ := p.Service("app"); s.Scale != 2 {
		t.Errorf("deploy.replicas not honoured: scale %d", s.Scale)
	}
}

func TestLoadBuildOnlyServiceGetsComposeImageName(t *testing.T) {
	p, err := Load(context.Background(), LoadOptions{SearchDir: "testdata/build", Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := p.Service("app")
	if s.Image != "build-app" || s.Build == nil || !strings.HasSuffix(s.Build.Context, "testdata/build") {
		t.Errorf("image %q build %+v", s.Image, s.Build)
	}
}

// A service named on the command line (`run tools`, `up debug`) is enabled
// although its profile is not; the others stay disabled.
func TestLoadEnablesNamedServices(t *testing.T) {
	p, err := Load(context.Background(), LoadOptions{SearchDir: "testdata/profiles", Env: []string{}, Services: []string{"tools"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Service("tools"); !ok {
		t.Errorf("tools not enabled by naming it")
	}
	if _, ok := p.Service("debug"); ok {
		t.Errorf("debug enabled without being named or its profile")
	}
	if _, ok := p.Service("app"); !ok {
		t.Errorf("app (no profile) missing")
	}
}
