package image

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/errdefs"
)

// ParseChanges applies Dockerfile-style lines (`--change` of import and
// commit) to base and returns the result: CMD, ENTRYPOINT, ENV, WORKDIR,
// USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL and HEALTHCHECK, with JSON and
// shell forms where Dockerfiles allow both. Other instructions fail with
// ErrInvalidArgument.
func ParseChanges(changes []string, base ImageConfig) (ImageConfig, error) {
	c := base
	c.Env = slices.Clone(base.Env)
	c.Labels = maps.Clone(base.Labels)
	c.ExposedPorts = slices.Clone(base.ExposedPorts)
	c.Volumes = slices.Clone(base.Volumes)
	for _, line := range changes {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			instr, rest = line[:i], line[i+1:]
		}
		rest = strings.TrimSpace(rest)
		if err := applyChange(&c, strings.ToUpper(instr), rest); err != nil {
			return base, fmt.Errorf("change %q: %w", line, err)
		}
	}
	return c, nil
}

func applyChange(c *ImageConfig, instr, rest string) error {
	env := envLookup(slices.Clone(c.Env))
	switch instr {
	case "WORKDIR", "USER", "STOPSIGNAL", "EXPOSE":
		rest = expandString(rest, env)
	}
	var err error
	switch instr {
	case "CMD":
		c.Cmd = commandForm(rest)
	case "ENTRYPOINT":
		c.Entrypoint = commandForm(rest)
	case "ENV":
		err = keyValues(rest, env, func(k, v string) { c.Env = setEnv(c.Env, k, v) })
	case "LABEL":
		err = keyValues(rest, env, func(k, v string) {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			c.Labels[k] = v
		})
	case "WORKDIR":
		if rest == "" {
			return fmt.Errorf("WORKDIR needs a path: %w", errdefs.ErrInvalidArgument)
		}
		if !path.IsAbs(rest) {
			rest = path.Join("/", c.WorkingDir, rest)
		}
		c.WorkingDir = path.Clean(rest)
	case "USER":
		c.User = rest
	case "STOPSIGNAL":
		c.StopSignal = rest
	case "EXPOSE":
		err = expose(c, rest)
	case "VOLUME":
		vols := jsonArray(rest)
		if vols == nil {
			vols = strings.Fields(rest)
		}
		for _, v := range vols {
			if !slices.Contains(c.Volumes, v) {
				c.Volumes = append(c.Volumes, v)
			}
		}
		sort.Strings(c.Volumes)
	case "HEALTHCHECK":
		c.Healthcheck, err = healthcheck(rest)
	default:
		return fmt.Errorf("unsupported instruction %q (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR): %w", instr, errdefs.ErrInvalidArgument)
	}
	return err
}

// envLookup looks names up in a KEY=VALUE list.
func envLookup(env []string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, _ := strings.Cut(env[i], "="); k == name {
				return v, true
			}
		}
		return "", false
	}
}

// expandString expands variables in s without splitting it into words;
// "\$" stays a literal "$".
func expandString(s string, env func(string) (string, bool)) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == '\\' && i+1 < len(rs) && rs[i+1] == '$':
			b.WriteRune('$')
			i++
		case rs[i] == '$':
			v, n := expandVar(rs[i+1:], env)
			b.WriteString(v)
			i += n
		default:
			b.WriteRune(rs[i])
		}
	}
	return b.String()
}

// jsonArray parses the exec form ["a", "b"]; nil when s is not one.
func jsonArray(s string) []string {
	if !strings.HasPrefix(s, "[") {
		return nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// commandForm parses CMD/ENTRYPOINT: JSON exec form or shell form.
func commandForm(s string) []string {
	if a := jsonArray(s); a != nil {
		return a
	}
	if s == "" {
		return nil
	}
	return []string{"/bin/sh", "-c", s}
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// keyValues parses `k=v k2="v 2"` (or the legacy `k v w`) and calls set for
// each pair.
func keyValues(s string, env func(string) (string, bool), set func(k, v string)) error {
	words, err := shellWords(s, env)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return fmt.Errorf("needs key=value: %w", errdefs.ErrInvalidArgument)
	}
	if !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(strings.TrimSpace(s), " ")
		k2, _ := shellWords(k, nil)
		v2, _ := shellWords(v, env)
		if len(k2) != 1 {
			return fmt.Errorf("bad key %q: %w", k, errdefs.ErrInvalidArgument)
		}
		set(k2[0], strings.Join(v2, " "))
		return nil
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value: %w", w, errdefs.ErrInvalidArgument)
		}
		set(k, v)
	}
	return nil
}

