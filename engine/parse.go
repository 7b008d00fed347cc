package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	units "github.com/docker/go-units"

	"github.com/berth/berth/internal/errdefs"
)

func invalid(format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, errdefs.ErrInvalidArgument)...)
}

// ParseRestart parses --restart: no, on-failure[:N], always or unless-stopped.
func ParseRestart(s string) (RestartPolicy, error) {
	bad := invalid("invalid --restart %q: use no, on-failure[:N], always or unless-stopped", s)
	name, count, hasCount := strings.Cut(s, ":")
	switch name {
	case "", "no":
		if hasCount {
			return RestartPolicy{}, bad
		}
		return RestartPolicy{Name: "no"}, nil
	case "always", "unless-stopped":
		if hasCount {
			return RestartPolicy{}, invalid("invalid --restart %q: a maximum retry count applies only to on-failure", s)
		}
		return RestartPolicy{Name: name}, nil
	case "on-failure":
		p := RestartPolicy{Name: name}
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return RestartPolicy{}, invalid("invalid --restart %q: the retry count must be a number >= 0", s)
			}
			p.MaxRetries = n
		}
		return p, nil
	}
	return RestartPolicy{}, bad
}

// ParseMemory parses a byte size with units ("32m", "1g", "512k");
// "" and "0" mean unlimited. Docker's minimum of 6 MB holds.
func ParseMemory(flag, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, invalid("invalid %s %q: use a size such as 512m or 1g", flag, s)
	}
	if n > 0 && n < 6*1024*1024 {
		return 0, invalid("invalid %s %q: the minimum memory limit is 6MB", flag, s)
	}
	return n, nil
}

// ParseCPUs parses --cpus ("0.5", "2") into nano CPUs.
func ParseCPUs(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, invalid("invalid --cpus %q: use a number of CPUs such as 0.5 or 2", s)
	}
	return int64(f*1e9 + 0.5), nil
}

// ParseUlimit parses --ulimit name=soft[:hard].
func ParseUlimit(s string) (Ulimit, error) {
	u, err := units.ParseUlimit(s)
	if err != nil {
		return Ulimit{}, invalid("invalid --ulimit %q: use name=soft[:hard], e.g. nofile=1024:2048", s)
	}
	return Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}, nil
}

// ParseSecurityOpt applies one --security-opt to c.
func ParseSecurityOpt(c *ContainerConfig, s string) error {
	key, val, hasVal := strings.Cut(s, "=")
	if !hasVal && strings.HasPrefix(s, "no-new-privileges:") { // legacy form
		key, val, hasVal = "no-new-privileges", strings.TrimPrefix(s, "no-new-privileges:"), true
	}
	switch key {
	case "no-new-privileges":
		if !hasVal {
			val = "true"
		}
		b, err := strconv.ParseBool(val)
		if err != nil {
			return invalid("invalid --security-opt %q: no-new-privileges takes true or false", s)
		}
		c.NoNewPrivileges = b
	case "seccomp":
		if !hasVal || val == "" {
			return invalid("invalid --security-opt %q: use seccomp=unconfined or seccomp=/path/to/profile.json", s)
		}
		c.Seccomp = val
	case "apparmor", "label", "systempaths":
		// berth applies neither AppArmor nor SELinux labels; accepted so that
		// scripts written for Docker keep working.
		if !hasVal {
			return invalid("invalid --security-opt %q: use %s=VALUE", s, key)
		}
	default:
		return invalid("invalid --security-opt %q: use seccomp=unconfined|PROFILE or no-new-privileges[=true]", s)
	}
	c.SecurityOpt = append(c.SecurityOpt, s)
	return nil
}

// ParseKeyValueFile reads an env or label file: KEY=VALUE lines, blank
// lines and # comments ignored. A bare KEY takes its value from lookup
// and is dropped when lookup has none (Docker's rule).
func ParseKeyValueFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", path, errdefs.ErrInvalidArgument)
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(strings.TrimLeft(line, " \t"), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, hasVal := strings.Cut(line, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, invalid("%s:%d: invalid variable name %q", path, i+1, k)
		}
		if !hasVal {
			if v, ok := lookup(k); ok {
				out = append(out, k+"="+v)
			}
			continue
		}
		out = append(out, line)
	}
	return out, nil
}

