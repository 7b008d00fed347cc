package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
	"unicode/utf8"
)

// TemplateFuncs are the functions Docker offers in --format templates.
var TemplateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSpace(b.String()), nil
	},
	"split":    strings.Split,
	"join":     join,
	"title":    func(s string) string { return titleCase(s) },
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      func(s string, l, r int) string { return strings.Repeat(" ", l) + s + strings.Repeat(" ", r) },
	"truncate": truncate,
	"println":  fmt.Sprintln,
}

// join accepts []string and the []any of a JSON-shaped document.
func join(v any, sep string) (string, error) {
	switch l := v.(type) {
	case []string:
		return strings.Join(l, sep), nil
	case []any:
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, sep), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("join: %T is not a list", v)
}

func titleCase(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = strings.ToUpper(string(r)) + w[n:]
	}
	return strings.Join(words, " ")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ParseTemplate parses a --format template with Docker's functions.
func ParseTemplate(format string) (*template.Template, error) {
	t, err := template.New("format").Funcs(TemplateFuncs).Parse(format)
	if err != nil {
		return nil, invalid("invalid --format %q: %v", format, err)
	}
	return t, nil
}

// FormatInspect writes v (an inspect document) with format: "" or "json"
// prints an indented JSON array entry per value, a template runs over the
// JSON shape (field names as in the JSON, numbers kept exact) and prints
// one line per value.
func FormatInspect(w io.Writer, format string, values []any) error {
	if format == "" || format == "json" {
		if values == nil {
			values = []any{}
		}
		b, err := json.MarshalIndent(values, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	t, err := ParseTemplate(format)
	if err != nil {
		return err
	}
	for _, v := range values {
		doc, err := jsonShape(v)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, doc); err != nil {
			return invalid("template %q: %v", format, err)
		}
		b.WriteByte('\n')
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// jsonShape turns v into maps, slices and json.Numbers, the way a template
// over `docker inspect` output sees it.
func jsonShape(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	err = dec.Decode(&out)
	return out, err
}
