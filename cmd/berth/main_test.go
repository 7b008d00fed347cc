package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestProjectFlagsLong(t *testing.T) {
	root := newRootCmd()
	for _, tc := range []struct {
		name     string
		in, want []string
	}{
		{"before the command", []string{"-p", "app", "run", "-p", "80:80", "web"}, []string{"--project-name", "app", "run", "-p", "80:80", "web"}},
		{"file and name", []string{"-f", "a.yaml", "-p=x", "logs", "-f"}, []string{"--file", "a.yaml", "--project-name=x", "logs", "-f"}},
		{"after --root", []string{"--root", "/r", "-p", "x", "up"}, []string{"--root", "/r", "--project-name", "x", "up"}},
		{"a value that looks like -p", []string{"--project-directory", "-p", "ps"}, []string{"--project-directory", "-p", "ps"}},
		{"object commands untouched", []string{"container", "run", "-p", "80:80", "busybox"}, []string{"container", "run", "-p", "80:80", "busybox"}},
		{"after --", []string{"--", "-p"}, []string{"--", "-p"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := projectFlagsLong(root, tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestStringArrayFlags: berth's stringArray flags take each value whole
// (commas included), repeat, and show no default in usage, like pflag's.
func TestStringArrayFlags(t *testing.T) {
	var o runOptions
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	bindRunFlags(fs, &o.RunFlags)
	if err := fs.Parse([]string{"-e", "A=1,B=2", "--env", "C", "busybox"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1,B=2", "C"}; !reflect.DeepEqual(o.Env, want) {
		t.Errorf("env %q, want %q", o.Env, want)
	}
	if o.Labels != nil {
		t.Errorf("labels %q, want none", o.Labels)
	}
	if u := fs.FlagUsages(); !strings.Contains(u, "-e, --env stringArray ") || strings.Contains(u, "default []") {
		t.Errorf("usage:\n%s", u)
	}
}

// TestServedByCore: the core build runs its own commands and hands the
// rest (the project commands, help, completion) to berth-compose.
func TestServedByCore(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"container", "run", "--rm", "busybox", "true"}, true},
		{[]string{"--root", "/r", "container", "ps", "-a"}, true},
		{[]string{"image", "ls"}, true},
		{[]string{"container"}, true},
		{[]string{"version"}, true},
		{[]string{"__monitor", "ID"}, true},
		{[]string{"up", "-d"}, false},
		{[]string{"--file", "x.yaml", "up"}, false},
		{[]string{"ls"}, false},
		{[]string{"completion", "bash"}, false},
		{[]string{"help", "container"}, false},
		{[]string{}, false},
		{[]string{"--help"}, false},
		{[]string{"nosuchcommand"}, false},
	} {
		core := newRootCmd()
		for _, c := range core.Commands() {
			if c.GroupID == "compose" {
				core.RemoveCommand(c)
			}
		}
		if got := servedByCore(core, tc.args); got != tc.want {
			t.Errorf("servedByCore(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
