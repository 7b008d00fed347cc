package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
)

// RunSpec is one RUN step's container.
type RunSpec struct {
	Image       string   // the image id to run (the stage so far)
	Cmd         []string // the whole command (no entrypoint)
	Env         []string // KEY=VALUE: the stage's ENV and ARGs
	WorkingDir  string
	User        string
	NetworkMode string // "bridge" (default), "none" or "host"
	Stdout      io.Writer
	Stderr      io.Writer
}

// Executor runs what a build cannot do inside the store. The engine
// implements it (cmd wires it).
type Executor interface {
	// Run runs s in a new container and waits for it. When the command
	// exits 0, Run calls commit with the container's overlay upper
	// directory before it removes the container. It returns the exit code;
	// the container is removed in every case.
	Run(ctx context.Context, s RunSpec, commit func(upperDir string) error) (int, error)
	// Mount shows the root filesystem of image id (read-only) at the
	// returned directory until release.
	Mount(ctx context.Context, id string) (dir string, release func(), err error)
}

// Options describe one build.
type Options struct {
	ContextDir  string
	Dockerfile  string            // default ContextDir/Dockerfile
	Tags        []string          // names for the image
	BuildArgs   map[string]string // --build-arg
	Labels      map[string]string // --label, added to the final image
	Target      string            // stage to build; default the last
	NetworkMode string            // RUN's network: "" (bridge), "none", "host"
	// Progress gets a line per step and RUN's output; nil discards it.
	Progress io.Writer
}

// Builder builds images into Store, running RUN through Exec.
type Builder struct {
	Store *image.Store
	Exec  Executor
	// TempDir holds the layer directories of COPY, ADD and WORKDIR while
	// they are committed; "" is os.TempDir(). (Not the store's tmp: a
	// concurrent image rm sweeps that.)
	TempDir string
}

// ExitError is a RUN that failed: Docker's "The command ... returned a
// non-zero code: N".
type ExitError struct {
	Cmd  []string
	Code int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", strings.Join(e.Cmd, " "), e.Code)
}

// stageState is a stage while it builds.
type stageState struct {
	name    string
	image   string // last image id ("" on scratch before any layer)
	cfg     image.ImageConfig
	shell   []string
	args    []string // KEY=VALUE of the ARGs declared in this stage
	dirty   bool     // cfg changed since image was made
	cmdSet  bool     // the stage has a CMD of its own
	pending []string // the instructions since the last commit, for history
}

// run is one build in progress.
type run struct {
	b       *Builder
	o       Options
	lex     *shell.Lex
	stages  []instructions.Stage
	bases   []string
	results []string // image id of each built stage
	created []string // images this build made
	step    int
	args    *args
	ignore  *ignorer
}

