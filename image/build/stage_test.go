package build

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

func parse(t *testing.T, dockerfile string, given map[string]string) (*run, []instructions.Stage) {
	t.Helper()
	res, err := parser.Parse(strings.NewReader(dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{lex: shell.NewLex(res.EscapeToken), stages: stages}
	if r.args, err = newArgs(meta, given, r.lex); err != nil {
		t.Fatal(err)
	}
	for _, s := range stages {
		base, err := r.args.expandFrom(s.BaseName, r.lex)
		if err != nil {
			t.Fatal(err)
		}
		r.bases = append(r.bases, base)
	}
	return r, stages
}

const multiStage = `ARG BASE=busybox
ARG TAG=latest
FROM $BASE:$TAG AS deps
FROM scratch AS other
FROM deps AS build
COPY --from=other / /
FROM busybox AS unused
FROM ${BASE} AS final
COPY --from=build /out /out
`

func TestStages(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		given        map[string]string
		wantBases    string
		wantNeeded   string
		wantErr      string
	}{
		{name: "last stage", wantBases: "busybox:latest scratch deps busybox busybox", wantNeeded: "deps,other,build,final"},
		{name: "target", target: "BUILD", wantNeeded: "deps,other,build"},
		{name: "build arg in FROM", given: map[string]string{"TAG": "1.36"}, wantBases: "busybox:1.36 scratch deps busybox busybox"},
		{name: "unknown target", target: "nope", wantErr: `target stage "nope" could not be found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, stages := parse(t, multiStage, tc.given)
			if tc.wantBases != "" {
				if got := strings.Join(r.bases, " "); got != tc.wantBases {
					t.Errorf("bases %q, want %q", got, tc.wantBases)
				}
			}
			target, err := targetIndex(stages, tc.target)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNeeded == "" {
				return
			}
			var got []string
			for i, n := range needed(stages, r.bases, target) {
				if n {
					got = append(got, stages[i].Name)
				}
			}
			if strings.Join(got, ",") != tc.wantNeeded {
				t.Errorf("needed %v, want %s", got, tc.wantNeeded)
			}
		})
	}
}

func TestExpandCommand(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		env        []string
		want       string
	}{
		{name: "env and default", line: "ENV A=$X B=${Y:-dflt}", env: []string{"X=1"}, want: "A=1 B=dflt"},
		{name: "later wins", line: "WORKDIR /srv/$APP", env: []string{"APP=arg", "APP=env"}, want: "/srv/env"},
		{name: "escaped", line: `LABEL l=\$X`, env: []string{"X=1"}, want: "l=$X"},
		{name: "copy dest", line: "COPY $SRC $DEST/", env: []string{"SRC=a.txt", "DEST=/app"}, want: "a.txt -> /app/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := parser.Parse(strings.NewReader("FROM scratch\n" + tc.line + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			stages, _, err := instructions.Parse(res.AST, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := stages[0].Commands[0]
			if err := expandCommand(c, tc.env, shell.NewLex('\\')); err != nil {
				t.Fatal(err)
			}
			var got string
			switch c := c.(type) {
			case *instructions.EnvCommand:
				got = c.Env[0].Key + "=" + c.Env[0].Value + " " + c.Env[1].Key + "=" + c.Env[1].Value
			case *instructions.WorkdirCommand:
				got = c.Path
			case *instructions.LabelCommand:
				got = c.Labels[0].Key + "=" + c.Labels[0].Value
			case *instructions.CopyCommand:
				got = strings.Join(c.SourcePaths, ",") + " -> " + c.DestPath
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestArgValues(t *testing.T) {
	r, _ := parse(t, "ARG G=global\nFROM scratch\n", map[string]string{"GIVEN": "cli"})
	lex := r.lex
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		kv   instructions.KeyValuePairOptional
		want string
	}{
		{"build-arg wins", instructions.KeyValuePairOptional{Key: "GIVEN", Value: str("default")}, "cli"},
		{"default", instructions.KeyValuePairOptional{Key: "D", Value: str("d-$G")}, "d-global"},
		{"global by name", instructions.KeyValuePairOptional{Key: "G"}, "global"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.args.value(tc.kv, r.args.global, lex)
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestIgnore(t *testing.T) {
	ig, err := newIgnorer([]string{"*.log", "secret/", "docs/**", "!docs/keep.md"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path          string
		skip, descend bool
	}{
		{"app.log", true, true},
		{"src/main.go", false, false},
		{"secret", true, true},
		{"secret/key", true, true},
		{"docs/a.md", true, true},
		{"docs/keep.md", false, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			skip, descend := ig.ignored(tc.path)
			if skip != tc.skip || (skip && descend != tc.descend) {
				t.Errorf("ignored(%q) = %v, %v; want %v, %v", tc.path, skip, descend, tc.skip, tc.descend)
			}
		})
	}
	var none *ignorer
	if skip, _ := none.ignored("x"); skip {
		t.Error("no .dockerignore ignored a file")
	}
}