// shellWords splits s like a shell: spaces separate words, quotes group,
// backslash escapes (not inside single quotes). With env set, $VAR,
// ${VAR}, ${VAR:-word} and ${VAR:+word} expand outside single quotes.
func shellWords(s string, env func(string) (string, bool)) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && quote != '\'':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("trailing backslash in %q: %w", s, errdefs.ErrInvalidArgument)
			}
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case r == '$' && quote != '\'' && env != nil:
			val, n := expandVar(rs[i+1:], env)
			cur.WriteString(val)
			i += n
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q: %w", s, errdefs.ErrInvalidArgument)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// expandVar expands the variable reference after a '$' in rs and returns
// its value and how many runes it used. A '$' not followed by a name stays.
func expandVar(rs []rune, env func(string) (string, bool)) (string, int) {
	isName := func(r rune, first bool) bool {
		return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (!first && r >= '0' && r <= '9')
	}
	if len(rs) > 0 && rs[0] == '{' {
		end := slices.Index(rs, '}')
		if end < 0 {
			return "$", 0
		}
		expr := string(rs[1:end])
		name, word, op := expr, "", ""
		if i := strings.Index(expr, ":"); i > 0 && i+1 < len(expr) && (expr[i+1] == '-' || expr[i+1] == '+') {
			name, op, word = expr[:i], expr[i+1:i+2], expr[i+2:]
		}
		v, ok := env(name)
		switch {
		case op == "-" && (!ok || v == ""):
			v = word
		case op == "+":
			if ok && v != "" {
				v = word
			} else {
				v = ""
			}
		}
		return v, end + 1
	}
	n := 0
	for n < len(rs) && isName(rs[n], n == 0) {
		n++
	}
	if n == 0 {
		return "$", 0
	}
	v, _ := env(string(rs[:n]))
	return v, n
}

func expose(c *ImageConfig, s string) error {
	for _, p := range strings.Fields(s) {
		port, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		proto = strings.ToLower(proto)
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return fmt.Errorf("EXPOSE %q: bad protocol: %w", p, errdefs.ErrInvalidArgument)
		}
		lo, hi, isRange := strings.Cut(port, "-")
		start, err1 := strconv.ParseUint(lo, 10, 16)
		end := start
		var err2 error
		if isRange {
			end, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || start == 0 || end < start {
			return fmt.Errorf("EXPOSE %q: bad port: %w", p, errdefs.ErrInvalidArgument)
		}
		for n := start; n <= end; n++ {
			e := fmt.Sprintf("%d/%s", n, proto)
			if !slices.Contains(c.ExposedPorts, e) {
				c.ExposedPorts = append(c.ExposedPorts, e)
			}
		}
	}
	sort.Strings(c.ExposedPorts)
	return nil
}

// healthcheck parses `NONE` or `[--interval=D --timeout=D --start-period=D
// --start-interval=D --retries=N] CMD command`.
func healthcheck(s string) (*HealthConfig, error) {
	if strings.EqualFold(strings.TrimSpace(s), "NONE") {
		return &HealthConfig{Test: []string{"NONE"}}, nil
	}
	h := &HealthConfig{}
	for strings.HasPrefix(s, "--") {
		opt, rest, _ := strings.Cut(s, " ")
		s = strings.TrimSpace(rest)
		if err := healthOption(h, opt); err != nil {
			return nil, err
		}
	}
	kw, cmd, _ := strings.Cut(s, " ")
	if !strings.EqualFold(kw, "CMD") {
		return nil, fmt.Errorf("HEALTHCHECK needs NONE or CMD: %w", errdefs.ErrInvalidArgument)
	}
	cmd = strings.TrimSpace(cmd)
	if a := jsonArray(cmd); a != nil {
		h.Test = append([]string{"CMD"}, a...)
	} else if cmd != "" {
		h.Test = []string{"CMD-SHELL", cmd}
	} else {
		return nil, fmt.Errorf("HEALTHCHECK CMD needs a command: %w", errdefs.ErrInvalidArgument)
	}
	return h, nil
}

func healthOption(h *HealthConfig, opt string) error {
	name, val, ok := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
	if !ok {
		return fmt.Errorf("HEALTHCHECK option %q needs =value: %w", opt, errdefs.ErrInvalidArgument)
	}
	if name == "retries" {
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return fmt.Errorf("HEALTHCHECK --retries %q: %w", val, errdefs.ErrInvalidArgument)
		}
		h.Retries = n
		return nil
	}
	d, err := time.ParseDuration(val)
	if err != nil || d < 0 {
		return fmt.Errorf("HEALTHCHECK --%s %q: bad duration: %w", name, val, errdefs.ErrInvalidArgument)
	}
	switch name {
	case "interval":
		h.Interval = d
	case "timeout":
		h.Timeout = d
	case "start-period":
		h.StartPeriod = d
	case "start-interval":
		h.StartInterval = d
	default:
		return fmt.Errorf("unknown HEALTHCHECK option %q: %w", opt, errdefs.ErrInvalidArgument)
	}
	return nil
}