// ExpandEnv resolves -e entries: KEY=VALUE stays, a bare KEY takes its
// value from lookup and is dropped when unset.
func ExpandEnv(env []string, lookup func(string) (string, bool)) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if strings.Contains(e, "=") {
			out = append(out, e)
		} else if v, ok := lookup(e); ok {
			out = append(out, e+"="+v)
		}
	}
	return out
}

// ParseVolume parses -v [src:]dst[:opts]. A src that is a path (starts
// with / or .) makes a bind mount, otherwise a named volume; no src makes
// an anonymous volume. Relative bind sources are made absolute.
func ParseVolume(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	var m Mount
	switch len(parts) {
	case 1:
		m = Mount{Type: "volume", Target: parts[0]}
	case 2, 3:
		if len(parts) == 2 && strings.HasPrefix(parts[0], "/") && !strings.HasPrefix(parts[1], "/") {
			// "/dst:ro" is an anonymous volume with options
			m = Mount{Type: "volume", Target: parts[0]}
			if err := volumeOpts(&m, parts[1], s); err != nil {
				return Mount{}, err
			}
			break
		}
		m = Mount{Type: "volume", Source: parts[0], Target: parts[1]}
		if isPath(parts[0]) {
			m.Type = "bind"
		}
		if len(parts) == 3 {
			if err := volumeOpts(&m, parts[2], s); err != nil {
				return Mount{}, err
			}
		}
	default:
		return Mount{}, invalid("invalid -v %q: use [SOURCE:]TARGET[:OPTIONS]", s)
	}
	if m.Source == "" && m.Type == "volume" && len(parts) > 1 && parts[0] == "" {
		return Mount{}, invalid("invalid -v %q: empty source", s)
	}
	return finishMount(m, "-v "+strconv.Quote(s))
}

func isPath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~")
}

func volumeOpts(m *Mount, opts, spec string) error {
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "ro":
			m.ReadOnly = true
		case "rw", "z", "Z", "":
		case "nocopy":
			if m.Type != "volume" {
				return invalid("invalid -v %q: nocopy applies to volumes only", spec)
			}
			m.NoCopy = true
		case "shared", "rshared", "slave", "rslave", "private", "rprivate":
			if m.Type != "bind" {
				return invalid("invalid -v %q: propagation %q applies to bind mounts only", spec, o)
			}
			m.Options = append(m.Options, o)
		default:
			return invalid("invalid -v %q: unknown option %q (use ro, rw, nocopy or a propagation mode)", spec, o)
		}
	}
	return nil
}

// finishMount checks the target and makes bind sources absolute.
func finishMount(m Mount, what string) (Mount, error) {
	if m.Target == "" {
		return Mount{}, invalid("invalid %s: the target path is missing", what)
	}
	if !filepath.IsAbs(m.Target) {
		return Mount{}, invalid("invalid %s: the target %q must be an absolute path", what, m.Target)
	}
	m.Target = filepath.Clean(m.Target)
	if m.Target == "/" {
		return Mount{}, invalid("invalid %s: cannot mount over /", what)
	}
	if m.Type == "bind" {
		if m.Source == "" {
			return Mount{}, invalid("invalid %s: a bind mount needs a source path", what)
		}
		if strings.HasPrefix(m.Source, "~") {
			return Mount{}, invalid("invalid %s: write the home directory out instead of ~", what)
		}
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return Mount{}, invalid("invalid %s: %v", what, err)
		}
		m.Source = abs
	}
	return m, nil
}

// ParseMountFlag parses --mount type=volume|bind|tmpfs,src=,dst=,readonly,...
func ParseMountFlag(s string) (Mount, error) {
	m := Mount{Type: "volume"}
	what := "--mount " + strconv.Quote(s)
	for _, field := range strings.Split(s, ",") {
		k, v, hasVal := strings.Cut(field, "=")
		if err := mountField(&m, strings.ToLower(strings.TrimSpace(k)), v, hasVal, what); err != nil {
			return Mount{}, err
		}
	}
	switch m.Type {
	case "volume", "bind":
	case "tmpfs":
		if m.Source != "" {
			return Mount{}, invalid("invalid %s: a tmpfs mount takes no source", what)
		}
	default:
		return Mount{}, invalid("invalid %s: type must be volume, bind or tmpfs", what)
	}
	if m.Type == "bind" && m.Source != "" && !filepath.IsAbs(m.Source) && !strings.HasPrefix(m.Source, ".") {
		return Mount{}, invalid("invalid %s: the bind source %q must be a path", what, m.Source)
	}
	return finishMount(m, what)
}

