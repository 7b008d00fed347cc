package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/berth/berth/internal/errdefs"
)

// Funcs are the functions Docker offers in --format templates.
var Funcs = template.FuncMap{
	"json":     jsonString,
	"split":    strings.Split,
	"join":     join,
	"title":    title,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      func(s string, l, r int) string { return strings.Repeat(" ", l) + s + strings.Repeat(" ", r) },
	"truncate": truncate,
	"println":  fmt.Sprintln,
}

// jsonString is v as compact JSON, without HTML escaping (as Docker's).
func jsonString(v any) (string, error) {
	b, err := marshal(v)
	return string(b), err
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
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

// title upper-cases the first letter of each word.
func title(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = strings.ToUpper(string(r)) + w[n:]
	}
	return strings.Join(words, " ")
}

// truncate keeps the first n runes of s.
func truncate(s string, n int) string {
	if n < 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// escapes turns the literal \t and \n users type in a shell into a tab and
// a newline, as Docker's CLI does.
var escapes = strings.NewReplacer(`\t`, "\t", `\n`, "\n")

// Parse parses a --format template with Docker's functions. A literal \t
// or \n in format stands for a tab or a newline. A syntax error is an
// errdefs.ErrInvalidArgument.
func Parse(format string) (*template.Template, error) {
	t, err := template.New("format").Funcs(Funcs).Parse(escapes.Replace(format))
	if err != nil {
		return nil, fmt.Errorf("--format %q: %w: %v", format, errdefs.ErrInvalidArgument, err)
	}
	return t, nil
}

// Execute runs t on v and returns the text. When that fails (a template
// written against the JSON names, like {{.Id}} for a field ID), it runs t
// on v's JSON shape instead, as Docker's CLI does; when both fail, the
// first error is returned, as an errdefs.ErrInvalidArgument. A key missing
// from a map prints "<no value>" (as `docker inspect` does) unless t has
// the option missingkey=error.
func Execute(t *template.Template, v any) (string, error) {
	var b bytes.Buffer
	err := t.Execute(&b, v)
	if err == nil {
		return b.String(), nil
	}
	if doc, jerr := Shape(v); jerr == nil {
		b.Reset()
		if t.Execute(&b, doc) == nil {
			return b.String(), nil
		}
	}
	return "", fmt.Errorf("--format: %w: %v", errdefs.ErrInvalidArgument, err)
}

// Shape turns v into the maps, slices, strings, bools and json.Numbers of
// its JSON encoding: what a template over `docker inspect` output sees.
// Numbers stay exact (no float64 rounding of large integers).
func Shape(v any) (any, error) {
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
