package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
)

// Inspect writes inspect documents as `docker inspect` does: format "" or
// "json" prints values as an indented JSON array ("[]" when empty); any
// other format is a template run over each value (see Execute), one line
// per value.
func Inspect(w io.Writer, format string, values []any) error {
	if format == "" || format == "json" {
		if values == nil {
			values = []any{}
		}
		b, err := marshal(values)
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "    "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = w.Write(out.Bytes())
		return err
	}
	return lines(w, format, values, false)
}

// Value writes one value, as `docker version` and `docker info` do: format
// "json" prints it as compact JSON on one line; any other format is a
// template run over it (see Execute), followed by a newline.
func Value(w io.Writer, format string, v any) error {
	if format == "json" {
		b, err := marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return lines(w, format, []any{v}, false)
}

// lines runs the template format over each value and prints a line each.
// strict makes a key missing from a map an error rather than "<no value>".
func lines(w io.Writer, format string, values []any, strict bool) error {
	t, err := Parse(format)
	if err != nil {
		return err
	}
	if strict {
		t.Option("missingkey=error")
	}
	for _, v := range values {
		s, err := Execute(t, v)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, s+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// Table describes the table of a list command.
type Table struct {
	// Default is the format of "" and "table", for example
	// "table {{.ID}}\t{{.Name}}".
	Default string
	// Headers maps a field name to its column header ("ID" -> "NETWORK
	// ID"); a field missing here is headed by its name in upper case.
	Headers map[string]string
	// Compact pads columns to their content only; by default a column is
	// at least 10 characters wide, as in Docker's tables.
	Compact bool
}

// Rows writes the rows of a list command as Docker's --format does:
// "" and "table" print table.Default; "table TEMPLATE" prints a header line
// derived from the template's fields and one aligned row per value; "json"
// prints each row as a JSON object on its own line (a row may implement
// json.Marshaler to choose its shape); any other format is a template run
// over each row (see Execute), one line per row. Unlike Inspect, a name
// found neither in the row nor in its JSON shape is an error.
func Rows(w io.Writer, format string, table Table, rows []any) error {
	switch format {
	case "json":
		for _, r := range rows {
			b, err := marshal(r)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		}
		return nil
	case "", "table":
		format = table.Default
	}
	if !strings.HasPrefix(format, "table") {
		return lines(w, format, rows, true)
	}
	text := strings.TrimSpace(strings.TrimPrefix(format, "table"))
	t, err := Parse(text)
	if err != nil {
		return err
	}
	t.Option("missingkey=error")
	minWidth := 10
	if table.Compact {
		minWidth = 0
	}
	tw := tabwriter.NewWriter(w, minWidth, 1, 3, ' ', 0)
	fmt.Fprintln(tw, header(t, escapes.Replace(text), table.Headers))
	for _, r := range rows {
		s, err := Execute(t, r)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, s)
	}
	return tw.Flush()
}

var (
	fieldRe  = regexp.MustCompile(`\.([A-Za-z_]\w*)`)
	actionRe = regexp.MustCompile(`{{-?\s*(.*?)\s*-?}}`)
)

// header renders the header line of a table template: the template runs
// over a map of each field it names to its header; when that fails (a
// method call such as {{.Label "k"}}), each action is replaced by the
// header of the first field it names.
func header(t *template.Template, text string, names map[string]string) string {
	heading := func(field string) string {
		if h, ok := names[field]; ok {
			return h
		}
		return strings.ToUpper(field)
	}
	ctx := map[string]string{}
	for _, m := range fieldRe.FindAllStringSubmatch(text, -1) {
		ctx[m[1]] = heading(m[1])
	}
	if ht, err := t.Clone(); err == nil {
		var b strings.Builder
		if ht.Option("missingkey=zero").Execute(&b, ctx) == nil {
			return b.String()
		}
	}
	return actionRe.ReplaceAllStringFunc(text, func(action string) string {
		if m := fieldRe.FindStringSubmatch(action); m != nil {
			return heading(m[1])
		}
		return ""
	})
}

// Values converts a slice of rows or documents to the []any that Rows and
// Inspect take.
func Values[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
