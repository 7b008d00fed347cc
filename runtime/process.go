package runtime

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/berth/berth/internal/errdefs"
)

// defaultPath is the PATH a container gets when its env has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var rlimitNames = map[string]int{
	"core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA, "fsize": unix.RLIMIT_FSIZE,
	"locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK, "msgqueue": unix.RLIMIT_MSGQUEUE,
	"nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC,
	"rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO, "rttime": unix.RLIMIT_RTTIME,
	"sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK, "as": unix.RLIMIT_AS,
}

// rlimits converts ulimits, capping each at this process's hard limit
// (raising it needs CAP_SYS_RESOURCE) with a warning.
func rlimits(ul []Ulimit) ([]configs.Rlimit, []string, error) {
	var out []configs.Rlimit
	var warnings []string
	for _, u := range ul {
		typ, ok := rlimitNames[strings.ToLower(u.Name)]
		if !ok {
			return nil, nil, fmt.Errorf("ulimit %q: unknown name: %w", u.Name, errdefs.ErrInvalidArgument)
		}
		if u.Soft > u.Hard && u.Hard >= 0 {
			return nil, nil, fmt.Errorf("ulimit %s: soft limit %d above hard limit %d: %w", u.Name, u.Soft, u.Hard, errdefs.ErrInvalidArgument)
		}
		soft, hard := uint64(u.Soft), uint64(u.Hard)
		if u.Soft < 0 {
			soft = unix.RLIM_INFINITY
		}
		if u.Hard < 0 {
			hard = unix.RLIM_INFINITY
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(typ, &cur); err == nil && hard > cur.Max {
			warnings = append(warnings, fmt.Sprintf("ulimit %s: hard limit %d above the host's %d, capped", u.Name, u.Hard, cur.Max))
			hard = cur.Max
			soft = min(soft, hard)
		}
		out = append(out, configs.Rlimit{Type: typ, Soft: soft, Hard: hard})
	}
	return out, warnings, nil
}

// execUser is a resolved user.
type execUser struct {
	UID, GID int
	Groups   []int
	Home     string
}

// resolveUser resolves "name|uid[:group|gid]" and additional groups against
// the rootfs's /etc/passwd and /etc/group.
func resolveUser(rootfs, spec string, groupAdd []string) (*execUser, error) {
	passwd, err := securejoin.SecureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	group, err := securejoin.SecureJoin(rootfs, "/etc/group")
	if err != nil {
		return nil, err
	}
	def := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	if spec == "" {
		spec = "0"
	}
	u, err := user.GetExecUserPath(spec, def, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("user %q: %v: %w", spec, err, errdefs.ErrInvalidArgument)
	}
	eu := &execUser{UID: u.Uid, GID: u.Gid, Groups: u.Sgids, Home: u.Home}
	if len(groupAdd) > 0 {
		gids, err := user.GetAdditionalGroupsPath(groupAdd, group)
		if err != nil {
			return nil, fmt.Errorf("additional groups %v: %v: %w", groupAdd, err, errdefs.ErrInvalidArgument)
		}
		eu.Groups = append(eu.Groups, gids...)
	}
	return eu, nil
}

// buildEnv returns env with PATH, HOSTNAME, HOME (and TERM for a terminal)
// added when missing.
func buildEnv(env []string, hostname, home string, tty bool) []string {
	out := append([]string(nil), env...)
	has := func(k string) bool {
		for _, e := range out {
			if strings.HasPrefix(e, k+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		out = append([]string{"PATH=" + defaultPath}, out...)
	}
	if hostname != "" && !has("HOSTNAME") {
		out = append(out, "HOSTNAME="+hostname)
	}
	if tty && !has("TERM") {
		out = append(out, "TERM=xterm")
	}
	if home != "" && !has("HOME") {
		out = append(out, "HOME="+home)
	}
	return out
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// lookCommand checks that argv0 can be run in rootfs: ErrCommandNotFound when
// it does not exist (or is not on PATH), ErrNotExecutable when it is a
// directory or lacks an execute bit.
func lookCommand(rootfs, argv0 string, env []string, cwd string) error {
	var candidates []string
	switch {
	case strings.Contains(argv0, "/"):
		p := argv0
		if !path.IsAbs(p) {
			p = path.Join(cwd, p)
		}
		candidates = []string{p}
	default:
		pathVar := envValue(env, "PATH")
		if pathVar == "" {
			pathVar = defaultPath
		}
		for _, dir := range strings.Split(pathVar, ":") {
			if dir == "" {
				dir = "."
			}
			if !path.IsAbs(dir) {
				dir = path.Join(cwd, dir)
			}
			candidates = append(candidates, path.Join(dir, argv0))
		}
	}
	var notExec error
	for _, c := range candidates {
		full, err := securejoin.SecureJoin(rootfs, c)
		if err != nil {
			continue
		}
		fi, err := os.Stat(full)
		if err != nil {
			continue
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			if notExec == nil {
				notExec = fmt.Errorf("exec: %q: permission denied: %w", argv0, ErrNotExecutable)
			}
			continue
		}
		return nil
	}
	if notExec != nil {
		return notExec
	}
	if strings.Contains(argv0, "/") {
		return fmt.Errorf("exec: %q: stat %s: no such file or directory: %w", argv0, argv0, ErrCommandNotFound)
	}
	return fmt.Errorf("exec: %q: executable file not found in $PATH: %w", argv0, ErrCommandNotFound)
}

// ParseSignal parses "SIGTERM", "TERM", "term" or "15".
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q: %w", s, errdefs.ErrInvalidArgument)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q: %w", s, errdefs.ErrInvalidArgument)
}
