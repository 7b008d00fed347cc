package main

import (
	"errors"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		argv    []string
		want    args
		wantErr bool
	}{
		{name: "monitor", argv: []string{"__monitor", "abc"}, want: args{cmd: "__monitor", id: "abc"}},
		{name: "monitor with root", argv: []string{"--root", "/r", "__monitor", "abc"}, want: args{root: "/r", cmd: "__monitor", id: "abc"}},
		{name: "health", argv: []string{"--root", "/r", "__health", "abc"}, want: args{root: "/r", cmd: "__health", id: "abc"}},
		{name: "exited", argv: []string{"__exited", "abc"}, want: args{cmd: "__exited", id: "abc"}},
		{name: "exited remove", argv: []string{"--root", "/r", "__exited", "--remove", "abc"}, want: args{root: "/r", cmd: "__exited", remove: true, id: "abc"}},
		{name: "remove only for exited", argv: []string{"__monitor", "--remove", "abc"}, wantErr: true},
		{name: "unknown command", argv: []string{"__dns"}, wantErr: true},
		{name: "missing id", argv: []string{"__monitor"}, wantErr: true},
		{name: "extra arg", argv: []string{"__monitor", "a", "b"}, wantErr: true},
		{name: "empty", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseArgs(tc.argv)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("parseArgs(%q) error = %v, want invalid argument", tc.argv, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseArgs(%q) = %+v, %v; want %+v", tc.argv, got, err, tc.want)
			}
		})
	}
}

func TestIsExitedHook(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
		want bool
	}{
		{name: "berth hook", argv: []string{"/bin/berth", "--root", "/r", "__exited", "abc"}, want: true},
		{name: "other container", argv: []string{"/bin/berth", "__exited", "xyz"}},
		{name: "other command", argv: []string{"/bin/sh", "-c", "abc"}},
		{name: "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isExitedHook(tc.argv, "abc"); got != tc.want {
				t.Fatalf("isExitedHook(%q) = %v, want %v", tc.argv, got, tc.want)
			}
		})
	}
}