// mountField applies one key[=value] of a --mount spec.
func mountField(m *Mount, k, v string, hasVal bool, what string) error {
	boolVal := func(dst *bool) error {
		if !hasVal {
			*dst = true
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalid("invalid %s: %s takes true or false", what, k)
		}
		*dst = b
		return nil
	}
	switch k {
	case "type":
		m.Type = v
	case "source", "src":
		m.Source = v
	case "target", "destination", "dst":
		m.Target = v
	case "readonly", "ro":
		return boolVal(&m.ReadOnly)
	case "volume-nocopy":
		return boolVal(&m.NoCopy)
	case "bind-propagation":
		m.Options = append(m.Options, v)
	case "tmpfs-size":
		n, err := units.RAMInBytes(v)
		if err != nil {
			return invalid("invalid %s: bad tmpfs-size %q", what, v)
		}
		m.Options = append(m.Options, fmt.Sprintf("size=%d", n))
	case "tmpfs-mode":
		if _, err := strconv.ParseUint(v, 8, 32); err != nil {
			return invalid("invalid %s: bad tmpfs-mode %q (octal)", what, v)
		}
		m.Options = append(m.Options, "mode="+v)
	case "volume-driver":
		if v != "local" {
			return fmt.Errorf("invalid %s: volume driver %q: berth has only the local driver: %w", what, v, errdefs.ErrNotImplemented)
		}
	case "volume-opt", "volume-label":
		return fmt.Errorf("invalid %s: %s: create the volume first with berth volume create: %w", what, k, errdefs.ErrNotImplemented)
	case "consistency", "bind-recursive", "":
		// accepted for compatibility; they do not change a local mount
	default:
		return invalid("invalid %s: unknown field %q", what, k)
	}
	return nil
}

// ParseTmpfs parses --tmpfs /path[:opts].
func ParseTmpfs(s string) (Mount, error) {
	dst, opts, _ := strings.Cut(s, ":")
	m := Mount{Type: "tmpfs", Target: dst}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			if o == "ro" {
				m.ReadOnly = true
				continue
			}
			m.Options = append(m.Options, o)
		}
	}
	return finishMount(m, "--tmpfs "+strconv.Quote(s))
}

// ParseNetwork sorts --network values into a mode and user networks:
// none, host and container:NAME must stand alone.
func ParseNetwork(values []string) (mode string, nets []string, err error) {
	for _, v := range values {
		switch {
		case v == "":
			return "", nil, invalid("invalid --network \"\": name a network, none, host or container:NAME")
		case v == "none" || v == "host" || strings.HasPrefix(v, "container:"):
			if len(values) > 1 {
				return "", nil, invalid("invalid --network %q: it cannot be combined with other networks", v)
			}
			if v == "container:" {
				return "", nil, invalid("invalid --network %q: name the container, container:NAME", v)
			}
			return v, nil, nil
		case v == "default":
			nets = append(nets, "bridge")
		default:
			nets = append(nets, v)
		}
	}
	if len(nets) > 0 && len(nets) == 1 && nets[0] == "bridge" {
		return "bridge", nets, nil
	}
	return "", nets, nil
}

// ParseAddHost checks --add-host host:ip (or host=ip) and returns host:ip.
func ParseAddHost(s string) (string, error) {
	host, ip, ok := strings.Cut(s, "=")
	if !ok {
		host, ip, ok = strings.Cut(s, ":")
	}
	if !ok || host == "" || ip == "" {
		return "", invalid("invalid --add-host %q: use HOST:IP", s)
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if ip != "host-gateway" && !validIP(ip) {
		return "", invalid("invalid --add-host %q: %q is not an IP address", s, ip)
	}
	return host + ":" + ip, nil
}

// ParseKeyValues turns KEY=VALUE entries (sysctls, labels) into a map.
// A label without = gets an empty value, like Docker's.
func ParseKeyValues(flag string, entries []string, needValue bool) (map[string]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		k, v, ok := strings.Cut(e, "=")
		if k == "" || (needValue && !ok) {
			return nil, invalid("invalid %s %q: use KEY=VALUE", flag, e)
		}
		out[k] = v
	}
	return out, nil
}
