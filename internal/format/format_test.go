package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

func TestFuncs(t *testing.T) {
	cases := []struct {
		name, format string
		data         any
		want         string
	}{
		{"join strings", `{{join . ","}}`, []string{"a", "b"}, "a,b"},
		{"join json list", `{{join . "+"}}`, []any{"a", json.Number("2")}, "a+2"},
		{"join nil", `{{join . ","}}`, nil, ""},
		{"json without html escaping", `{{json .}}`, map[string]string{"k": "<a&b>"}, `{"k":"<a&b>"}`},
		{"title", `{{title .}}`, "hello wide world", "Hello Wide World"},
		{"truncate runes", `{{truncate . 2}}`, "héllo", "hé"},
		{"truncate short", `{{truncate . 9}}`, "abc", "abc"},
		{"pad", `[{{pad . 1 2}}]`, "x", "[ x  ]"},
		{"println", `{{println .}}`, "x", "x\n"},
		{"split upper lower", `{{index (split . ":") 1 | upper}}{{lower "AB"}}`, "a:b", "Bab"},
		{"literal tab", `{{.}}\t{{.}}`, "x", "x\tx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Parse(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Execute(tpl, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFuncsJoinRejectsNonList(t *testing.T) {
	tpl, err := Parse(`{{join . ","}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(tpl, 3); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("join of an int: %v", err)
	}
}

func TestParseInvalid(t *testing.T) {
	_, err := Parse("{{.Name")
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `--format "{{.Name"`) {
		t.Fatalf("err = %v", err)
	}
}

// doc is shaped like an inspect document whose Go field names differ from
// its JSON names, as Docker's do.
type doc struct {
	ID     string `json:"Id"`
	Name   string
	Big    int64
	Labels map[string]string
}

func TestInspect(t *testing.T) {
	d := doc{ID: "abc", Name: "n<1>", Big: 9007199254740993, Labels: map[string]string{"k": "v"}}
	cases := []struct {
		name, format string
		values       []any
		want         string
	}{
		{"empty array", "", nil, "[]\n"},
		{"indented json", "json", []any{doc{ID: "a"}},
			"[\n    {\n        \"Id\": \"a\",\n        \"Name\": \"\",\n        \"Big\": 0,\n        \"Labels\": null\n    }\n]\n"},
		{"go field name", "{{.ID}} {{.Name}}", []any{d}, "abc n<1>\n"},
		{"json name falls back to the json shape", "{{.Id}}", []any{d}, "abc\n"},
		{"numbers stay exact in the json shape", "{{.Id}} {{.Big}}", []any{d}, "abc 9007199254740993\n"},
		{"index of a map", `{{index .Labels "k"}}`, []any{d}, "v\n"},
		{"one line per value", "{{.Name}}", []any{doc{Name: "a"}, doc{Name: "b"}}, "a\nb\n"},
		{"maps", "{{.x}}", []any{map[string]any{"x": 1}}, "1\n"},
		{"a missing key is <no value>, as in docker inspect", "{{.Nope}}", []any{d}, "<no value>\n"},
		{"if on a missing key", "{{if .Nope}}yes{{else}}no{{end}}", []any{d}, "no\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Inspect(&b, tc.format, tc.values); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	for _, format := range []string{"{{.Name", "{{call .Name}}", "{{.Name.Deeper}}"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			err := Inspect(&b, format, []any{doc{Name: "x"}})
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q before failing", b.String())
			}
		})
	}
}

func TestValue(t *testing.T) {
	v := doc{ID: "a", Name: "<n>"}
	cases := []struct{ format, want string }{
		{"json", `{"Id":"a","Name":"<n>","Big":0,"Labels":null}` + "\n"},
		{"{{.Name}}/{{.Id}}", "<n>/a\n"},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Value(&b, tc.format, v); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}
