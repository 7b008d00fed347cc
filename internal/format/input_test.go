package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestConfirm(t *testing.T) {
	cases := []struct {
		name, input string
		want        bool
	}{
		{"y", "y\n", true},
		{"yes any case", " YeS \n", true},
		{"no newline", "y", true},
		{"empty", "", false},
		{"no", "n\n", false},
		{"other", "sure\n", false},
		{"only the first line", "\ny\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var errw bytes.Buffer
			if got := Confirm(strings.NewReader(tc.input), &errw, "Go?"); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if errw.String() != "Go? [y/N] " {
				t.Errorf("prompt %q", errw.String())
			}
		})
	}
	if Confirm(nil, &bytes.Buffer{}, "Go?") {
		t.Error("nil input confirmed")
	}
}

func TestKeyValues(t *testing.T) {
	cases := []struct {
		name     string
		values   []string
		bareKeys bool
		want     map[string]string
		wantErr  bool
	}{
		{"none", nil, false, nil, false},
		{"pairs", []string{"a=1", "b=x=y", "a=2"}, false, map[string]string{"a": "2", "b": "x=y"}, false},
		{"empty value", []string{"a="}, false, map[string]string{"a": ""}, false},
		{"bare key allowed", []string{"tier"}, true, map[string]string{"tier": ""}, false},
		{"bare key refused", []string{"tier"}, false, nil, true},
		{"empty key", []string{"=v"}, true, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KeyValues("label", tc.values, tc.bareKeys)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "--label") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
