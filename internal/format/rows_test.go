package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/berth/berth/internal/errdefs"
)

// row is a list row: Go fields, a JSON name that differs, and a method
// with an argument, like the rows of `ls` commands.
type row struct {
	ID     string `json:"Id"`
	Name   string
	labels map[string]string
}

func (r row) Label(k string) string { return r.labels[k] }

// marshalRow chooses its own JSON shape.
type marshalRow struct{ n int }

func (m marshalRow) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]int{"N": m.n}) }

func TestRows(t *testing.T) {
	rows := []any{
		row{ID: "1", Name: "alpha", labels: map[string]string{"env": "prod"}},
		row{ID: "22", Name: "b<&>"},
	}
	table := Table{Default: "table {{.ID}}\t{{.Name}}", Headers: map[string]string{"ID": "THING ID"}}
	compact := table
	compact.Compact = true
	cases := []struct {
		name, format string
		table        Table
		rows         []any
		want         string
	}{
		{"default table", "", table, rows,
			"THING ID   NAME\n1          alpha\n22         b<&>\n"},
		{"table keyword", "table", table, rows,
			"THING ID   NAME\n1          alpha\n22         b<&>\n"},
		{"compact table", "", compact, rows,
			"THING ID   NAME\n1          alpha\n22         b<&>\n"},
		{"compact narrow columns", "table {{.Name}}\t{{.ID}}", compact, rows,
			"NAME    THING ID\nalpha   1\nb<&>    22\n"},
		{"docker min width", "table {{.Name}}\t{{.ID}}", table, rows,
			"NAME      THING ID\nalpha     1\nb<&>      22\n"},
		{"header of an unnamed field is upper case", `table {{.Name}}\t{{json .Name}}`, compact, rows[:1],
			"NAME    \"NAME\"\nalpha   \"alpha\"\n"},
		{"header of a method call", `table {{.Label "env"}}|{{.Name}}`, compact, rows,
			"LABEL|NAME\nprod|alpha\n|b<&>\n"},
		{"header of a json name", `table {{.Id}}`, compact, rows[:1], "ID\n1\n"},
		{"empty table keeps the header", "", table, nil, "THING ID   NAME\n"},
		{"json lines", "json", table, rows,
			"{\"Id\":\"1\",\"Name\":\"alpha\"}\n{\"Id\":\"22\",\"Name\":\"b<&>\"}\n"},
		{"json of a marshaler", "json", table, []any{marshalRow{7}}, "{\"N\":7}\n"},
		{"template", `{{.Name}}={{.Label "env"}}`, table, rows, "alpha=prod\nb<&>=\n"},
		{"json name in a template", `{{.Id}}`, table, rows, "1\n22\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Rows(&b, tc.format, tc.table, tc.rows); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}

func TestRowsErrors(t *testing.T) {
	for _, format := range []string{"{{.Missing}}", "table {{.Missing}}", "{{.Name", "table {{"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			err := Rows(&b, format, Table{}, []any{row{Name: "x"}})
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestValues(t *testing.T) {
	got := Values([]row{{Name: "a"}, {Name: "b"}})
	if len(got) != 2 || got[1].(row).Name != "b" {
		t.Fatalf("got %v", got)
	}
	var b bytes.Buffer
	if err := Inspect(&b, "", Values([]row(nil))); err != nil || b.String() != "[]\n" {
		t.Fatalf("inspect of no values: %q %v", b.String(), err)
	}
}
