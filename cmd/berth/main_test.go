package main

import (
	"reflect"
	"testing"
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
