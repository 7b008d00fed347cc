package build

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/berth/berth/internal/errdefs"
)

// stageIndex returns the index of the stage named (case-insensitively) or
// numbered ref among stages[:before], or -1.
func stageIndex(stages []instructions.Stage, ref string, before int) int {
	for i := 0; i < before && i < len(stages); i++ {
		if stages[i].Name != "" && strings.EqualFold(stages[i].Name, ref) {
			return i
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < before && n < len(stages) {
		return n
	}
	return -1
}

// targetIndex returns the stage to build: the one named target, or the
// last.
func targetIndex(stages []instructions.Stage, target string) (int, error) {
	if len(stages) == 0 {
		return 0, fmt.Errorf("dockerfile has no FROM: %w", errdefs.ErrInvalidArgument)
	}
	if target == "" {
		return len(stages) - 1, nil
	}
	for i, s := range stages {
		if strings.EqualFold(s.Name, target) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("target stage %q could not be found: %w", target, errdefs.ErrNotFound)
}

// needed marks the stages that the target stage depends on (its base
// stages and those its COPY --from names, transitively), the target
// included. bases[i] is stage i's expanded FROM name.
func needed(stages []instructions.Stage, bases []string, target int) []bool {
	need := make([]bool, len(stages))
	var mark func(i int)
	mark = func(i int) {
		if need[i] {
			return
		}
		need[i] = true
		if j := stageIndex(stages, bases[i], i); j >= 0 {
			mark(j)
		}
		for _, c := range stages[i].Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				if j := stageIndex(stages, cp.From, i); j >= 0 {
					mark(j)
				}
			}
		}
	}
	mark(target)
	return need
}

// args is the build's ARG state: the values --build-arg gives, the global
// (before the first FROM) defaults, and the ARGs a stage has declared.
type args struct {
	given  map[string]string
	global []string // KEY=VALUE of the global ARGs, in order
}

// newArgs evaluates the global ARGs (each may use the ones before it).
func newArgs(meta []instructions.ArgCommand, given map[string]string, lex *shell.Lex) (*args, error) {
	a := &args{given: given}
	for _, m := range meta {
		for _, kv := range m.Args {
			v, err := a.value(kv, a.global, lex)
			if err != nil {
				return nil, err
			}
			a.global = append(a.global, kv.Key+"="+v)
		}
	}
	return a, nil
}

// value is an ARG's value: --build-arg, else its default expanded with
// env, else the global ARG of that name (for `ARG X` in a stage).
func (a *args) value(kv instructions.KeyValuePairOptional, env []string, lex *shell.Lex) (string, error) {
	if v, ok := a.given[kv.Key]; ok {
		return v, nil
	}
	if kv.Value != nil {
		v, _, err := lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(env))
		return v, err
	}
	return lookup(a.global, kv.Key), nil
}

// expandFrom expands a FROM name with the global ARGs.
func (a *args) expandFrom(name string, lex *shell.Lex) (string, error) {
	v, _, err := lex.ProcessWord(name, shell.EnvsFromSlice(a.global))
	return v, err
}

// lookup finds key in a KEY=VALUE list (the last one wins).
func lookup(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v
		}
	}
	return ""
}

// setEnv sets key in a KEY=VALUE list.
func setEnv(env []string, key, val string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + val
			return env
		}
	}
	return append(env, key+"="+val)
}

// expandCommand expands the variables of c's words (for the commands that
// take them) with env, the stage's ARGs and ENV (ENV wins).
func expandCommand(c instructions.Command, env []string, lex *shell.Lex) error {
	ex, ok := c.(instructions.SupportsSingleWordExpansion)
	if !ok {
		return nil
	}
	getter := shell.EnvsFromSlice(env)
	return ex.Expand(func(word string) (string, error) {
		v, _, err := lex.ProcessWord(word, getter)
		return v, err
	})
}
