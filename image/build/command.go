package build

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
)

// command applies one instruction (its words already expanded) to st.
func (r *run) command(ctx context.Context, st *stageState, c instructions.Command) error {
	st.pending = append(st.pending, text(c))
	switch c := c.(type) {
	case *instructions.RunCommand:
		return r.runStep(ctx, st, c)
	case *instructions.CopyCommand:
		return r.copyStep(ctx, st, copySpec{SourcesAndDest: c.SourcesAndDest, from: c.From, chown: c.Chown, chmod: c.Chmod,
			unsupported: c.Parents || len(c.ExcludePatterns) > 0})
	case *instructions.AddCommand:
		return r.copyStep(ctx, st, copySpec{SourcesAndDest: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, add: true,
			unsupported: c.Checksum != "" || c.KeepGitDir != nil || len(c.ExcludePatterns) > 0 || (c.Unpack != nil && !*c.Unpack)})
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			if v, ok := r.args.given[kv.Key]; ok {
				st.args = setEnv(st.args, kv.Key, v)
			} else if kv.Value != nil {
				st.args = setEnv(st.args, kv.Key, *kv.Value)
			} else if v, ok := lookupOK(r.args.global, kv.Key); ok {
				st.args = setEnv(st.args, kv.Key, v)
			}
		}
		return nil
	case *instructions.ShellCommand:
		st.shell = slices.Clone(c.Shell)
		return nil
	case *instructions.WorkdirCommand:
		p := c.Path
		if !path.IsAbs(p) {
			p = path.Join("/", st.cfg.WorkingDir, p)
		}
		st.cfg.WorkingDir, st.dirty = path.Clean(p), true
		return r.ensureDir(ctx, st, st.cfg.WorkingDir)
	case *instructions.MaintainerCommand:
		return nil // deprecated; Docker sets the author, berth ignores it
	}
	return r.metadata(st, c)
}

// metadata applies the instructions that only change the config.
func (r *run) metadata(st *stageState, c instructions.Command) error {
	cfg := &st.cfg
	switch c := c.(type) {
	case *instructions.EnvCommand:
		cfg.Env = slices.Clone(cfg.Env)
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		labels := map[string]string{}
		for k, v := range cfg.Labels {
			labels[k] = v
		}
		for _, kv := range c.Labels {
			labels[kv.Key] = kv.Value
		}
		cfg.Labels = labels
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.CmdCommand:
		cfg.Cmd = r.cmdLine(st, c.ShellDependantCmdLine)
		st.cmdSet = true
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = r.cmdLine(st, c.ShellDependantCmdLine)
		if !st.cmdSet { // like Docker: a new ENTRYPOINT drops the base image's CMD
			cfg.Cmd = nil
		}
	case *instructions.ExposeCommand, *instructions.VolumeCommand:
		line := "EXPOSE " + strings.Join(exposePorts(c), " ")
		if v, ok := c.(*instructions.VolumeCommand); ok {
			js, _ := json.Marshal(v.Volumes)
			line = "VOLUME " + string(js)
		}
		next, err := image.ParseChanges([]string{line}, *cfg)
		if err != nil {
			return err
		}
		*cfg = next
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &image.HealthConfig{Test: slices.Clone(h.Test), Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	default:
		return fmt.Errorf("instruction %s is not supported by berth build: %w", strings.ToUpper(c.Name()), errdefs.ErrNotImplemented)
	}
	st.dirty = true
	return nil
}

func exposePorts(c instructions.Command) []string {
	if e, ok := c.(*instructions.ExposeCommand); ok {
		return e.Ports
	}
	return nil
}

// cmdLine is a RUN, CMD or ENTRYPOINT command: the exec form as is, the
// shell form after the stage's SHELL.
func (r *run) cmdLine(st *stageState, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return slices.Clone(c.CmdLine)
	}
	return append(slices.Clone(st.shell), strings.Join(c.CmdLine, " "))
}

// runStep runs a RUN in a container and commits its changes.
func (r *run) runStep(ctx context.Context, st *stageState, c *instructions.RunCommand) error {
	if len(c.FlagsUsed) > 0 {
		return fmt.Errorf("RUN --%s is not supported by berth build: %w", c.FlagsUsed[0], errdefs.ErrNotImplemented)
	}
	if len(c.Files) > 0 {
		return fmt.Errorf("heredocs are not supported by berth build: %w", errdefs.ErrNotImplemented)
	}
	if st.image == "" {
		return fmt.Errorf("RUN needs a base image with a shell, the stage has no files yet: %w", errdefs.ErrFailedPrecondition)
	}
	cmd := r.cmdLine(st, c.ShellDependantCmdLine)
	env := slices.Clone(st.args)
	for _, e := range st.cfg.Env {
		k, v, _ := strings.Cut(e, "=")
		env = setEnv(env, k, v)
	}
	out := &prefixWriter{w: r.o.Progress, prefix: fmt.Sprintf("#%d ", r.step)}
	defer out.Flush()
	code, err := r.b.Exec.Run(ctx, RunSpec{
		Image: st.image, Cmd: cmd, Env: env, WorkingDir: st.cfg.WorkingDir, User: st.cfg.User,
		NetworkMode: r.o.NetworkMode, Stdout: out, Stderr: out,
	}, func(upper string) error { return r.commit(ctx, st, upper) })
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Cmd: cmd, Code: code}
	}
	return nil
}

// ensureDir gives the stage an empty directory at p when its image has
// none there (WORKDIR).
func (r *run) ensureDir(ctx context.Context, st *stageState, p string) error {
	isDir, err := r.isDir(ctx, st, p)
	if err != nil || isDir {
		return err
	}
	layer, err := os.MkdirTemp(r.b.TempDir, "berth-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(layer)
	if err := os.MkdirAll(path.Join(layer, p), 0o755); err != nil {
		return err
	}
	return r.commit(ctx, st, layer)
}

// lookupOK finds key in a KEY=VALUE list.
func lookupOK(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v, true
		}
	}
	return "", false
}