// Build runs the Dockerfile and returns the tagged image. Intermediate
// images are removed at the end, whether the build succeeds or not.
func (b *Builder) Build(ctx context.Context, o Options) (*image.Image, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Dockerfile == "" {
		o.Dockerfile = filepath.Join(o.ContextDir, "Dockerfile")
	}
	for _, t := range o.Tags {
		if err := image.ValidateReference(t); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(o.ContextDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("build context %q is not a directory: %w", o.ContextDir, errdefs.ErrInvalidArgument)
	}
	r, err := b.prepare(o)
	if err != nil {
		return nil, err
	}
	id, err := r.build(ctx)
	r.cleanup(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, t := range o.Tags {
		if err := b.Store.Tag(ctx, id, t); err != nil {
			return nil, err
		}
	}
	r.printf("writing image %s done\n", id)
	for _, t := range o.Tags {
		r.printf("naming to %s done\n", t)
	}
	return b.Store.Get(ctx, id)
}

// prepare parses the Dockerfile and the .dockerignore.
func (b *Builder) prepare(o Options) (*run, error) {
	f, err := os.Open(o.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("dockerfile %q: %w", o.Dockerfile, errdefs.ErrNotFound)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("dockerfile %s: %w: %w", o.Dockerfile, err, errdefs.ErrInvalidArgument)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("dockerfile %s: %w: %w", o.Dockerfile, err, errdefs.ErrInvalidArgument)
	}
	r := &run{b: b, o: o, lex: shell.NewLex(res.EscapeToken), stages: stages}
	if r.args, err = newArgs(meta, o.BuildArgs, r.lex); err != nil {
		return nil, fmt.Errorf("dockerfile %s: %w: %w", o.Dockerfile, err, errdefs.ErrInvalidArgument)
	}
	for _, s := range stages {
		base, err := r.args.expandFrom(s.BaseName, r.lex)
		if err != nil {
			return nil, fmt.Errorf("dockerfile %s: %s: %w: %w", o.Dockerfile, s.SourceCode, err, errdefs.ErrInvalidArgument)
		}
		r.bases = append(r.bases, base)
	}
	if r.ignore, err = loadIgnore(o.ContextDir); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *run) printf(format string, a ...any) {
	r.step++
	fmt.Fprintf(r.o.Progress, "#%d "+format, append([]any{r.step}, a...)...)
}

// build builds the needed stages in order and returns the target's image.
func (r *run) build(ctx context.Context) (string, error) {
	target, err := targetIndex(r.stages, r.o.Target)
	if err != nil {
		return "", err
	}
	need := needed(r.stages, r.bases, target)
	r.results = make([]string, len(r.stages))
	for i := range r.stages {
		if !need[i] {
			continue
		}
		id, err := r.stage(ctx, i, i == target)
		if err != nil {
			return "", err
		}
		r.results[i] = id
	}
	if r.results[target] == "" {
		return "", fmt.Errorf("stage %d is empty (FROM scratch with no instruction): %w", target, errdefs.ErrInvalidArgument)
	}
	return r.results[target], nil
}

// cleanup removes the images this build made, except keep.
func (r *run) cleanup(ctx context.Context, keep string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for _, id := range slices.Backward(r.created) {
		if id != keep {
			r.b.Store.Remove(ctx, id, image.RemoveOptions{})
		}
	}
}

// stage builds stage i and returns its image id.
func (r *run) stage(ctx context.Context, i int, last bool) (string, error) {
	s := r.stages[i]
	name := s.Name
	if name == "" {
		name = fmt.Sprintf("stage-%d", i)
	}
	st := &stageState{name: name, shell: []string{"/bin/sh", "-c"}}
	n := len(s.Commands) + 1
	r.printf("[%s 1/%d] FROM %s\n", name, n, r.bases[i])
	switch base := r.bases[i]; {
	case stageIndex(r.stages, base, i) >= 0:
		st.image = r.results[stageIndex(r.stages, base, i)]
	case strings.EqualFold(base, "scratch"):
	default:
		img, err := r.b.Store.Get(ctx, base)
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.SourceCode, err)
		}
		st.image = img.ID
	}
	if st.image != "" {
		img, err := r.b.Store.Get(ctx, st.image)
		if err != nil {
			return "", err
		}
		st.cfg = img.Config
	}
	for j, c := range s.Commands {
		env := append(slices.Clone(st.args), st.cfg.Env...)
		if err := expandCommand(c, env, r.lex); err != nil {
			return "", lineError(c, err)
		}
		r.printf("[%s %d/%d] %s\n", name, j+2, n, text(c))
		start := time.Now()
		if err := r.command(ctx, st, c); err != nil {
			var ee *ExitError
			if errors.As(err, &ee) {
				return "", err
			}
			return "", lineError(c, err)
		}
		if _, ok := c.(*instructions.RunCommand); ok {
			fmt.Fprintf(r.o.Progress, "#%d DONE %.1fs\n", r.step, time.Since(start).Seconds())
		}
	}
	if last && len(r.o.Labels) > 0 {
		if st.cfg.Labels == nil {
			st.cfg.Labels = map[string]string{}
		}
		for k, v := range r.o.Labels {
			st.cfg.Labels[k] = v
		}
		st.dirty = true
	}
	if st.dirty {
		if err := r.commit(ctx, st, ""); err != nil {
			return "", err
		}
	}
	return st.image, nil
}

// lineError names the Dockerfile line of a failed instruction.
func lineError(c instructions.Command, err error) error {
	line := 0
	if loc := c.Location(); len(loc) > 0 {
		line = loc[0].Start.Line
	}
	if !classified(err) {
		err = fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	return fmt.Errorf("dockerfile line %d: %s: %w", line, text(c), err)
}

// commit makes the stage's next image: upperDir as a new layer ("" for a
// config-only image).
func (r *run) commit(ctx context.Context, st *stageState, upperDir string) error {
	cfg := st.cfg
	img, err := r.b.Store.Commit(ctx, upperDir, st.image, image.CommitOptions{
		Config: &cfg, CreatedBy: strings.Join(st.pending, " && "), Message: "berth build",
	})
	if err != nil {
		return err
	}
	r.created = append(r.created, img.ID)
	st.image, st.dirty, st.pending = img.ID, false, nil
	return nil
}

// classified reports whether err carries one of errdefs' classes.
func classified(err error) bool {
	for _, c := range []error{errdefs.ErrNotFound, errdefs.ErrAlreadyExists, errdefs.ErrInvalidArgument,
		errdefs.ErrFailedPrecondition, errdefs.ErrConflict, errdefs.ErrUnavailable, errdefs.ErrNotImplemented} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// text is an instruction's source line.
func text(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(c.Name())
}
