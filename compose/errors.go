package compose

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/berth/berth/internal/errdefs"
)

// FileError is an invalid compose file: the file, the line (0 when unknown)
// and the key (dotted path, "" when unknown). It is of class
// errdefs.ErrInvalidArgument.
type FileError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the class and the cause.
func (e *FileError) Unwrap() []error { return []error{errdefs.ErrInvalidArgument, e.Err} }

var (
	extraKeyRe = regexp.MustCompile(`additional propert(?:y|ies) '([^',]+)'`)
	markRe     = regexp.MustCompile(`line (\d+), column \d+`)
	lineRe     = regexp.MustCompile(`line (\d+)`)
	keyRe      = regexp.MustCompile(`\b((?:services|networks|volumes|secrets|configs|include)(?:\.[A-Za-z0-9_\-\[\]]+)*)`)
	cycleRe    = regexp.MustCompile(`dependency cycle detected: (.*)`)
)

// locate turns a compose-go load error into a *FileError naming the file,
// the line and the key when they can be found: the line from the message,
// else from the key's position in the files' yaml.
func locate(files []string, err error) error {
	msg := err.Error()
	if m := cycleRe.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("dependency cycle: %s: %w", m[1], errdefs.ErrInvalidArgument)
	}
	key := ""
	if m := keyRe.FindStringSubmatch(stripPaths(msg, files)); m != nil {
		key = strings.TrimSuffix(m[1], ".")
	}
	file := ""
	for _, f := range files {
		if strings.Contains(msg, f) {
			file = f
		}
	}
	line, cause := 0, err
	if m := markRe.FindAllStringSubmatchIndex(msg, -1); m != nil {
		// go.yaml.in/yaml/v4 marks are "line N, column M" with a 0-based
		// line; the last mark is the problem, earlier ones its context
		last := m[len(m)-1]
		line, _ = strconv.Atoi(msg[last[2]:last[3]])
		line++
		cause = errors.New(strings.TrimPrefix(msg[last[1]:], ": "))
		key = ""
	} else if m := lineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	} else if fe := yamlSyntax(files); fe != nil && key == "" {
		return fe
	}
	if m := extraKeyRe.FindStringSubmatch(msg); m != nil && key != "" {
		key += "." + m[1]
	}
	if line == 0 && key != "" {
		search := files
		if file != "" {
			search = []string{file}
		}
		for _, f := range search {
			if l := keyLine(f, key); l > 0 {
				file, line = f, l
				break
			}
		}
	}
	if file == "" {
		if len(files) == 0 {
			return fmt.Errorf("%v: %w", err, errdefs.ErrInvalidArgument)
		}
		file = files[0]
	}
	if cause == err {
		cause = trimCause(err, file)
	}
	return &FileError{File: file, Line: line, Key: key, Err: cause}
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntax parses every file with yaml.v3, whose syntax errors carry
// 1-based lines, and returns the first failure.
func yamlSyntax(files []string) *FileError {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var v any
		err = yaml.Unmarshal(data, &v)
		if err == nil {
			continue
		}
		fe := &FileError{File: f, Err: err}
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			fe.Line, _ = strconv.Atoi(m[1])
			fe.Err = errors.New(m[2])
		}
		return fe
	}
	return nil
}

// stripPaths removes file names from msg so that folder names such as
// "services" in a path are not taken for keys.
func stripPaths(msg string, files []string) string {
	for _, f := range files {
		msg = strings.ReplaceAll(msg, f, "")
	}
	return msg
}

// trimCause drops compose-go's own "validating <file>: " prefix, which the
// FileError repeats.
func trimCause(err error, file string) error {
	msg := err.Error()
	for _, p := range []string{"validating " + file + ": ", file + ": "} {
		if i := strings.Index(msg, p); i >= 0 {
			return fmt.Errorf("%s", msg[i+len(p):])
		}
	}
	return err
}

// keyLine returns the line of the dotted key in file's yaml, or 0. A list
// index or a missing trailing part stops at the deepest node found.
func keyLine(file, key string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return 0
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return 0
	}
	node, line := doc.Content[0], 0
	for _, part := range strings.Split(key, ".") {
		next, l := child(node, part)
		if next == nil {
			break
		}
		node, line = next, l
	}
	return line
}

// child finds part under node: a mapping key (its line) or a list index.
func child(node *yaml.Node, part string) (*yaml.Node, int) {
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == part {
				return node.Content[i+1], node.Content[i].Line
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(strings.Trim(part, "[]")); err == nil && i >= 0 && i < len(node.Content) {
			return node.Content[i], node.Content[i].Line
		}
	}
	return nil, 0
}
