package main

import (
	"strings"

	"github.com/spf13/pflag"
)

// stringArray is pflag's stringArray flag (every occurrence appends one
// value, commas and all) without its cost at start-up: pflag formats each
// default through an encoding/csv writer with a 4 KB buffer, and berth
// binds ~120 such flags (the compose commands' --file, --env-file and
// --profile, docker run's flags) on every invocation: 0.5 MB of garbage and
// the page faults to hold it, before any command runs.
type stringArray struct {
	p       *[]string
	changed bool
}

// stringArrayVarP binds a stringArray flag to p (no default), as
// fs.StringArrayVarP(p, name, short, nil, usage) does.
func stringArrayVarP(fs *pflag.FlagSet, p *[]string, name, short, usage string) {
	*p = nil
	fs.VarP(&stringArray{p: p}, name, short, usage)
}

func (s *stringArray) Set(v string) error {
	if !s.changed {
		*s.p, s.changed = []string{v}, true
	} else {
		*s.p = append(*s.p, v)
	}
	return nil
}

func (s *stringArray) Type() string { return "stringArray" }

// String is "" when empty, so that usage does not print "(default [])"
// (pflag only knows its own types' zero values).
func (s *stringArray) String() string {
	if len(*s.p) == 0 {
		return ""
	}
	return "[" + strings.Join(*s.p, ",") + "]"
}

// Append, Replace and GetSlice make it a pflag.SliceValue.
func (s *stringArray) Append(v string) error {
	*s.p = append(*s.p, v)
	return nil
}

func (s *stringArray) Replace(vs []string) error {
	*s.p = append([]string(nil), vs...)
	return nil
}

func (s *stringArray) GetSlice() []string { return *s.p }
