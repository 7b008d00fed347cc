package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth/berth/internal/errdefs"
)

// LoadOptions select and shape the project to load. The zero value loads the
// compose file found in the current folder or its parents, with the process
// environment.
type LoadOptions struct {
	// Files are the compose files (-f), merged in order. Empty: COMPOSE_FILE,
	// else compose.yaml / compose.yml / docker-compose.yml /
	// docker-compose.yaml (plus its override file) in SearchDir or a parent.
	Files []string
	// ProjectDir is --project-directory: the base of relative paths and of
	// .env. Empty: the first file's folder.
	ProjectDir string
	// SearchDir is where file discovery starts. Empty: the current folder.
	SearchDir string
	// EnvFiles are --env-file; empty: <ProjectDir>/.env when present.
	EnvFiles []string
	// Profiles are --profile; empty: COMPOSE_PROFILES.
	Profiles []string
	// Services are the services named on the command line (`up web`,
	// `run task`): as in Docker Compose they are enabled even when none of
	// their profiles is.
	Services []string
	// ProjectName is -p; empty: COMPOSE_PROJECT_NAME, the file's name:, or
	// the project folder's name.
	ProjectName string
	// Env is the environment as KEY=VALUE; nil means os.Environ().
	Env []string
}

// Load reads, merges, interpolates and validates the project's compose files
// and converts the result to berth's structs. An invalid file is a *FileError
// (file, line, key) of class ErrInvalidArgument; a dependency cycle names the
// cycle. Keys berth does not implement end up in Project.Warnings.
func Load(ctx context.Context, o LoadOptions) (*Project, error) {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	files, err := discoverFiles(o, env)
	if err != nil {
		return nil, err
	}
	var unsupported []loader.UnsupportedAttribute
	po, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(o.ProjectDir),
		cli.WithEnv(env),
		cli.WithEnvFiles(o.EnvFiles...),
		cli.WithDotEnv,
		cli.WithName(o.ProjectName),
		cli.WithDefaultProfiles(o.Profiles...),
		cli.WithResolvedPaths(true),
		cli.WithLoadOptions(loader.WithSupportedAttributes(supportedAttributes(),
			func(found []loader.UnsupportedAttribute) { unsupported = found })),
	)
	if err != nil {
		return nil, loadError(files, err)
	}
	cp, err := po.LoadProject(ctx)
	if err != nil {
		return nil, loadError(files, err)
	}
	if len(o.Services) > 0 {
		if cp, err = enableNamed(cp, o.Services); err != nil {
			return nil, err
		}
	}
	p, err := convertProject(cp)
	if err != nil {
		return nil, err
	}
	p.Environment = map[string]string(po.Environment)
	p.Warnings = append(p.Warnings, unsupportedWarnings(unsupported)...)
	if err := CheckCycle(p); err != nil {
		return nil, err
	}
	if err := p.rendered.capture(cp); err != nil {
		return nil, err
	}
	return p, nil
}

// WarmSchema compiles compose-go's JSON schema of the Compose file format
// (~20 ms of CPU, once per process, behind a sync.Once in schema.Validate).
// Run in a goroutine as soon as a command is known to load a project, it
// overlaps with finding, reading and interpolating the files on another
// core; the load's own validation then waits for it rather than starting it.
func WarmSchema() {
	_ = schema.Validate(map[string]any{})
}

// discoverFiles returns the absolute paths of the compose files to load.
func discoverFiles(o LoadOptions, env []string) ([]string, error) {
	if len(o.Files) > 0 {
		return absAll(o.Files, o.SearchDir)
	}
	envMap := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
	}
	if cf := envMap["COMPOSE_FILE"]; cf != "" {
		sep := envMap["COMPOSE_PATH_SEPARATOR"]
		if sep == "" {
			sep = string(os.PathListSeparator)
		}
		base := o.ProjectDir
		if base == "" {
			base = o.SearchDir
		}
		return absAll(strings.Split(cf, sep), base)
	}
	dir := o.ProjectDir
	if dir == "" {
		dir = o.SearchDir
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("find compose file: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("find compose file: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if f := firstExisting(d, cli.DefaultFileNames); f != "" {
			files := []string{f}
			if ov := firstExisting(d, cli.DefaultOverrideFileNames); ov != "" {
				files = append(files, ov)
			}
			return files, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return nil, fmt.Errorf("no configuration file provided (compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml in %s or a parent folder): create one or pass -f: %w",
		dir, errdefs.ErrNotFound)
}

func firstExisting(dir string, names []string) string {
	for _, n := range names {
		f := filepath.Join(dir, n)
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			return f
		}
	}
	return ""
}

func absAll(files []string, base string) ([]string, error) {
	out := make([]string, 0, len(files))
	for _, f := range files {
		if f == "-" {
			out = append(out, f)
			continue
		}
		if !filepath.IsAbs(f) && base != "" {
			f = filepath.Join(base, f)
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("compose file %q: %w", f, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("compose file %q: %w", abs, errdefs.ErrNotFound)
		}
		out = append(out, abs)
	}
	return out, nil
}

// unsupportedWarnings turns the loader's findings into one warning each,
// naming the key and its service or top-level object.
func unsupportedWarnings(found []loader.UnsupportedAttribute) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range found {
		parts := f.Path.Parts()
		var w string
		switch {
		case len(parts) >= 3 && parts[0] == "services":
			key := strings.Join(stripListIndexes(parts[2:]), ".")
			w = fmt.Sprintf("service %q: key %q is not supported by berth and is ignored", parts[1], key)
		case len(parts) >= 3:
			key := strings.Join(stripListIndexes(parts[2:]), ".")
			w = fmt.Sprintf("%s %q: key %q is not supported by berth and is ignored", strings.TrimSuffix(parts[0], "s"), parts[1], key)
		default:
			w = fmt.Sprintf("key %q is not supported by berth and is ignored", strings.Join(parts, "."))
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

func stripListIndexes(parts []string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p == "[]" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// loadError converts compose-go's error into a *FileError with the file and
// line when they can be found.
func loadError(files []string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return locate(files, err)
}

// enableNamed enables the named services that a profile disabled; names
// that are no service at all are left for the caller to report.
func enableNamed(cp *types.Project, names []string) (*types.Project, error) {
	var disabled []string
	for _, n := range names {
		if _, ok := cp.DisabledServices[n]; ok {
			disabled = append(disabled, n)
		}
	}
	if len(disabled) == 0 {
		return cp, nil
	}
	out, err := cp.WithServicesEnabled(disabled...)
	if err != nil {
		return nil, fmt.Errorf("enable services %s: %w", strings.Join(disabled, ", "), err)
	}
	return out, nil
}
