package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth/berth/image"
	"github.com/berth/berth/internal/errdefs"
	"github.com/berth/berth/runtime"
	"github.com/berth/berth/volume"
)

// rollback collects undo steps; they run in reverse order, without the
// caller's cancellation, when the operation fails.
type rollback []func(ctx context.Context)

func (r *rollback) add(f func(ctx context.Context)) { *r = append(*r, f) }

func (r rollback) run(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for i := len(r) - 1; i >= 0; i-- {
		r[i](ctx)
	}
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Create makes a container from cfg: it resolves the image, merges its
// config, creates volumes (copying image content into empty ones), the
// network namespace and the runtime container. On any error everything it
// made is undone.
func (e *Engine) Create(ctx context.Context, cfg ContainerConfig) (_ *runtime.Container, err error) {
	img, err := e.Images.Get(ctx, cfg.Image)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, errdefs.Errorf(errdefs.ErrNotFound, "image %q not found: import, load or build it first", cfg.Image)
		}
		return nil, err
	}
	if cfg.Name != "" {
		if c, gerr := e.Runtime.Get(ctx, cfg.Name); gerr == nil && strings.TrimPrefix(cfg.Name, "/") == c.Name {
			//lint:ignore ST1005 Docker's exact message: scripts match on it
			return nil, fmt.Errorf("Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name: %w",
				"/"+c.Name, c.ID, errdefs.ErrAlreadyExists)
		}
	}
	id := newID()
	var undo rollback
	defer func() {
		if err != nil {
			undo.run(ctx)
		}
	}()
	d := &containerData{Config: cfg}
	spec := runtime.Spec{ID: id, Name: cfg.Name, Image: cfg.Image, ImageID: img.ID, Hostname: cfg.Hostname, Domainname: cfg.Domainname}
	if spec.PIDMode, err = e.namespaceMode(ctx, "pid", cfg.PID); err != nil {
		return nil, err
	}
	if spec.IPCMode, err = e.namespaceMode(ctx, "ipc", cfg.IPC); err != nil {
		return nil, err
	}
	if spec.Hostname == "" {
		spec.Hostname = id[:12]
	}
	layers, err := e.Images.Layers(ctx, img.ID)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", cfg.Image, err)
	}
	spec.Rootfs = runtime.RootfsSpec{Layers: layers, ReadOnly: cfg.ReadOnly}
	if err := mergeProcess(&spec, d, cfg, img.Config); err != nil {
		return nil, err
	}
	if err := e.setupNetwork(ctx, &spec, d, cfg, img.Config); err != nil {
		return nil, err
	}
	if err := e.setupMounts(ctx, &spec, d, cfg, img.Config.Volumes, layers, &undo); err != nil {
		return nil, err
	}
	if err := e.etcMounts(ctx, &spec, d); err != nil {
		return nil, err
	}
	fillSpec(&spec, cfg, img.Config)
	spec.Health = healthSpec(d.Health)
	spec.OnExit = e.exitedCommand(id)
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	spec.Extra = map[string]json.RawMessage{extraKey: raw}
	c, err := e.Runtime.Create(ctx, spec)
	if err != nil {
		return nil, err
	}
	undo.add(func(ctx context.Context) { e.Runtime.Remove(ctx, c.ID, runtime.RemoveOptions{Force: true}) })
	if err := e.writeEtcFiles(ctx, c, d, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// mergeProcess fills the process from cfg over the image's config.
func mergeProcess(spec *runtime.Spec, d *containerData, cfg ContainerConfig, ic image.ImageConfig) error {
	ep, cmd := ic.Entrypoint, ic.Cmd
	if cfg.EntrypointSet {
		ep, cmd = cfg.Entrypoint, nil // like Docker: a new entrypoint drops the image's CMD
	}
	if cfg.Cmd != nil {
		cmd = cfg.Cmd
	}
	args := append(append([]string{}, ep...), cmd...)
	if len(args) == 0 {
		return fmt.Errorf("no command specified: give one after the image name or use an image with CMD: %w", errdefs.ErrInvalidArgument)
	}
	d.Entrypoint, d.Cmd = ep, cmd
	env := mergeEnv(ic.Env, cfg.Env)
	if !hasEnv(env, "PATH") {
		env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	}
	spec.Process = runtime.ProcessSpec{Args: args, Env: env, Cwd: ic.WorkingDir, User: ic.User,
		Terminal: cfg.Tty, OpenStdin: cfg.OpenStdin, Init: cfg.Init}
	if cfg.WorkingDir != "" {
		spec.Process.Cwd = cfg.WorkingDir
	}
	if spec.Process.Cwd == "" {
		spec.Process.Cwd = "/"
	}
	if !filepath.IsAbs(spec.Process.Cwd) {
		return fmt.Errorf("working directory %q: must be an absolute path: %w", spec.Process.Cwd, errdefs.ErrInvalidArgument)
	}
	if cfg.User != "" {
		spec.Process.User = cfg.User
	}
	d.Health = mergeHealth(cfg.Health, ic.Healthcheck)
	return nil
}

// mergeEnv returns base with over applied: same keys replaced in place,
// new ones appended.
func mergeEnv(base, over []string) []string {
	out := append([]string{}, base...)
	idx := map[string]int{}
	for i, e := range out {
		k, _, _ := strings.Cut(e, "=")
		idx[k] = i
	}
	for _, e := range over {
		k, _, _ := strings.Cut(e, "=")
		if i, ok := idx[k]; ok {
			out[i] = e
			continue
		}
		idx[k] = len(out)
		out = append(out, e)
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// mergeHealth applies the container's healthcheck over the image's: a
// container Test replaces the image's, and non-zero durations override.
func mergeHealth(c *HealthConfig, ic *image.HealthConfig) *HealthConfig {
	var h *HealthConfig
	if ic != nil {
		h = &HealthConfig{Test: ic.Test, Interval: ic.Interval, Timeout: ic.Timeout,
			StartPeriod: ic.StartPeriod, StartInterval: ic.StartInterval, Retries: ic.Retries}
	}
	if c != nil {
		if h == nil {
			h = &HealthConfig{}
		}
		if len(c.Test) > 0 {
			h.Test = c.Test
		}
		for _, p := range []struct {
			dst *time.Duration
			src time.Duration
		}{{&h.Interval, c.Interval}, {&h.Timeout, c.Timeout}, {&h.StartPeriod, c.StartPeriod}, {&h.StartInterval, c.StartInterval}} {
			if p.src != 0 {
				*p.dst = p.src
			}
		}
		if c.Retries != 0 {
			h.Retries = c.Retries
		}
	}
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		if h != nil && len(h.Test) > 0 {
			return &HealthConfig{Test: []string{"NONE"}}
		}
		return nil
	}
	return h
}

func healthSpec(h *HealthConfig) *runtime.Health {
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		return nil
	}
	return &runtime.Health{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
		StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
}

// fillSpec copies the plain settings.
func fillSpec(spec *runtime.Spec, cfg ContainerConfig, ic image.ImageConfig) {
	r := cfg.Resources
	spec.Resources = runtime.Resources{Memory: r.Memory, NanoCPUs: r.NanoCPUs, CPUShares: r.CPUShares, PidsLimit: r.PidsLimit}
	spec.Security = runtime.Security{Privileged: cfg.Privileged, NoNewPrivileges: cfg.NoNewPrivileges,
		CapAdd: cfg.CapAdd, CapDrop: cfg.CapDrop, Seccomp: cfg.Seccomp}
	for _, u := range cfg.Ulimits {
		spec.Ulimits = append(spec.Ulimits, runtime.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	spec.Sysctls = cfg.Sysctls
	spec.Labels = map[string]string{}
	for k, v := range ic.Labels {
		spec.Labels[k] = v
	}
	for k, v := range cfg.Labels {
		spec.Labels[k] = v
	}
	spec.StopSignal = cfg.StopSignal
	if spec.StopSignal == "" {
		spec.StopSignal = ic.StopSignal
	}
	spec.StopTimeout = cfg.StopTimeout
	spec.Restart = runtime.RestartPolicy{Name: cfg.Restart.Name, MaxRetries: cfg.Restart.MaxRetries}
}

// setupMounts resolves volumes (creating named and anonymous ones, with
// copy-up), checks bind sources and adds tmpfs mounts.
func (e *Engine) setupMounts(ctx context.Context, spec *runtime.Spec, d *containerData, cfg ContainerConfig,
	imageVolumes []string, layers []string, undo *rollback) error {
	mounts := append([]Mount{}, cfg.Mounts...)
	taken := map[string]bool{}
	for _, m := range mounts {
		taken[m.Target] = true
	}
	for _, v := range imageVolumes {
		if t := filepath.Clean(v); !taken[t] {
			mounts = append(mounts, Mount{Type: "volume", Target: t})
			taken[t] = true
		}
	}
	sort.SliceStable(mounts, func(i, j int) bool { return depth(mounts[i].Target) < depth(mounts[j].Target) })
	for _, m := range mounts {
		rm, md, err := e.resolveMount(ctx, d, m, layers, undo)
		if err != nil {
			return err
		}
		spec.Mounts = append(spec.Mounts, rm)
		d.Mounts = append(d.Mounts, md)
	}
	return nil
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

func (e *Engine) resolveMount(ctx context.Context, d *containerData, m Mount, layers []string, undo *rollback) (runtime.Mount, MountDetails, error) {
	rm := runtime.Mount{Destination: m.Target, ReadOnly: m.ReadOnly, Options: m.Options}
	md := MountDetails{Type: m.Type, Destination: m.Target, RW: !m.ReadOnly, Mode: "", Propagation: ""}
	switch m.Type {
	case "bind":
		if _, err := os.Stat(m.Source); err != nil {
			return rm, md, fmt.Errorf("bind source path %q does not exist: create it first or fix the -v/--mount source: %w", m.Source, errdefs.ErrInvalidArgument)
		}
		rm.Type, rm.Source = "bind", m.Source
		md.Source, md.Propagation = m.Source, "rprivate"
		for _, o := range m.Options {
			md.Propagation = o
		}
	case "tmpfs":
		rm.Type = "tmpfs"
	case "volume":
		v, err := e.volumeFor(ctx, d, m, undo)
		if err != nil {
			return rm, md, err
		}
		src := v.Mountpoint
		if v.NeedsMount() {
			if src, err = e.Volumes.Mount(ctx, v.Name); err != nil {
				return rm, md, err
			}
		}
		if !m.NoCopy {
			if err := e.copyUp(ctx, v.Name, layers, m.Target); err != nil {
				return rm, md, err
			}
		}
		rm.Type, rm.Source, rm.CopyUp = "bind", src, !m.NoCopy
		md.Name, md.Source, md.Driver = v.Name, src, "local"
		if m.ReadOnly {
			md.Mode = "ro"
		}
	default:
		return rm, md, fmt.Errorf("mount %q: unknown type %q: %w", m.Target, m.Type, errdefs.ErrInvalidArgument)
	}
	return rm, md, nil
}

// volumeFor returns the named volume (created on first use) or a new
// anonymous one; volumes made here are removed again on rollback.
func (e *Engine) volumeFor(ctx context.Context, d *containerData, m Mount, undo *rollback) (*volume.Volume, error) {
	if m.Source != "" {
		if v, err := e.Volumes.Get(ctx, m.Source); err == nil {
			return v, nil
		} else if !errdefs.IsNotFound(err) {
			return nil, err
		}
	}
	v, err := e.Volumes.Create(ctx, m.Source, volume.CreateOptions{Anonymous: m.Source == ""})
	if err != nil {
		return nil, err
	}
	undo.add(func(ctx context.Context) { e.Volumes.Remove(ctx, v.Name, nil) })
	if m.Source == "" {
		d.AnonVolumes = append(d.AnonVolumes, v.Name)
	}
	return v, nil
}

// copyUp copies the image's content at target into the volume when the
// volume is empty (volume.CopyUp checks under its lock).
func (e *Engine) copyUp(ctx context.Context, name string, layers []string, target string) error {
	empty, err := e.Volumes.IsEmpty(name)
	if err != nil || !empty {
		return err
	}
	dir, release, err := imageDir(layers, target)
	if err != nil {
		return err
	}
	defer release()
	if dir == "" {
		return nil
	}
	return e.Volumes.CopyUp(ctx, dir, name)
}

// imageDir returns a directory showing the image's content at target
// ("" when the image has nothing there). With several layers it mounts a
// read-only overlay of them for the copy.
func imageDir(layers []string, target string) (string, func(), error) {
	nop := func() {}
	switch len(layers) {
	case 0:
		return "", nop, nil
	case 1:
		p := filepath.Join(layers[0], target)
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			return "", nop, nil
		}
		return p, nop, nil
	}
	tmp, err := os.MkdirTemp("", "berth-copyup-")
	if err != nil {
		return "", nop, err
	}
	if err := mountOverlayRO(layers, tmp); err != nil {
		os.Remove(tmp)
		return "", nop, fmt.Errorf("copy-up: mount image layers: %w", err)
	}
	release := func() { unmount(tmp); os.Remove(tmp) }
	p := filepath.Join(tmp, target)
	fi, err := os.Lstat(p)
	if err != nil || !fi.IsDir() {
		release()
		return "", nop, nil
	}
	return p, release, nil
}

// namespaceMode turns a --pid/--ipc value into the runtime's: a
// "container:NAME" becomes "container:<id>", so a rename of the other
// container does not break this one.
func (e *Engine) namespaceMode(ctx context.Context, kind, mode string) (string, error) {
	name, ok := strings.CutPrefix(mode, "container:")
	if !ok {
		return mode, nil
	}
	other, err := e.Runtime.Get(ctx, name)
	if err != nil {
		return "", fmt.Errorf("--%s %s: %w", kind, mode, err)
	}
	return "container:" + other.ID, nil
}
